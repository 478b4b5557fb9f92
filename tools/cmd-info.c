/*
 * shbuf info: everything that can be seen of one buffer from outside,
 * including a snapshot of its status block. Looking does not attach, so it
 * never disturbs the provider or the client.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"

static const char *alive(int yes) {
        return yes ? "alive" : "dead";
}

static void show(const shbuf_info *in) {
        const shbuf_status *st = &in->status;
        char k[11], sz[16], user[32];

        printf("Key:              %s\n", util_format_key(in->key, k));
        printf("Backend:          %s\n", in->backend);
        printf("Size:             %lu bytes (%s)\n", in->size, util_format_size(in->size, sz));
        printf("Mode:             %04o\n", in->mode & 07777);
        printf("Owner:            %s (uid %lu)\n", util_format_user(in->uid, user), (unsigned long) in->uid);
        if (in->provider_pid > 0)
                printf("Provider:         pid %ld, %s\n", in->provider_pid, alive(in->provider_alive));
        else
                printf("Provider:         none\n");
        if (in->client_attached)
                printf("Client:           pid %ld, attached, %s\n", in->client_pid, alive(in->client_alive));
        else if (in->client_pid > 0)
                printf("Client:           none (pid %ld detached)\n", in->client_pid);
        else
                printf("Client:           none\n");
        printf("Lock recoveries:  %lu\n", in->lock_recoveries);
        if (in->status_valid)
                printf("Fill level:       %lu bytes (%.0f%%)\n", st->length,
                       in->size ? (double) st->length * 100.0 / (double) in->size : 0.0);
        /* The raw fields are shown even when they fail validation: that is
         * when somebody wants to see them. */
        printf("Status block:     %s\n", in->status_valid ? "valid" : "INVALID");
        printf("  read_idx:         %lu\n", st->read_idx);
        printf("  length:           %lu\n", st->length);
        printf("  backlog:          %lu\n", st->backlog);
        printf("  backlog_target:   %lu\n", st->backlog_target);
        printf("  write_count:      %lu\n", st->write_count);
        printf("  read_count:       %lu\n", st->read_count);
        printf("  ignore_read_inc:  %d\n", st->ignore_read_inc);
        printf("  ignore_write_inc: %d\n", st->ignore_write_inc);
}

static void usage(void) {
        printf("Usage:\n"
               " shbuf info [options] KEY...\n"
               "\n"
               "Show everything about buffers, including their status block.\n"
               "\n"
               "Options:\n"
               "     --backend NAME  look only among this backend's buffers\n"
               " -h, --help          display this help\n");
}

int cmd_info(int argc, char **argv) {
        enum { OPT_BACKEND = 256 };
        static const struct option longopts[] = {
                {"backend", required_argument, NULL, OPT_BACKEND},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        const char *backend = NULL;
        int opt, ret = EXIT_OK;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
                switch (opt) {
                case OPT_BACKEND:
                        backend = optarg;
                        break;
                case 'h':
                        usage();
                        return EXIT_OK;
                default:
                        return util_bad_option(opt, argv);
                }
        }
        /* Check every key before showing anything. */
        int r = util_check_keys(argc, argv, optind);
        if (r != EXIT_OK)
                return r;
        for (int i = optind; i < argc; i++) {
                key_t key;
                shbuf_info info;
                (void) util_parse_key(argv[i], &key);
                if (shbuf_inspect(key, backend, &info) < 0) {
                        ret = util_key_error(key, errno);
                        continue;
                }
                if (i > optind)
                        putchar('\n');
                show(&info);
        }
        return ret;
}
