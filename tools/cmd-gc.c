/*
 * shbuf gc: remove the buffers whose provider and client are both gone,
 * which is what programs killed before shbuf_free() leave behind, and the
 * buffers whose creator was killed before it finished them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"

static void usage(void) {
        printf("Usage:\n"
               " shbuf gc [options]\n"
               "\n"
               "Remove shared buffers whose provider and client processes are both gone,\n"
               "and those left half-created by a creator that died.\n"
               "Prints one line per buffer removed.\n"
               "\n"
               "Options:\n"
               " -n, --dry-run   only list what would be removed\n"
               " -h, --help      display this help\n");
}

int cmd_gc(int argc, char **argv) {
        static const struct option longopts[] = {
                {"dry-run", no_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        bool dry_run = false;
        int opt;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":nh", longopts, NULL)) != -1) {
                switch (opt) {
                case 'n':
                        dry_run = true;
                        break;
                case 'h':
                        usage();
                        return EXIT_OK;
                default:
                        return util_bad_option(opt, argv);
                }
        }
        if (optind < argc)
                return util_usage("unexpected argument '%s'", argv[optind]);

        /* Which of them were half-created: gc reports those like buffers. */
        shbuf_other *others = NULL;
        size_t nothers = 0;
        if (shbuf_list_other(&others, &nothers) < 0)
                nothers = 0;
        shbuf_info *items = NULL;
        size_t n = 0;
        if (shbuf_gc(dry_run, &items, &n) < 0) {
                util_errno(errno, "cannot collect stale buffers");
                free(others);
                return EXIT_FAIL;
        }
        for (size_t i = 0; i < n; i++) {
                char k[11], sz[16];
                bool half = false;
                for (size_t j = 0; j < nothers && !half; j++)
                        half = others[j].state == SHBUF_OTHER_HALF_CREATED &&
                               others[j].key == items[i].key &&
                               strcmp(others[j].backend, items[i].backend) == 0;
                printf("%s %s (%s, %s, %s %ld)\n", dry_run ? "would remove" : "removed",
                       util_format_key(items[i].key, k), items[i].backend,
                       util_format_size(items[i].size, sz), half ? "half-created by" : "provider",
                       items[i].provider_pid);
        }
        free(items);
        free(others);
        return EXIT_OK;
}
