/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * SHA-256 (FIPS 180-4), small and dependency-free: it identifies baseline
 * inputs ("sha256:<hex>"), nothing security-relevant rests on it being fast.
 */
#include <stddef.h>
#include <stdint.h>

#define HC_SHA256_DIGEST_SIZE 32
#define HC_SHA256_HEX_MAX     (HC_SHA256_DIGEST_SIZE * 2 + 1)

struct hc_sha256 {
        uint32_t state[8];
        uint64_t length; /* bytes hashed so far */
        uint8_t block[64];
        size_t fill;     /* bytes waiting in block */
};

void hc_sha256_init(struct hc_sha256 *ctx);
void hc_sha256_update(struct hc_sha256 *ctx, const void *data, size_t len);
void hc_sha256_final(struct hc_sha256 *ctx, uint8_t out[HC_SHA256_DIGEST_SIZE]);

/* One-shot digest. */
void hc_sha256(const void *data, size_t len, uint8_t out[HC_SHA256_DIGEST_SIZE]);
/* Lowercase hex of a digest into buf (HC_SHA256_HEX_MAX bytes). */
const char *hc_sha256_hex(const uint8_t digest[HC_SHA256_DIGEST_SIZE], char buf[HC_SHA256_HEX_MAX]);
