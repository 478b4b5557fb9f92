/*
 * What a side costs while it moves data: system calls, context switches
 * and CPU time over its measured window.
 *
 * System calls are counted with perf_event_open() on the
 * raw_syscalls:sys_enter tracepoint. Each side opens one counter on itself,
 * with inherit set, before it opens any transport, so the helper threads of
 * the libraries it uses (libshbuf's notifier, ZeroMQ's and NNG's I/O
 * threads) are counted too: reading an inherited counter sums the live
 * threads it was inherited by. Where perf is not usable (no tracefs, a
 * paranoid setting), the counts are reported as unknown. Context switches
 * come from getrusage(), CPU time from the process CPU clock; both cover all
 * threads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static int tracepoint = -1; /* id of raw_syscalls:sys_enter, or -1 */
static int counter = -1;    /* this process's counter, or -1 */

static int read_tracepoint_id(void) {
        static const char *const paths[] = {"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
                                            "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                FILE *f = fopen(paths[i], "re");
                if (!f)
                        continue;
                char line[32];
                bool ok = fgets(line, sizeof(line), f) != NULL;
                fclose(f);
                if (!ok)
                        continue;
                errno = 0;
                char *end;
                unsigned long long v = strtoull(line, &end, 10);
                if (errno == 0 && end != line && v <= INT_MAX)
                        return (int) v;
        }
        return -1;
}

static int open_counter(void) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof(a));
        a.type = PERF_TYPE_TRACEPOINT;
        a.size = sizeof(a);
        a.config = (uint64_t) tracepoint;
        a.inherit = 1;
        return (int) syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static long long read_counter(int fd) {
        uint64_t v;
        if (fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t) sizeof(v))
                return -1;
        return (long long) v;
}

void bench_counters_probe(void) {
        tracepoint = read_tracepoint_id();
        if (tracepoint < 0)
                return;
        int fd = open_counter();
        long long n0 = read_counter(fd);
        for (int i = 0; i < 4; i++)
                (void) syscall(SYS_getppid);
        long long n1 = read_counter(fd);
        if (fd >= 0)
                close(fd);
        /* A counter that opens but does not count is no better than none. */
        if (fd < 0 || n0 < 0 || n1 - n0 < 4)
                tracepoint = -1;
}

bool bench_counters_available(void) {
        return tracepoint >= 0;
}

const char *bench_counters_method(void) {
        return tracepoint >= 0 ? "perf_event_open(raw_syscalls:sys_enter)"
                               : "none (perf is not usable here)";
}

void bench_counter_open(void) {
        if (tracepoint >= 0)
                counter = open_counter();
}

static long long cpu_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void bench_window_begin(struct bench_window *w) {
        struct rusage ru;
        w->syscalls = read_counter(counter);
        w->cpu_ns = cpu_ns();
        getrusage(RUSAGE_SELF, &ru);
        w->nvcsw = ru.ru_nvcsw;
        w->nivcsw = ru.ru_nivcsw;
}

void bench_window_end(const struct bench_window *w, struct bench_msg *out) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        out->cpu_ns = cpu_ns() - w->cpu_ns;
        out->nvcsw = ru.ru_nvcsw - w->nvcsw;
        out->nivcsw = ru.ru_nivcsw - w->nivcsw;
        long long n = read_counter(counter);
        out->syscalls = n >= 0 && w->syscalls >= 0 ? n - w->syscalls : -1;
}
