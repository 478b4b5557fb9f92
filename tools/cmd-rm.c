/*
 * shbuf rm: remove buffers, all OS objects of each, as their provider would.
 * The library checks that what is under a key is a shbuf before it touches
 * anything, so a foreign object is reported and left alone.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"

static void usage(void) {
        printf("Usage:\n"
               " shbuf rm [options] KEY...\n"
               "\n"
               "Remove shared buffers. Processes still using one get an error.\n"
               "\n"
               "Options:\n"
               "     --backend NAME  remove only this backend's buffer under each key\n"
               " -v, --verbose       say what was removed\n"
               " -h, --help          display this help\n");
}

int cmd_rm(int argc, char **argv) {
        enum { OPT_BACKEND = 256 };
        static const struct option longopts[] = {
                {"backend", required_argument, NULL, OPT_BACKEND},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        const char *backend = NULL;
        bool verbose = false;
        int opt, ret = EXIT_OK;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
                switch (opt) {
                case OPT_BACKEND:
                        backend = optarg;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'h':
                        usage();
                        return EXIT_OK;
                default:
                        return util_bad_option(opt, argv);
                }
        }
        /* A typo in the third key must not leave the first two removed. */
        int r = util_check_keys(argc, argv, optind);
        if (r != EXIT_OK)
                return r;
        for (int i = optind; i < argc; i++) {
                key_t key;
                char k[11];
                (void) util_parse_key(argv[i], &key);
                if (shbuf_remove(key, backend) < 0) {
                        ret = util_key_error(key, errno);
                        continue;
                }
                if (verbose)
                        printf("removed %s\n", util_format_key(key, k));
        }
        return ret;
}
