/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The baseline digest is SHA-256 over the canonical inputs; a wrong hash
 * would make two hosts disagree about which baseline a VM was stamped with.
 * These tests prove the hand-written SHA-256 against the FIPS 180-4 / NIST
 * vectors, including inputs that straddle the 55/56/64-byte padding edges
 * and data fed in odd-sized pieces.
 */
#include "hc-test.h"
#include "sha256.h"

static const char *hex_of(const void *data, size_t len)
{
        static char hex[HC_SHA256_HEX_MAX];
        uint8_t d[HC_SHA256_DIGEST_SIZE];

        hc_sha256(data, len, d);
        return hc_sha256_hex(d, hex);
}

HC_TEST(sha256__matches_nist_vectors)
{
        HC_ASSERT_STREQ(hex_of("", 0),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        HC_ASSERT_STREQ(hex_of("abc", 3),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        HC_ASSERT_STREQ(
                hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        HC_ASSERT_STREQ(
                hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                       "nopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                       112),
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

HC_TEST(sha256__million_a_in_uneven_pieces)
{
        static char chunk[997];
        struct hc_sha256 ctx;
        uint8_t d[HC_SHA256_DIGEST_SIZE];
        char hex[HC_SHA256_HEX_MAX];
        size_t left = 1000000;

        memset(chunk, 'a', sizeof(chunk));
        hc_sha256_init(&ctx);
        for (size_t step = 1; left > 0; step = step % 997 + 7) {
                size_t n = step < sizeof(chunk) ? step : sizeof(chunk);

                if (n > left)
                        n = left;

                hc_sha256_update(&ctx, chunk, n);
                left -= n;
        }
        hc_sha256_final(&ctx, d);
        HC_ASSERT_STREQ(hc_sha256_hex(d, hex),
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

HC_TEST(sha256__padding_edges_agree_with_one_shot)
{
        char data[130];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (char)('A' + i % 26);
        /* Lengths around the 55/56/64-byte boundaries, hashed whole and byte by byte. */
        for (size_t len = 50; len <= 130; len++) {
                struct hc_sha256 ctx;
                uint8_t a[HC_SHA256_DIGEST_SIZE], b[HC_SHA256_DIGEST_SIZE];

                hc_sha256(data, len, a);
                hc_sha256_init(&ctx);
                for (size_t i = 0; i < len; i++)
                        hc_sha256_update(&ctx, data + i, 1);
                hc_sha256_final(&ctx, b);
                HC_ASSERT(memcmp(a, b, sizeof(a)) == 0, "length %zu: piecewise differs", len);
        }
        /* 64 bytes of 'a' (one block exactly, padding in a second block). */
        HC_ASSERT_STREQ(hex_of("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64),
                        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}
