/*
 * shbuf bench: the command line, the plan of the run, and the entry point.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"
#include "bench.h"

#define KIB ((uint64_t) 1024)
#define MIB (1024 * KIB)

struct bench_config bench_cfg;
struct bench_case bench_cases[BENCH_MAX_CASES];
int bench_ncases;

static const uint64_t default_sizes[] = {64, 256, KIB, 4 * KIB, 64 * KIB, MIB};

static void usage(void) {
        printf("Usage:\n"
               " shbuf bench [options]\n"
               "\n"
               "Measure libshbuf against what a program could use instead (pipes, a FIFO, a\n"
               "socketpair, vmsplice(), ZeroMQ, NNG, Boost.Interprocess) and against a naive\n"
               "shared-memory ring, in the same run: messages per second at each message size,\n"
               "and 64-byte round trips. Each measurement runs in two fresh processes, rounds\n"
               "are interleaved across transports, and every message is checked.\n"
               "\n"
               "Options:\n"
               "     --quick             fewer and shorter rounds: the whole run takes under 30 s\n"
               "     --json              one JSON document on stdout instead of the tables\n"
               "     --rounds N          timed rounds (default 5, 3 with --quick; 1 to %d)\n"
               "     --backend NAMES     only these compiled libshbuf backends, comma separated\n"
               "     --transport NAMES   only these transports, comma separated (see below)\n"
               "     --size SIZES        message sizes for throughput, e.g. 64,4K,1M\n"
               "                         (default 64,256,1K,4K,64K,1M)\n"
               "     --no-latency        no round trips\n"
               "     --no-throughput     round trips only\n"
               " -h, --help              display this help\n"
               "\n"
               "Transports:",
               BENCH_MAX_ROUNDS);
        for (int i = 0; bench_transports[i]; i++)
                printf("%s %s", i ? "," : "", bench_transports[i]->name);
        for (int i = 0; bench_skipped[i].name; i++)
                printf(", %s (not built)", bench_skipped[i].name);
        printf("\n\nSee docs/benchmarks.md in the source tree for the method.\n");
}

static const struct bench_transport *find_transport(const char *name, bool *ret_skipped) {
        *ret_skipped = false;
        for (int i = 0; bench_transports[i]; i++)
                if (strcmp(bench_transports[i]->name, name) == 0)
                        return bench_transports[i];
        for (int i = 0; bench_skipped[i].name; i++)
                if (strcmp(bench_skipped[i].name, name) == 0)
                        *ret_skipped = true;
        return NULL;
}

/* Options that survive parsing. */
static struct {
        bool only_tr[64]; /* by index into bench_transports[]; all false: every one */
        bool any_tr;
        uint64_t sizes[BENCH_MAX_SIZES];
        int nsizes;
        bool latency, throughput;
} opt;

static bool wanted(const struct bench_transport *t) {
        if (!opt.any_tr)
                return true;
        for (int i = 0; bench_transports[i]; i++)
                if (bench_transports[i] == t)
                        return opt.only_tr[i];
        return false;
}

static int parse_transports(char *list) {
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                bool skipped;
                const struct bench_transport *tr = find_transport(t, &skipped);
                if (!tr && !skipped)
                        return util_usage("unknown transport '%s'", t);
                opt.any_tr = true;
                for (int i = 0; tr && bench_transports[i]; i++)
                        if (bench_transports[i] == tr)
                                opt.only_tr[i] = true;
        }
        return 0;
}

static int parse_sizes(char *list) {
        opt.nsizes = 0;
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                unsigned long v;
                /* Two 8-byte stamps per message, whole words, and rings of a
                 * few messages that still fit in memory. */
                if (util_parse_size(t, &v) < 0 || v < 16 || v % 8 || v > 64 * MIB)
                        return util_usage("a message size is a multiple of 8 from 16 to 64M, not '%s'", t);
                if (opt.nsizes == BENCH_MAX_SIZES)
                        return util_usage("at most %d message sizes", BENCH_MAX_SIZES);
                opt.sizes[opt.nsizes++] = v;
        }
        if (opt.nsizes == 0)
                return util_usage("--size needs at least one size");
        return 0;
}

static int parse_backends(char *list) {
        const char *const *all = shbuf_backends();
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                const char *found = NULL;
                for (int i = 0; all[i]; i++)
                        if (strcmp(all[i], t) == 0)
                                found = all[i];
                if (!found)
                        return util_usage("backend '%s' is not compiled into this library", t);
                if (bench_cfg.nbackends < BENCH_MAX_BACKENDS)
                        bench_cfg.backends[bench_cfg.nbackends++] = found;
        }
        return 0;
}

/* A plain decimal count: digits only, checked for overflow. */
static int parse_count(const char *s, unsigned long *ret) {
        char *end;
        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v > ULONG_MAX)
                return -EINVAL;
        *ret = (unsigned long) v;
        return 0;
}

static int parse_args(int argc, char **argv) {
        enum {
                OPT_QUICK = 256,
                OPT_JSON,
                OPT_ROUNDS,
                OPT_BACKEND,
                OPT_TRANSPORT,
                OPT_SIZE,
                OPT_NO_LATENCY,
                OPT_NO_THROUGHPUT
        };
        static const struct option longopts[] = {
                {"quick", no_argument, NULL, OPT_QUICK},
                {"json", no_argument, NULL, OPT_JSON},
                {"rounds", required_argument, NULL, OPT_ROUNDS},
                {"backend", required_argument, NULL, OPT_BACKEND},
                {"transport", required_argument, NULL, OPT_TRANSPORT},
                {"size", required_argument, NULL, OPT_SIZE},
                {"no-latency", no_argument, NULL, OPT_NO_LATENCY},
                {"no-throughput", no_argument, NULL, OPT_NO_THROUGHPUT},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        unsigned long rounds = 0;
        int c, r = 0;

        opt.latency = opt.throughput = true;
        opterr = 0;
        while (r == 0 && (c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_QUICK:
                        bench_cfg.quick = true;
                        break;
                case OPT_JSON:
                        bench_cfg.json = true;
                        break;
                case OPT_ROUNDS:
                        if (parse_count(optarg, &rounds) < 0 || rounds < 1 || rounds > BENCH_MAX_ROUNDS)
                                r = util_usage("--rounds wants a number from 1 to %d, not '%s'",
                                               BENCH_MAX_ROUNDS, optarg);
                        break;
                case OPT_BACKEND:
                        r = parse_backends(optarg);
                        break;
                case OPT_TRANSPORT:
                        r = parse_transports(optarg);
                        break;
                case OPT_SIZE:
                        r = parse_sizes(optarg);
                        break;
                case OPT_NO_LATENCY:
                        opt.latency = false;
                        break;
                case OPT_NO_THROUGHPUT:
                        opt.throughput = false;
                        break;
                case 'h':
                        usage();
                        return 1;
                default:
                        util_bad_option(c, argv);
                        return -1;
                }
        }
        if (r != 0)
                return -1;
        if (optind < argc) {
                util_usage("unexpected argument '%s'", argv[optind]);
                return -1;
        }

        if (bench_cfg.nbackends == 0) {
                const char *const *all = shbuf_backends();
                for (int i = 0; all && all[i] && bench_cfg.nbackends < BENCH_MAX_BACKENDS; i++)
                        bench_cfg.backends[bench_cfg.nbackends++] = all[i];
        }
        if (bench_cfg.nbackends == 0) {
                util_err("the library has no backends compiled in");
                return -1;
        }
        if (opt.nsizes == 0) {
                opt.nsizes = (int) (sizeof(default_sizes) / sizeof(default_sizes[0]));
                memcpy(opt.sizes, default_sizes, sizeof(default_sizes));
        }

        bench_cfg.rounds = rounds ? (int) rounds : bench_cfg.quick ? 3 : 5;
        if (bench_cfg.quick) {
                bench_cfg.warm_s = 0.01;
                bench_cfg.window_s = 0.04;
                bench_cfg.verify_window_s = 0.01;
                bench_cfg.pp_round_trips = 1000;
                bench_cfg.pp_verify_round_trips = 100;
        } else {
                bench_cfg.warm_s = 0.05;
                bench_cfg.window_s = 0.3;
                bench_cfg.verify_window_s = 0.05;
                bench_cfg.pp_round_trips = 10000;
                bench_cfg.pp_verify_round_trips = 500;
        }
        return 0;
}

static struct bench_case *add_case(enum bench_kind kind, const struct bench_transport *tr, uint64_t size) {
        if (bench_ncases == BENCH_MAX_CASES)
                return NULL;
        struct bench_case *c = &bench_cases[bench_ncases++];
        memset(c, 0, sizeof(*c));
        c->kind = kind;
        c->tr = tr;
        c->size = size;
        /* Room for at least four messages, and never less than 1 MiB: what
         * the shared rings, the sized pipe and the queues get alike. */
        c->capacity = 4 * size > MIB ? 4 * size : MIB;
        snprintf(c->name, sizeof(c->name), "%s", tr->name);
        return c;
}

static bool is_shbuf(const struct bench_transport *tr) {
        return tr == &bench_tr_shbuf || tr == &bench_tr_shbuf_zc;
}

static void plan(void) {
        static const char *const wait_names[] = {"wait", "select", "spin"};

        for (int s = 0; s < opt.nsizes && opt.throughput; s++)
                for (int i = 0; bench_transports[i]; i++) {
                        const struct bench_transport *tr = bench_transports[i];
                        if (!wanted(tr))
                                continue;
                        for (int b = 0; b < (is_shbuf(tr) ? bench_cfg.nbackends : 1); b++) {
                                struct bench_case *c = add_case(BENCH_STREAM, tr, opt.sizes[s]);
                                if (c && is_shbuf(tr)) {
                                        c->backend = bench_cfg.backends[b];
                                        snprintf(c->name, sizeof(c->name), "%s-%s", tr->name, c->backend);
                                }
                        }
                }
        for (int i = 0; bench_transports[i] && opt.latency; i++) {
                const struct bench_transport *tr = bench_transports[i];
                if (!wanted(tr) || tr->stream_only)
                        continue;
                for (int b = 0; b < (is_shbuf(tr) ? bench_cfg.nbackends : 1); b++)
                        for (int w = BENCH_WAIT; w <= (is_shbuf(tr) ? BENCH_SPIN : BENCH_WAIT); w++) {
                                struct bench_case *c = add_case(BENCH_PINGPONG, tr, BENCH_PP_BYTES);
                                if (c && is_shbuf(tr)) {
                                        c->backend = bench_cfg.backends[b];
                                        c->wait = (enum bench_wait) w;
                                        snprintf(c->name, sizeof(c->name), "%s-%s-%s", tr->name, c->backend,
                                                 wait_names[w]);
                                }
                        }
        }
}

int cmd_bench(int argc, char **argv) {
        int r = parse_args(argc, argv);
        if (r != 0)
                return r > 0 ? EXIT_OK : EXIT_FAIL;

        bench_cfg.coordinator = getpid();
        bench_cfg.progress = isatty(STDERR_FILENO);
        bench_counters_probe();
        bench_handle_signals();
        /* FIFOs and sockets go in a private directory under $TMPDIR; a
         * socket's path must stay short (sun_path), so a long $TMPDIR is
         * passed over for /tmp. */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/' || strlen(tmp) > 40)
                tmp = "/tmp";
        snprintf(bench_cfg.tmpdir, sizeof(bench_cfg.tmpdir), "%s/shbuf-bench-XXXXXX", tmp);
        if (!mkdtemp(bench_cfg.tmpdir)) {
                util_errno(errno, "cannot create a private temporary directory");
                return EXIT_FAIL;
        }

        plan();
        bench_run_all();
        rmdir(bench_cfg.tmpdir);
        if (bench_stop) {
                util_err("interrupted");
                return EXIT_FAIL;
        }
        if (bench_cfg.json)
                bench_print_json();
        else
                bench_print_table();
        fflush(stdout);

        int errors = 0;
        for (int i = 0; i < bench_ncases; i++)
                if (bench_cases[i].failed) {
                        util_err("%s (%llu bytes) failed: %s", bench_cases[i].name,
                                 (unsigned long long) bench_cases[i].size, bench_cases[i].err);
                        errors++;
                }
        return errors ? EXIT_FAIL : EXIT_OK;
}
