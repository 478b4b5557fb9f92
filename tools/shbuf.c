/*
 * shbuf(1): stream through, list, inspect and clean up shared buffers.
 *
 * This file only dispatches: global options, then the subcommand named by the
 * first operand. Each subcommand lives in its own cmd-*.c file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"

static const struct command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *help;
} commands[] = {
        {"cat", cmd_cat, "stream stdin into a buffer, or a buffer to stdout"},
        {"ls", cmd_ls, "list the buffers on this machine"},
        {"info", cmd_info, "show everything about one buffer"},
        {"rm", cmd_rm, "remove buffers"},
        {"gc", cmd_gc, "remove buffers whose provider and client are gone"},
        {"bench", cmd_bench, "measure throughput and latency against other IPC"},
};

static void usage(void) {
        printf("Usage:\n"
               " shbuf [options] <command> [<args>]\n"
               "\n"
               "Stream data through, list, inspect and clean up libshbuf shared buffers.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                printf(" %-7s %s\n", commands[i].name, commands[i].help);
        printf("\n"
               "Options:\n"
               "     --backends  list the compiled backends, default first\n"
               " -h, --help      display this help\n"
               " -V, --version   display version\n"
               "\n"
               "Run 'shbuf <command> --help' for the options of a command. See shbuf(1).\n");
}

int main(int argc, char **argv) {
        enum { OPT_BACKENDS = 256 };
        static const struct option longopts[] = {
                {"backends", no_argument, NULL, OPT_BACKENDS},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        int c;

        util_close_stdout_at_exit();
        opterr = 0;
        /* "+": options end at the command name; the rest belongs to it. */
        while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_BACKENDS:
                        for (const char *const *b = shbuf_backends(); *b; b++)
                                printf("%s\n", *b);
                        return EXIT_OK;
                case 'h':
                        usage();
                        return EXIT_OK;
                case 'V':
                        printf("shbuf from libshbuf %s\n", SHBUF_TOOL_VERSION);
                        return EXIT_OK;
                default:
                        return util_bad_option(c, argv);
                }
        }
        if (optind >= argc)
                return util_usage("no command given");

        int first = optind;
        const char *name = argv[first];
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(name, commands[i].name) != 0)
                        continue;
                util_cmd = commands[i].name;
                /* Let the command parse its options from scratch. */
                optind = 0;
                return commands[i].run(argc - first, argv + first);
        }
        return util_usage("unknown command '%s'", name);
}
