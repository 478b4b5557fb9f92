/*
 * Small helpers every piece of the benchmark uses.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
/* The library's own streaming copy, shared on purpose (see bench_copy_in()). */
#include "stream-copy.h"

volatile sig_atomic_t bench_stop;

double bench_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

int bench_fail(struct bench_end *e, int err, const char *fmt, ...) {
        if (err <= 0)
                err = EIO;
        if (e->err[0])
                return -err; /* keep the first cause */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err, e->errlen, fmt, ap);
        va_end(ap);
        return -err;
}

bool bench_retry(int err) {
        return err == EINTR && !bench_stop;
}

/*
 * shbuf_write() copies 4 KiB and more with streaming stores where it has
 * them, and plain memcpy() below that or when SHBUF_STREAM_STORES=0 is in
 * the environment (src/core/copy.c). The naive ring and the zero-copy
 * producer copy the same way, with the same code, so that a comparison
 * with them measures the library's bookkeeping and not a choice of stores.
 */
#define STREAM_MIN 4096

void bench_copy_in(unsigned char *dst, const unsigned char *src, size_t n) {
#ifdef SHBUF__HAVE_STREAM_COPY
        static int streaming = -1;
        if (streaming < 0) {
                const char *v = getenv("SHBUF_STREAM_STORES");
                streaming = !(v && strcmp(v, "0") == 0);
        }
        if (streaming && n >= STREAM_MIN) {
                shbuf__stream_copy(dst, src, n);
                return;
        }
#endif
        memcpy(dst, src, n);
}

int bench_path_prepare(struct bench_link *l, const char *prefix, char *err, size_t errlen) {
        static unsigned seq;
        int n = snprintf(l->path, sizeof(l->path), "%s/%s%u", bench_cfg.tmpdir, prefix, seq++);
        if (n < 0 || (size_t) n >= sizeof(l->path)) {
                snprintf(err, errlen, "the name of a %s in %s is too long", prefix, bench_cfg.tmpdir);
                l->path[0] = '\0';
                return -ENAMETOOLONG;
        }
        return 0;
}

int bench_path_cleanup(struct bench_link *l, bool ok, char *err, size_t errlen) {
        if (l->path[0])
                unlink(l->path);
        l->path[0] = '\0';
        return 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y ? 1 : 0;
}

double bench_median(const double *v, int n, double *ret_min, double *ret_max) {
        double tmp[BENCH_MAX_ROUNDS + 1];
        int k = 0;
        for (int i = 0; i < n && k < BENCH_MAX_ROUNDS + 1; i++)
                if (isfinite(v[i]))
                        tmp[k++] = v[i];
        qsort(tmp, (size_t) k, sizeof(tmp[0]), cmp_double);
        if (ret_min)
                *ret_min = k ? tmp[0] : NAN;
        if (ret_max)
                *ret_max = k ? tmp[k - 1] : NAN;
        if (k == 0)
                return NAN;
        return k % 2 ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

const char *bench_size_text(uint64_t n, char *buf, size_t len) {
        if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
                snprintf(buf, len, "%llu MiB", (unsigned long long) (n >> 20));
        else if (n >= 1024 && n % 1024 == 0)
                snprintf(buf, len, "%llu KiB", (unsigned long long) (n >> 10));
        else
                snprintf(buf, len, "%llu B", (unsigned long long) n);
        return buf;
}
