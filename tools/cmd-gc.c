/*
 * shbuf gc: remove the buffers whose provider and client are both gone,
 * which is what programs killed before shbuf_free() leave behind.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"

static void usage(void) {
        printf("Usage:\n"
               " shbuf gc [options]\n"
               "\n"
               "Remove shared buffers whose provider and client processes are both gone.\n"
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

        shbuf_info *items = NULL;
        size_t n = 0;
        if (shbuf_gc(dry_run, &items, &n) < 0) {
                util_errno(errno, "cannot collect stale buffers");
                return EXIT_FAIL;
        }
        for (size_t i = 0; i < n; i++) {
                char k[11], sz[16];
                printf("%s %s (%s, %s, provider %ld)\n", dry_run ? "would remove" : "removed",
                       util_format_key(items[i].key, k), items[i].backend,
                       util_format_size(items[i].size, sz), items[i].provider_pid);
        }
        free(items);
        return EXIT_OK;
}
