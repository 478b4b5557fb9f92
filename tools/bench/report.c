/*
 * The report: tables for people, or one JSON document for scripts
 * (scripts/bench-check.py, scripts/bench-plot.sh). Every figure is the
 * median over the timed rounds; the JSON has each round's value too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

/* ---- figures per case ------------------------------------------------------ */

/* The value of one field in every timed round (NAN where it is missing). */
typedef double (*field_fn)(const struct bench_case *c, const struct bench_sample *s, int arg);

static int round_values(const struct bench_case *c, field_fn f, int arg, double *vals) {
        for (int r = 1; r <= bench_cfg.rounds; r++)
                vals[r - 1] = c->have[r] ? f(c, &c->smp[r], arg) : NAN;
        return bench_cfg.rounds;
}

static double f_msgs(const struct bench_case *c, const struct bench_sample *s, int arg) {
        return s->msgs_per_s;
}

static double f_gbs(const struct bench_case *c, const struct bench_sample *s, int arg) {
        return s->msgs_per_s * (double) c->size / 1e9;
}

static double f_rtt(const struct bench_case *c, const struct bench_sample *s, int q) {
        return s->rtt_us[q];
}

static double f_syscalls(const struct bench_case *c, const struct bench_sample *s, int side) {
        return s->syscalls[side];
}

static double f_switches(const struct bench_case *c, const struct bench_sample *s, int side) {
        return s->switches[side];
}

static double f_cpu(const struct bench_case *c, const struct bench_sample *s, int side) {
        return s->cpu_us[side];
}

static double median_of(const struct bench_case *c, field_fn f, int arg) {
        double v[BENCH_MAX_ROUNDS];
        return bench_median(v, round_values(c, f, arg, v), NULL, NULL);
}

static const struct bench_case *find(enum bench_kind kind, const char *name, uint64_t size) {
        for (int i = 0; i < bench_ncases; i++) {
                const struct bench_case *c = &bench_cases[i];
                if (c->kind == kind && c->size == size && strcmp(c->name, name) == 0)
                        return c;
        }
        return NULL;
}

/* The distinct sizes and names of the streams, in plan order. */
static int stream_sizes(uint64_t *sizes) {
        int n = 0;
        for (int i = 0; i < bench_ncases; i++) {
                const struct bench_case *c = &bench_cases[i];
                bool seen = false;
                for (int k = 0; k < n; k++)
                        seen |= sizes[k] == c->size;
                if (c->kind == BENCH_STREAM && !seen && n < BENCH_MAX_SIZES)
                        sizes[n++] = c->size;
        }
        return n;
}

/* Whether bench_cases[i] is the first of its name (of its kind, or of any
 * kind when any_kind). */
static bool first_of_name(int i, bool any_kind) {
        for (int k = 0; k < i; k++)
                if ((any_kind || bench_cases[k].kind == bench_cases[i].kind) &&
                    strcmp(bench_cases[k].name, bench_cases[i].name) == 0)
                        return false;
        return true;
}

static void describe_machine(char *cpu, size_t len) {
        FILE *f = fopen("/proc/cpuinfo", "re");
        char line[256];
        snprintf(cpu, len, "unknown");
        while (f && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "model name", 10) != 0)
                        continue;
                char *v = strchr(line, ':');
                if (v) {
                        v += strspn(v + 1, " \t") + 1;
                        v[strcspn(v, "\n")] = '\0';
                        snprintf(cpu, len, "%s", v);
                }
                break;
        }
        if (f)
                fclose(f);
}

static void iso_date(char *buf, size_t len) {
        time_t t = time(NULL);
        struct tm tm;
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

/* ---- tables ------------------------------------------------------------------ */

/* 34.5M, 910k, 2.90k, 12.3 */
static const char *fmt_rate(double v, char *buf, size_t len) {
        if (!isfinite(v))
                snprintf(buf, len, "-");
        else if (v >= 1e6)
                snprintf(buf, len, "%.3gM", v / 1e6);
        else if (v >= 1e3)
                snprintf(buf, len, "%.3gk", v / 1e3);
        else
                snprintf(buf, len, "%.3g", v);
        return buf;
}

static const char *fmt_num(double v, char *buf, size_t len) {
        if (!isfinite(v))
                snprintf(buf, len, "-");
        else
                snprintf(buf, len, v >= 100 ? "%.0f" : "%.3g", v);
        return buf;
}

static void stream_table(const char *title, field_fn f, const char *(*fmt)(double, char *, size_t)) {
        uint64_t sizes[BENCH_MAX_SIZES];
        int nsizes = stream_sizes(sizes);
        char buf[32];

        printf("%s\n%-16s", title, "transport");
        for (int s = 0; s < nsizes; s++)
                printf(" %8s", bench_size_text(sizes[s], buf, sizeof(buf)));
        printf("\n");
        for (int i = 0; i < bench_ncases; i++) {
                const struct bench_case *c = &bench_cases[i];
                if (c->kind != BENCH_STREAM || !first_of_name(i, false))
                        continue;
                printf("%-16s", c->name);
                for (int s = 0; s < nsizes; s++) {
                        const struct bench_case *k = find(BENCH_STREAM, c->name, sizes[s]);
                        printf(" %8s", !k          ? ""
                                       : k->failed ? "error"
                                                   : fmt(median_of(k, f, 0), buf, sizeof(buf)));
                }
                printf("\n");
        }
        printf("\n");
}

void bench_print_table(void) {
        struct utsname u;
        char date[32], cpu[128], a[32], b[32], d[32];
        bool any_stream = false, any_pp = false, any_error = false;

        uname(&u);
        iso_date(date, sizeof(date));
        describe_machine(cpu, sizeof(cpu));
        for (int i = 0; i < bench_ncases; i++) {
                any_stream |= bench_cases[i].kind == BENCH_STREAM;
                any_pp |= bench_cases[i].kind == BENCH_PINGPONG;
                any_error |= bench_cases[i].failed;
        }

        printf("shbuf bench: %s run, %d timed rounds after a verification round; libshbuf backends:",
               bench_cfg.quick ? "quick" : "full", bench_cfg.rounds);
        for (int i = 0; i < bench_cfg.nbackends; i++)
                printf(" %s", bench_cfg.backends[i]);
        printf("\n%ld CPUs (%s), Linux %s, %s\n\n", sysconf(_SC_NPROCESSORS_ONLN), cpu, u.release, date);

        if (any_stream) {
                stream_table(
                        "Messages per second, median over the rounds (each receiver copies every message "
                        "into its own buffer and checks it)",
                        f_msgs, fmt_rate);
                stream_table("GB/s (10^9 bytes per second), the same runs", f_gbs, fmt_num);
        }
        if (any_pp) {
                printf("Round trips of %d bytes, microseconds: median, p99 and p99.9 of each round, median "
                       "over "
                       "the rounds\n",
                       BENCH_PP_BYTES);
                printf("%-22s %9s %9s %9s\n", "transport", "median", "p99", "p99.9");
                for (int i = 0; i < bench_ncases; i++) {
                        const struct bench_case *c = &bench_cases[i];
                        if (c->kind != BENCH_PINGPONG)
                                continue;
                        if (c->failed) {
                                printf("%-22s %9s\n", c->name, "error");
                                continue;
                        }
                        printf("%-22s %9s %9s %9s\n", c->name,
                               fmt_num(median_of(c, f_rtt, BENCH_Q_MEDIAN), a, sizeof(a)),
                               fmt_num(median_of(c, f_rtt, BENCH_Q_P99), b, sizeof(b)),
                               fmt_num(median_of(c, f_rtt, BENCH_Q_P999), d, sizeof(d)));
                }
                printf("\n");
        }

        printf("Transports (stream capacities: 1 MiB, or 4 messages where that is more):\n");
        for (int i = 0; i < bench_ncases; i++)
                if (first_of_name(i, true) && bench_cases[i].config[0])
                        printf("  %-22s %s\n", bench_cases[i].name, bench_cases[i].config);
        for (int i = 0; bench_skipped[i].name; i++)
                printf("  %-22s skipped: %s\n", bench_skipped[i].name, bench_skipped[i].reason);
        if (any_error) {
                printf("\nErrors:\n");
                for (int i = 0; i < bench_ncases; i++)
                        if (bench_cases[i].failed)
                                printf("  %s, %s: %s\n", bench_cases[i].name,
                                       bench_size_text(bench_cases[i].size, a, sizeof(a)),
                                       bench_cases[i].err);
        }
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_num(double v) {
        if (isfinite(v))
                printf("%.6g", v);
        else
                printf("null");
}

static void json_stats(const char *key, const struct bench_case *c, field_fn f, int arg) {
        double vals[BENCH_MAX_ROUNDS], min, max;
        int n = round_values(c, f, arg, vals);
        double med = bench_median(vals, n, &min, &max);
        printf("\"%s\": {\"median\": ", key);
        json_num(med);
        printf(", \"min\": ");
        json_num(min);
        printf(", \"max\": ");
        json_num(max);
        printf(", \"rounds\": [");
        for (int i = 0; i < n; i++) {
                printf(i ? ", " : "");
                json_num(vals[i]);
        }
        printf("]}");
}

static void json_common(const struct bench_case *c) {
        static const char *const waits[] = {"shbuf_wait", "select", "spin"};
        printf("    {\"name\": ");
        util_json_string(c->name);
        printf(", \"transport\": ");
        util_json_string(c->tr->name);
        printf(", \"backend\": ");
        if (c->backend)
                util_json_string(c->backend);
        else
                printf("null");
        printf(", \"wait\": ");
        if (c->backend)
                util_json_string(waits[c->wait]);
        else
                printf("null");
        printf(", \"size\": %llu, \"capacity\": %llu,\n      \"config\": ", (unsigned long long) c->size,
               (unsigned long long) c->capacity);
        util_json_string(c->config);
        printf(", \"verified\": %s, \"error\": ", c->verified && !c->failed ? "true" : "false");
        if (c->failed)
                util_json_string(c->err);
        else
                printf("null");
}

static void json_case(const struct bench_case *c) {
        json_common(c);
        if (c->kind == BENCH_STREAM) {
                static const char *const sides[] = {"producer", "consumer"};
                printf(",\n      ");
                json_stats("msgs_per_s", c, f_msgs, 0);
                printf(",\n      ");
                json_stats("gb_per_s", c, f_gbs, 0);
                for (int s = 0; s < 2; s++) {
                        printf(",\n      \"%s\": {", sides[s]);
                        json_stats("syscalls_per_msg", c, f_syscalls, s);
                        printf(", ");
                        json_stats("context_switches_per_msg", c, f_switches, s);
                        printf(", ");
                        json_stats("cpu_us_per_msg", c, f_cpu, s);
                        printf("}");
                }
        } else {
                printf(",\n      ");
                json_stats("median_us", c, f_rtt, BENCH_Q_MEDIAN);
                printf(",\n      ");
                json_stats("p99_us", c, f_rtt, BENCH_Q_P99);
                printf(",\n      ");
                json_stats("p999_us", c, f_rtt, BENCH_Q_P999);
                /* Each point: the median over the rounds of that quantile. */
                printf(",\n      \"cdf\": [");
                for (int q = 0; q < BENCH_NQ; q++) {
                        printf(q ? ", [" : "[");
                        json_num(bench_quantiles[q]);
                        printf(", ");
                        json_num(median_of(c, f_rtt, q));
                        printf("]");
                }
                printf("]");
        }
        printf("}");
}

static void json_cases(enum bench_kind kind) {
        bool first = true;
        for (int i = 0; i < bench_ncases; i++) {
                if (bench_cases[i].kind != kind)
                        continue;
                printf(first ? "\n" : ",\n");
                json_case(&bench_cases[i]);
                first = false;
        }
        printf(first ? "]" : "\n  ]");
}

void bench_print_json(void) {
        struct utsname u;
        char date[32], cpu[128];
        uname(&u);
        iso_date(date, sizeof(date));
        describe_machine(cpu, sizeof(cpu));

        printf("{\n  \"tool\": \"shbuf bench\",\n  \"format\": 2,\n  \"mode\": \"%s\",\n",
               bench_cfg.quick ? "quick" : "full");
        printf("  \"rounds\": %d,\n  \"date\": \"%s\",\n", bench_cfg.rounds, date);
        printf("  \"machine\": {\"cpus\": %ld, \"cpu\": ", sysconf(_SC_NPROCESSORS_ONLN));
        util_json_string(cpu);
        printf(", \"kernel\": ");
        util_json_string(u.release);
        printf("},\n  \"backends\": [");
        for (int i = 0; i < bench_cfg.nbackends; i++) {
                printf(i ? ", " : "");
                util_json_string(bench_cfg.backends[i]);
        }
        printf("],\n  \"syscall_counting\": ");
        util_json_string(bench_counters_method());
        printf(",\n  \"params\": {\"warmup_s\": ");
        json_num(bench_cfg.warm_s);
        printf(", \"window_s\": ");
        json_num(bench_cfg.window_s);
        printf(", \"verify_window_s\": ");
        json_num(bench_cfg.verify_window_s);
        printf(", \"round_trips\": %llu, \"round_trip_bytes\": %d, \"sizes\": [",
               (unsigned long long) bench_cfg.pp_round_trips, BENCH_PP_BYTES);
        uint64_t sizes[BENCH_MAX_SIZES];
        int nsizes = stream_sizes(sizes);
        for (int i = 0; i < nsizes; i++)
                printf("%s%llu", i ? ", " : "", (unsigned long long) sizes[i]);
        printf("]},\n");
        printf("  \"transports\": [");
        for (int i = 0; bench_transports[i]; i++) {
                printf(i ? ",\n    " : "\n    ");
                printf("{\"name\": ");
                util_json_string(bench_transports[i]->name);
                printf(", \"title\": ");
                util_json_string(bench_transports[i]->title);
                printf(", \"built\": true, \"latency\": %s}",
                       bench_transports[i]->stream_only ? "false" : "true");
        }
        printf("\n  ],\n  \"skipped\": [");
        for (int i = 0; bench_skipped[i].name; i++) {
                printf(i ? ",\n    " : "\n    ");
                printf("{\"name\": ");
                util_json_string(bench_skipped[i].name);
                printf(", \"reason\": ");
                util_json_string(bench_skipped[i].reason);
                printf("}");
        }
        printf(bench_skipped[0].name ? "\n  ],\n" : "],\n");
        printf("  \"throughput\": [");
        json_cases(BENCH_STREAM);
        printf(",\n  \"latency\": [");
        json_cases(BENCH_PINGPONG);
        printf("\n}\n");
}
