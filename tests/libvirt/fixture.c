/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the files hypercalld would leave for the hook, for the libvirt tier:
 *   hc-lab-fixture baseline COMPUTED.json OUT    hypercall.baseline/v1 -> baseline file
 *   hc-lab-fixture record RECORD.json HOST OUT   a host record renamed to HOST
 * Both go through the library's own writers, so the hook reads exactly what
 * the daemon would write.
 */
#include <stdio.h>
#include <string.h>

#include "baseline-file.h"
#include "fileio.h"
#include "jsonutil.h"
#include "record.h"

int main(int argc, char **argv)
{
        struct hc_error err = {0};

        if (argc == 4 && strcmp(argv[1], "baseline") == 0) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(json_object_putp) json_object *doc = NULL;
                _cleanup_(hc_baseline_file_freep) struct hc_baseline_file *f = NULL;
                struct hc_baseline_changes ch = {0};
                size_t len = 0;

                if (hc_read_file(argv[2], &text, &len, &err) < 0 ||
                    hc_json_parse(text, len, 32, argv[2], &doc, &err) < 0 ||
                    hc_baseline_file_update(NULL, doc, NULL, 0, 1795514400, &f, &ch, &err) < 0 ||
                    hc_baseline_file_save(f, argv[3], &err) < 0) {
                        fprintf(stderr, "%s\n", err.text);
                        return 1;
                }
                hc_baseline_changes_done(&ch);
                return 0;
        }
        if (argc == 5 && strcmp(argv[1], "record") == 0) {
                _cleanup_(hc_record_freep) struct hc_record *r = NULL;

                if (hc_record_load(argv[2], &r, &err) < 0) {
                        fprintf(stderr, "%s\n", err.text);
                        return 1;
                }
                free(r->host);
                r->host = strdup(argv[3]);
                if (!r->host || hc_record_save(r, argv[4], &err) < 0) {
                        fprintf(stderr, "%s\n", err.text);
                        return 1;
                }
                return 0;
        }
        fprintf(stderr, "usage: %s baseline COMPUTED OUT | record RECORD HOST OUT\n", argv[0]);
        return 64;
}
