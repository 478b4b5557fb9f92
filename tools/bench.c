/*
 * shbuf bench: throughput, latency and idle cost of libshbuf against
 * baselines measured in the same run (memcpy, pipe, FIFO, socketpair).
 *
 * Method (docs/benchmarks.md has the long version):
 *
 * - Every measurement runs in fresh processes forked from a coordinator:
 *   a producer and a consumer (or an initiator and a responder). The
 *   coordinator never touches a shared buffer itself; it only creates the
 *   kernel baselines' descriptors, starts both sides together, collects their
 *   results through pipes, and cleans up (kills, reaps, removes leftovers)
 *   when anything goes wrong.
 * - Round 0 is a warm-up and verification round: less data, every byte
 *   checked against a position-dependent pattern. Rounds 1..N are timed; they
 *   still check a sequence number at both ends of every write and a checksum
 *   in the fill/checksum workload, so a broken data path cannot report a
 *   fast number.
 * - Within a round every measurement runs once, baselines and candidates
 *   interleaved; odd rounds run the list backwards. Ratios pair the
 *   candidate's round i with the baseline's round i.
 * - The receiving side stamps both times: the start once the first eighth
 *   of the data (the warm-up part) has arrived, the end once the last byte
 *   has arrived and been checked.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libshbuf/shbuf.h>

/* The library's own copy loop, for the naive ring (see ring_copy_in()). */
#include "stream-copy.h"

#define PROG "shbuf bench"

#define KIB ((uint64_t) 1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

#define MAX_ROUNDS 100
#define MAX_CASES 64
#define MAX_GOALS 128
#define MAX_BACKENDS 4
#define PP_MSG 64

int shbuf_bench_main(int argc, char **argv);

/* ---- what is measured --------------------------------------------------- */

enum kind { K_STREAM, K_MEMCPY, K_PINGPONG, K_IDLE };
enum transport { TR_NONE, TR_PIPE, TR_FIFO, TR_SOCKET, TR_RING, TR_SHBUF };
enum api { API_COPY, API_ZC };
enum wake { WK_WAIT, WK_POLL };
/* The data: stamps only, or generated and summed (the producer of WORK_FILL_NT
 * generates with streaming stores, which bypass its cache). */
enum work { WORK_PLAIN, WORK_FILL, WORK_FILL_NT };

/* Streaming (non-temporal) 8-byte stores: x86 has them in every 64-bit CPU. */
#if defined(__x86_64__)
#define HAVE_STREAM_FILL 1
#endif

static const char *const goal_ids[] = {"T1", "T2", "T3", "T4", "T5", "T6",
                                       "L1", "L2", "L3", "L4", "L5", "L6"};
#define N_GOAL_IDS (sizeof(goal_ids) / sizeof(goal_ids[0]))

/* Side indices of per-side figures: the writer and the reader of a stream. */
enum { SIDE_PRODUCER, SIDE_CONSUMER };

struct sample {
        double value; /* MiB/s; ping-pong: median round trip in µs; idle: CPU µs per 10 s */
        double p99, rtt_min, rtt_max;
        double cs_per_mib[2];  /* voluntary + involuntary context switches, per side */
        double vcs_per_mib[2]; /* voluntary only */
        double sys_per_mib[2]; /* system calls, NAN when they could not be counted */
        double cpu_us_per_mib[2];
        double commits_per_mib[2];
        long idle_vcs, idle_ivcs, idle_returns, wake_vcs;
        double idle_secs, wake_cpu_us;
};

struct bcase {
        char name[48];
        enum kind kind;
        enum transport tr;
        const char *backend;
        enum api api;
        enum wake wake;
        enum work work;
        uint64_t chunk, total, ring;
        uint64_t iters, warm_iters;
        int idle_s;
        unsigned spin_us; /* shbuf_set_spin() on both sides (L5), 0 = off */
        unsigned goals;   /* bit i: needed by goal_ids[i] */
        bool baseline;

        struct sample smp[MAX_ROUNDS + 1]; /* index 0: the verification round */
        bool have[MAX_ROUNDS + 1];
        bool failed;
        char err[256];
        bool verified;
        int sockbuf[2]; /* effective SO_SNDBUF, SO_RCVBUF */
};

/* Run-wide settings. */
static struct {
        bool quick, json, progress;
        int rounds;
        unsigned only; /* bit mask over goal_ids; 0 = all */
        const char *backends[MAX_BACKENDS + 1];
        int nbackends;
        uint64_t stream_total, small_total, fill_total, memcpy_total, verify_total;
        uint64_t pp_iters;
        int idle_s;
        int sys_tracepoint; /* id of raw_syscalls:sys_enter, or -1 */
        char tmpdir[64];
        pid_t coordinator;
} cfg;

static struct bcase cases[MAX_CASES];
static int ncases;

static volatile sig_atomic_t g_stop;

/* ---- small helpers ------------------------------------------------------ */

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static long long cpu_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y ? 1 : 0;
}

/* Median of n values (NAN for none); v is sorted in place. */
static double median_of(double *v, int n) {
        if (n <= 0)
                return NAN;
        qsort(v, (size_t) n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void summarize(const double *vals, int n, double *ret_med, double *ret_min, double *ret_max) {
        double tmp[MAX_ROUNDS + 1];
        int k = 0;
        for (int i = 0; i < n; i++)
                if (isfinite(vals[i]))
                        tmp[k++] = vals[i];
        *ret_med = median_of(tmp, k);
        *ret_min = k ? tmp[0] : NAN;
        *ret_max = k ? tmp[k - 1] : NAN;
}

/* The data patterns. Verification rounds write a value that depends on the
 * word's position in the stream into every word; timed rounds write a fixed
 * body and stamp the chunk's sequence number into its first and last word;
 * the fill workload writes consecutive integers (memset-like, but position
 * dependent so that a checksum catches misplaced data). */
static inline uint64_t verify_word(uint64_t w) {
        return (w + 1) * UINT64_C(0x9E3779B97F4A7C15) ^ UINT64_C(0xA5A5A5A5A5A5A5A5);
}
static inline uint64_t body_word(uint64_t i) {
        return i * UINT64_C(0x2545F4914F6CDD1D) + 0x1234;
}

/* ---- system call counting ------------------------------------------------ */

/*
 * Counting uses perf_event_open() on the raw_syscalls:sys_enter tracepoint.
 * Each measuring process opens one counter on itself with inherit set before
 * it creates or opens a buffer, so the library's helper threads (notifier,
 * sentinel) are counted too: reading an inherited counter sums the live
 * threads it was inherited by. The window is the difference of two reads.
 */
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

static int counter_open(void) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof(a));
        a.type = PERF_TYPE_TRACEPOINT;
        a.size = sizeof(a);
        a.config = (uint64_t) cfg.sys_tracepoint;
        a.inherit = 1;
        return (int) syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static long long counter_read(int fd) {
        uint64_t v;
        if (fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t) sizeof(v))
                return -1;
        return (long long) v;
}

static bool syscall_counting_works(void) {
        cfg.sys_tracepoint = read_tracepoint_id();
        if (cfg.sys_tracepoint < 0)
                return false;
        int fd = counter_open();
        if (fd < 0) {
                cfg.sys_tracepoint = -1;
                return false;
        }
        long long n0 = counter_read(fd);
        for (int i = 0; i < 4; i++)
                (void) syscall(SYS_getppid);
        long long n1 = counter_read(fd);
        close(fd);
        if (n0 < 0 || n1 - n0 < 4) {
                cfg.sys_tracepoint = -1;
                return false;
        }
        return true;
}

/* This process's system call counter, or -1. */
static int g_counter = -1;

/* What one side records at the start and the end of its measured window. */
struct window {
        struct rusage ru;
        long long cpu;
        long long syscalls;
};

static void window_begin(struct window *w) {
        w->syscalls = counter_read(g_counter);
        w->cpu = cpu_ns();
        getrusage(RUSAGE_SELF, &w->ru);
}

struct window_result {
        long nvcsw, nivcsw;
        long long syscalls; /* -1: not counted */
        long long cpu;
};

static void window_end(struct window *w, struct window_result *ret) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        ret->cpu = cpu_ns() - w->cpu;
        ret->nvcsw = ru.ru_nvcsw - w->ru.ru_nvcsw;
        ret->nivcsw = ru.ru_nivcsw - w->ru.ru_nivcsw;
        long long n = counter_read(g_counter);
        ret->syscalls = n >= 0 && w->syscalls >= 0 ? n - w->syscalls : -1;
}

/* ---- messages between the coordinator and the two sides ------------------ */

enum { MSG_READY = 1, MSG_RESULT = 2 };

struct cmsg {
        int type;
        int err; /* 0, or an errno value */
        char what[200];
        int nkeys;
        key_t keys[2];
        int sockbuf[2];
        uint64_t bytes;   /* bytes in the measured window */
        uint64_t commits; /* write or read calls that moved data, in the window */
        double secs;
        struct window_result win;
        double rtt_med, rtt_p99, rtt_min, rtt_max; /* µs */
        long returns;
};

/* One measurement in flight: two processes and what connects them. */
/*
 * The naive ring: a reference, not a candidate. A single-producer,
 * single-consumer byte ring in shared memory with nothing of libshbuf's (no
 * lock, no status block, no notification, no checks): each side owns one
 * index on a cache line of its own and spins, yielding now and then, until
 * the other side moves. What it reaches is about what copying through shared
 * memory can reach on this machine at all, so the copying API is shown
 * against it too.
 */
#define NAIVE_RING_SIZE MIB

struct naive_ring {
        alignas(64) _Atomic uint64_t head; /* bytes written, by the producer only */
        alignas(64) _Atomic uint64_t tail; /* bytes read, by the consumer only */
        alignas(64) unsigned char data[NAIVE_RING_SIZE];
};

struct pair {
        struct bcase *c;
        bool verify;
        int nsides;
        pid_t pid[2];
        int res[2]; /* the coordinator's read end of each side's result pipe */
        int go[2];  /* the coordinator's write end of each side's go pipe */
        int tfd[4]; /* baseline transport descriptors */
        int ntfd;
        struct naive_ring *ring; /* TR_RING: shared with both sides by fork() */
        char fifo[128];
        int nkeys;
        key_t keys[2];
        struct cmsg msg[2];
};

/* ---- the measuring side ---------------------------------------------------- */

struct worker {
        const struct bcase *c;
        bool verify;
        int role;  /* 0: consumer / initiator / idle waiter / memcpy; 1: producer / responder / idle peer */
        int fd[2]; /* stream: fd[0]; ping-pong: fd[0] sends, fd[1] receives */
        shbuf *sb[2]; /* stream and idle: sb[0]; ping-pong: sb[0] sends, sb[1] receives */
        int selfd[2];
        struct naive_ring *ring;
        pid_t waiter;   /* idle peer: the waiter's pid */
        uint64_t calls; /* calls that moved data: write, read, shbuf_write, shbuf_read, commits */
        struct cmsg *out;
};

static int fail(struct worker *w, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct worker *w, int err, const char *fmt, ...) {
        va_list ap;
        if (w->out->err)
                return -w->out->err; /* keep the first cause */
        va_start(ap, fmt);
        vsnprintf(w->out->what, sizeof(w->out->what), fmt, ap);
        va_end(ap);
        w->out->err = err ? err : EIO;
        return -w->out->err;
}

static void on_signal(int sig) {
        (void) sig;
        g_stop = 1;
}

static void handle_signals(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: a blocking call returns EINTR so the loops can stop. */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

/* EINTR without a stop request (nothing here sends one) is retried. */
static bool retry_eintr(int err) {
        return err == EINTR && !g_stop;
}

/* Block until the shared buffer moves: shbuf_wait(), or poll() on the select
 * descriptor followed by shbuf_post_select(). */
static int sb_block(struct worker *w, int i, bool use_poll) {
        for (;;) {
                if (!use_poll) {
                        if (shbuf_wait(w->sb[i]) == 0)
                                return 0;
                        if (retry_eintr(errno))
                                continue;
                        return fail(w, errno, "shbuf_wait: %s", strerror(errno));
                }
                struct pollfd p = {.fd = w->selfd[i], .events = POLLIN};
                if (poll(&p, 1, -1) < 0) {
                        if (retry_eintr(errno))
                                continue;
                        return fail(w, errno, "poll on the select descriptor: %s", strerror(errno));
                }
                if (shbuf_post_select(w->sb[i]) < 0)
                        return fail(w, errno, "shbuf_post_select: %s", strerror(errno));
                return 0;
        }
}

/* Spin (yielding every 64 turns) until *idx differs from seen; -errno on a stop. */
static int ring_spin(struct worker *w, _Atomic uint64_t *idx, uint64_t seen) {
        for (unsigned i = 1; atomic_load_explicit(idx, memory_order_acquire) == seen; i++) {
                if (g_stop)
                        return fail(w, EINTR, "stopped");
                if (i % 64 == 0)
                        sched_yield();
        }
        return 0;
}

/*
 * The naive ring copies in as shbuf_write() does, with the same code: with
 * streaming stores from 4 KiB on where the library has them, which send the
 * lines to memory instead of leaving them dirty in this core's cache for
 * the reader to fetch (src/core/copy.c). Measured here, that made the ring
 * 10-30% faster than with memcpy, and the reference is meant to be the
 * best a ring without libshbuf's machinery does, not a straw man.
 */
static void ring_copy_in(unsigned char *dst, const unsigned char *src, uint64_t n) {
#ifdef SHBUF__HAVE_STREAM_COPY
        if (n >= 4096) {
                shbuf__stream_copy(dst, src, n);
                return;
        }
#endif
        memcpy(dst, src, n);
}

static long ring_send(struct worker *w, const unsigned char *p, uint64_t n) {
        struct naive_ring *r = w->ring;
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - tail == NAIVE_RING_SIZE) {
                int e = ring_spin(w, &r->tail, tail);
                if (e < 0)
                        return e;
                tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        }
        uint64_t off = head % NAIVE_RING_SIZE, len = NAIVE_RING_SIZE - (head - tail);
        if (len > NAIVE_RING_SIZE - off)
                len = NAIVE_RING_SIZE - off;
        if (len > n)
                len = n;
        ring_copy_in(r->data + off, p, len);
        atomic_store_explicit(&r->head, head + len, memory_order_release);
        w->calls++;
        return (long) len;
}

static long ring_recv(struct worker *w, unsigned char *p, uint64_t n) {
        struct naive_ring *r = w->ring;
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (head == tail) {
                int e = ring_spin(w, &r->head, head);
                if (e < 0)
                        return e;
                head = atomic_load_explicit(&r->head, memory_order_acquire);
        }
        uint64_t off = tail % NAIVE_RING_SIZE, len = head - tail;
        if (len > NAIVE_RING_SIZE - off)
                len = NAIVE_RING_SIZE - off;
        if (len > n)
                len = n;
        memcpy(p, r->data + off, len);
        atomic_store_explicit(&r->tail, tail + len, memory_order_release);
        w->calls++;
        return (long) len;
}

/* Move up to n bytes into the transport; returns the count (> 0) or -errno. */
static long send_some(struct worker *w, int i, const unsigned char *p, uint64_t n, bool use_poll) {
        if (w->c->tr == TR_RING)
                return ring_send(w, p, n);
        if (w->c->tr != TR_SHBUF) {
                for (;;) {
                        ssize_t r = write(w->fd[i], p, n);
                        if (r > 0) {
                                w->calls++;
                                return r;
                        }
                        if (r < 0 && retry_eintr(errno))
                                continue;
                        return fail(w, r < 0 ? errno : EIO, "write: %s",
                                    r < 0 ? strerror(errno) : "no progress");
                }
        }
        for (;;) {
                long r = shbuf_write(w->sb[i], p, n);
                if (r > 0) {
                        w->calls++;
                        return r;
                }
                if (r < 0)
                        return fail(w, errno, "shbuf_write: %s", strerror(errno));
                int e = sb_block(w, i, use_poll);
                if (e < 0)
                        return e;
        }
}

/* Fill n bytes from the transport (the consumer works on whole chunks). */
static int recv_all(struct worker *w, int i, unsigned char *p, uint64_t n, bool use_poll) {
        uint64_t got = 0;
        while (got < n) {
                if (w->c->tr == TR_RING) {
                        long r = ring_recv(w, p + got, n - got);
                        if (r < 0)
                                return (int) r;
                        got += (uint64_t) r;
                        continue;
                }
                if (w->c->tr != TR_SHBUF) {
                        if (use_poll) {
                                struct pollfd pf = {.fd = w->fd[i], .events = POLLIN};
                                if (poll(&pf, 1, -1) < 0) {
                                        if (retry_eintr(errno))
                                                continue;
                                        return fail(w, errno, "poll: %s", strerror(errno));
                                }
                        }
                        ssize_t r = read(w->fd[i], p + got, n - got);
                        if (r > 0) {
                                got += (uint64_t) r;
                                w->calls++;
                                continue;
                        }
                        if (r < 0 && retry_eintr(errno))
                                continue;
                        return fail(w, r < 0 ? errno : EPIPE, "read: %s",
                                    r < 0 ? strerror(errno) : "end of file before all data arrived");
                }
                long r = shbuf_read(w->sb[i], p + got, n - got);
                if (r > 0) {
                        got += (uint64_t) r;
                        w->calls++;
                        continue;
                }
                if (r < 0)
                        return fail(w, errno, "shbuf_read: %s", strerror(errno));
                int e = sb_block(w, i, use_poll);
                if (e < 0)
                        return e;
        }
        return 0;
}

/* Check nw words that sit at byte offset off of the stream. */
static int check_run(struct worker *w, const uint64_t *p, uint64_t off, uint64_t nw) {
        const struct bcase *c = w->c;
        uint64_t w0 = off / 8;

        if (c->work != WORK_PLAIN) {
                uint64_t sum = 0;
                for (uint64_t i = 0; i < nw; i++)
                        sum += p[i];
                uint64_t want = nw * w0 + nw * (nw - 1) / 2;
                if (sum != want)
                        return fail(w, EBADMSG,
                                    "checksum mismatch in the %" PRIu64 " bytes at stream offset %" PRIu64,
                                    nw * 8, off);
                if (!w->verify)
                        return 0;
                for (uint64_t i = 0; i < nw; i++)
                        if (p[i] != w0 + i)
                                return fail(w, EBADMSG, "data mismatch at stream offset %" PRIu64,
                                            off + i * 8);
                return 0;
        }
        if (w->verify) {
                for (uint64_t i = 0; i < nw; i++)
                        if (p[i] != verify_word(w0 + i))
                                return fail(w, EBADMSG,
                                            "data mismatch at stream offset %" PRIu64 ": %#" PRIx64
                                            " != %#" PRIx64,
                                            off + i * 8, p[i], verify_word(w0 + i));
                return 0;
        }
        /* Timed rounds: the sequence stamps at both ends of each chunk. */
        uint64_t end = off + nw * 8;
        for (uint64_t k = off / c->chunk; k * c->chunk < end; k++) {
                uint64_t pos[2] = {k * c->chunk, k * c->chunk + c->chunk - 8};
                for (int j = 0; j < 2; j++) {
                        if (pos[j] < off || pos[j] >= end)
                                continue;
                        uint64_t v = p[(pos[j] - off) / 8];
                        if (v != k)
                                return fail(w, EBADMSG,
                                            "sequence mismatch at stream offset %" PRIu64 ": %" PRIu64
                                            " != %" PRIu64,
                                            pos[j], v, k);
                }
        }
        return 0;
}

static uint64_t stream_total(const struct worker *w) {
        return w->verify ? (cfg.verify_total < w->c->total ? cfg.verify_total : w->c->total) : w->c->total;
}

/* The warm-up part: the first eighth of the data, at least one chunk. */
static uint64_t stream_warm(const struct worker *w, uint64_t total) {
        uint64_t warm = total / 8 / w->c->chunk * w->c->chunk;
        return warm < w->c->chunk ? w->c->chunk : warm;
}

/* The producer's next chunk in its private buffer. */
static void prepare_chunk(struct worker *w, uint64_t *buf, uint64_t off) {
        const struct bcase *c = w->c;
        uint64_t nw = c->chunk / 8, w0 = off / 8;
        if (c->work != WORK_PLAIN) {
                for (uint64_t i = 0; i < nw; i++)
                        buf[i] = w0 + i;
        } else if (w->verify) {
                for (uint64_t i = 0; i < nw; i++)
                        buf[i] = verify_word(w0 + i);
        } else {
                buf[0] = buf[nw - 1] = off / c->chunk;
        }
}

static int stream_produce(struct worker *w) {
        const struct bcase *c = w->c;
        uint64_t total = stream_total(w), warm = stream_warm(w, total);
        bool use_poll = c->wake == WK_POLL;
        uint64_t *buf = aligned_alloc(64, c->chunk);
        uint64_t off = 0, off0 = 0, calls0 = 0;
        struct window win = {.syscalls = -1};
        bool in_window = false;
        int r = 0;

        if (!buf)
                return fail(w, ENOMEM, "out of memory");
        for (uint64_t i = 0; i < c->chunk / 8; i++)
                buf[i] = body_word(i);

        while (off < total && r == 0) {
                if (!in_window && off >= warm) {
                        window_begin(&win);
                        in_window = true;
                        off0 = off;
                        calls0 = w->calls;
                }
                uint64_t co = off % c->chunk, want = c->chunk - co;
                if (c->tr == TR_SHBUF && c->api == API_ZC) {
                        unsigned long l;
                        unsigned char *q = shbuf_get_write_pointer(w->sb[0], &l);
                        if (!q) {
                                r = fail(w, errno, "shbuf_get_write_pointer: %s", strerror(errno));
                                break;
                        }
                        if (l == 0) {
                                r = sb_block(w, 0, use_poll);
                                continue;
                        }
                        uint64_t n = (l < want ? l : want) & ~(uint64_t) 7;
                        if (n == 0) {
                                r = fail(w, EPROTO, "write space of %lu bytes is not a multiple of 8", l);
                                break;
                        }
                        /* Zero-copy: the fill workload generates straight into the ring. */
                        if (c->work == WORK_FILL) {
                                uint64_t *d = (uint64_t *) (void *) q, w0 = off / 8;
                                for (uint64_t i = 0; i < n / 8; i++)
                                        d[i] = w0 + i;
#ifdef HAVE_STREAM_FILL
                        } else if (c->work == WORK_FILL_NT) {
                                /* As shbuf_write() copies: the lines go to memory
                                 * instead of being taken from the reader's cache
                                 * first and then from ours by the reader. */
                                long long *d = (long long *) (void *) q;
                                long long w0 = (long long) (off / 8);
                                for (uint64_t i = 0; i < n / 8; i++)
                                        __builtin_ia32_movnti64(&d[i], w0 + (long long) i);
                                __builtin_ia32_sfence();
#endif
                        } else {
                                if (co == 0)
                                        prepare_chunk(w, buf, off);
                                memcpy(q, (unsigned char *) buf + co, n);
                        }
                        if (shbuf_inc_write_pointer(w->sb[0], n) < 0) {
                                r = fail(w, errno, "shbuf_inc_write_pointer: %s", strerror(errno));
                                break;
                        }
                        off += n;
                        w->calls++;
                        continue;
                }
                if (co == 0)
                        prepare_chunk(w, buf, off);
                long n = send_some(w, 0, (unsigned char *) buf + co, want, use_poll);
                if (n < 0) {
                        r = (int) n;
                        break;
                }
                off += (uint64_t) n;
        }
        if (in_window) {
                window_end(&win, &w->out->win);
                w->out->bytes = off - off0;
                w->out->commits = w->calls - calls0;
        }
        free(buf);
        return r;
}

static int stream_consume(struct worker *w) {
        const struct bcase *c = w->c;
        uint64_t total = stream_total(w), warm = stream_warm(w, total);
        bool use_poll = c->wake == WK_POLL;
        bool zc = c->tr == TR_SHBUF && c->api == API_ZC;
        uint64_t *buf = aligned_alloc(64, c->chunk);
        uint64_t off = 0, off0 = 0, calls0 = 0;
        struct window win = {.syscalls = -1};
        double t0 = 0;
        bool in_window = false;
        int r = 0;

        if (!buf)
                return fail(w, ENOMEM, "out of memory");
        while (off < total && r == 0) {
                if (zc) {
                        unsigned long l;
                        const unsigned char *q = shbuf_get_read_pointer(w->sb[0], &l);
                        if (!q) {
                                r = fail(w, errno, "shbuf_get_read_pointer: %s", strerror(errno));
                                break;
                        }
                        if (l == 0) {
                                r = sb_block(w, 0, use_poll);
                                continue;
                        }
                        uint64_t n = l < total - off ? l : total - off;
                        if (n % 8) {
                                r = fail(w, EPROTO, "readable run of %lu bytes is not a multiple of 8", l);
                                break;
                        }
                        /* Zero-copy: check (or checksum) the data where it lies. */
                        r = check_run(w, (const uint64_t *) (const void *) q, off, n / 8);
                        if (r == 0 && shbuf_inc_read_pointer(w->sb[0], n) < 0)
                                r = fail(w, errno, "shbuf_inc_read_pointer: %s", strerror(errno));
                        off += n;
                        w->calls++;
                } else {
                        r = recv_all(w, 0, (unsigned char *) buf, c->chunk, use_poll);
                        if (r == 0)
                                r = check_run(w, buf, off, c->chunk / 8);
                        off += c->chunk;
                }
                if (!in_window && off >= warm && off < total) {
                        window_begin(&win);
                        t0 = now_s();
                        in_window = true;
                        off0 = off;
                        calls0 = w->calls;
                }
        }
        double t1 = now_s();
        if (in_window) {
                window_end(&win, &w->out->win);
                w->out->bytes = off - off0;
                w->out->commits = w->calls - calls0;
                w->out->secs = t1 - t0;
        }
        free(buf);
        if (r == 0 && !in_window)
                return fail(w, EINVAL, "too little data for a measured window");
        return r;
}

/* Cache-hot memcpy of one block over and over, in one process. */
static int memcpy_run(struct worker *w) {
        const struct bcase *c = w->c;
        unsigned char *src = aligned_alloc(64, c->chunk), *dst = aligned_alloc(64, c->chunk);
        if (!src || !dst) {
                free(src);
                free(dst);
                return fail(w, ENOMEM, "out of memory");
        }
        for (uint64_t i = 0; i < c->chunk; i++)
                src[i] = (unsigned char) (i * 131 + 7);
        memset(dst, 0, c->chunk);
        uint64_t total = stream_total(w), reps = total / c->chunk, warm = reps / 8 + 1;
        for (uint64_t i = 0; i < warm; i++) {
                memcpy(dst, src, c->chunk);
                __asm__ volatile("" ::: "memory");
        }
        struct window win;
        window_begin(&win);
        double t0 = now_s();
        for (uint64_t i = 0; i < reps; i++) {
                memcpy(dst, src, c->chunk);
                /* Keeps the compiler from merging or dropping the copies. */
                __asm__ volatile("" ::: "memory");
        }
        double t1 = now_s();
        window_end(&win, &w->out->win);
        int r = memcmp(dst, src, c->chunk) ? fail(w, EBADMSG, "memcpy result differs") : 0;
        w->out->bytes = reps * c->chunk;
        w->out->secs = t1 - t0;
        free(src);
        free(dst);
        return r;
}

/* ---- ping-pong ----------------------------------------------------------- */

static int pp_send(struct worker *w, const unsigned char *m) {
        uint64_t done = 0;
        while (done < PP_MSG) {
                /* A 64-byte message never fills a ring, so blocking here is
                 * only a fallback and uses shbuf_wait() in both variants. */
                long n = send_some(w, 0, m + done, PP_MSG - done, false);
                if (n < 0)
                        return (int) n;
                done += (uint64_t) n;
        }
        return 0;
}

static int pingpong(struct worker *w) {
        const struct bcase *c = w->c;
        uint64_t n = c->warm_iters + c->iters;
        bool use_poll = c->wake == WK_POLL;
        uint64_t m[PP_MSG / 8] = {0}, reply[PP_MSG / 8];
        double *rtt = NULL;
        int r = 0;

        if (w->role == 0) {
                rtt = malloc(sizeof(*rtt) * (c->iters ? c->iters : 1));
                if (!rtt)
                        return fail(w, ENOMEM, "out of memory");
        }
        for (uint64_t i = 0; i < n && r == 0; i++) {
                if (w->role == 0) {
                        for (int j = 0; j < PP_MSG / 8; j++)
                                m[j] = i * 8 + (uint64_t) j;
                        double t0 = now_s();
                        r = pp_send(w, (const unsigned char *) m);
                        if (r == 0)
                                r = recv_all(w, 1, (unsigned char *) reply, PP_MSG, use_poll);
                        double t1 = now_s();
                        if (r == 0 && memcmp(m, reply, PP_MSG) != 0)
                                r = fail(w, EBADMSG, "round trip %" PRIu64 ": the echo differs", i);
                        if (i >= c->warm_iters)
                                rtt[i - c->warm_iters] = (t1 - t0) * 1e6;
                } else {
                        r = recv_all(w, 1, (unsigned char *) reply, PP_MSG, use_poll);
                        if (r == 0)
                                r = pp_send(w, (const unsigned char *) reply);
                }
        }
        if (r == 0 && w->role == 0) {
                qsort(rtt, c->iters, sizeof(*rtt), cmp_double);
                size_t k = c->iters;
                w->out->rtt_med = k % 2 ? rtt[k / 2] : (rtt[k / 2 - 1] + rtt[k / 2]) / 2;
                size_t i99 = (size_t) ceil(0.99 * (double) k);
                w->out->rtt_p99 = rtt[i99 ? i99 - 1 : 0];
                w->out->rtt_min = rtt[0];
                w->out->rtt_max = rtt[k - 1];
        }
        free(rtt);
        return r;
}

/* ---- idle ---------------------------------------------------------------- */

/*
 * The waiter first takes one byte (so that whatever the library sets up on
 * the first wait, such as a helper thread, is done), then blocks again. The
 * peer watches it from outside while it is blocked: the CPU clock of its
 * process and the context switch counts of its threads, sampled at the
 * start and the end of the idle window, before the final byte wakes it. So
 * the figure holds only what the blocked side costs while nothing happens.
 */
static int wait_nonempty(struct worker *w, long *returns) {
        for (;;) {
                int e = shbuf_is_empty(w->sb[0]);
                if (e == 0)
                        return 0;
                if (e < 0)
                        return fail(w, errno, "shbuf_is_empty: %s", strerror(errno));
                int r = sb_block(w, 0, w->c->wake == WK_POLL);
                if (r < 0)
                        return r;
                (*returns)++;
        }
}

static int idle_wait(struct worker *w) {
        struct window win;
        unsigned char x;
        long returns = 0;
        int r = wait_nonempty(w, &returns);
        if (r < 0)
                return r;
        if (shbuf_read(w->sb[0], &x, 1) != 1)
                return fail(w, errno, "shbuf_read: %s", strerror(errno));
        returns = 0;
        double t0 = now_s();
        window_begin(&win);
        r = wait_nonempty(w, &returns);
        window_end(&win, &w->out->win);
        w->out->secs = now_s() - t0;
        w->out->returns = returns;
        return r;
}

/* Sum a field such as "voluntary_ctxt_switches:" over the threads of pid. */
static long thread_sum(pid_t pid, const char *field) {
        char path[64];
        long sum = 0;
        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        DIR *d = opendir(path);
        if (!d)
                return -1;
        struct dirent *e;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.')
                        continue;
                char p2[400], line[128];
                snprintf(p2, sizeof(p2), "%s/%s/status", path, e->d_name);
                FILE *f = fopen(p2, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof(line), f))
                        if (strncmp(line, field, strlen(field)) == 0) {
                                char *end;
                                unsigned long long v = strtoull(line + strlen(field), &end, 10);
                                sum += (long) v;
                        }
                fclose(f);
        }
        closedir(d);
        return sum;
}

struct outside {
        long long cpu;
        long vcs, ivcs;
};

static int sample_outside(struct worker *w, clockid_t clk, pid_t pid, struct outside *ret) {
        struct timespec ts;
        if (clock_gettime(clk, &ts) < 0)
                return fail(w, errno, "reading the waiter's CPU clock: %s", strerror(errno));
        ret->cpu = (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
        ret->vcs = thread_sum(pid, "voluntary_ctxt_switches:");
        ret->ivcs = thread_sum(pid, "nonvoluntary_ctxt_switches:");
        if (ret->vcs < 0 || ret->ivcs < 0)
                return fail(w, errno, "reading /proc/%d/task: %s", (int) pid, strerror(errno));
        return 0;
}

static int sleep_s(struct worker *w, double secs) {
        struct timespec ts = {.tv_sec = (time_t) secs,
                              .tv_nsec = (long) ((secs - (double) (time_t) secs) * 1e9)};
        while (nanosleep(&ts, &ts) < 0)
                if (!retry_eintr(errno))
                        return fail(w, errno, "nanosleep: %s", strerror(errno));
        return 0;
}

static int idle_peer(struct worker *w, pid_t waiter) {
        unsigned char x = 1;
        clockid_t clk;
        struct outside a, b;
        int r;

        if ((r = clock_getcpuclockid(waiter, &clk)) != 0)
                return fail(w, r, "clock_getcpuclockid: %s", strerror(r));
        if (shbuf_write(w->sb[0], &x, 1) != 1)
                return fail(w, errno, "shbuf_write: %s", strerror(errno));
        /* Until the waiter has taken the byte, and a little longer for it
         * to block again. */
        for (int i = 0;; i++) {
                int e = shbuf_is_empty(w->sb[0]);
                if (e < 0)
                        return fail(w, errno, "shbuf_is_empty: %s", strerror(errno));
                if (e == 1)
                        break;
                if (i >= 1000)
                        return fail(w, ETIMEDOUT, "the idle waiter did not take its first byte");
                if ((r = sleep_s(w, 0.01)) < 0)
                        return r;
        }
        if ((r = sleep_s(w, 0.05)) < 0 || (r = sample_outside(w, clk, waiter, &a)) < 0)
                return r;
        double t0 = now_s();
        if ((r = sleep_s(w, w->c->idle_s)) < 0 || (r = sample_outside(w, clk, waiter, &b)) < 0)
                return r;
        w->out->secs = now_s() - t0;
        w->out->win.cpu = b.cpu - a.cpu;
        w->out->win.nvcsw = b.vcs - a.vcs;
        w->out->win.nivcsw = b.ivcs - a.ivcs;
        if (shbuf_write(w->sb[0], &x, 1) != 1)
                return fail(w, errno, "shbuf_write: %s", strerror(errno));
        return 0;
}

/* ---- the two sides' lifetime ------------------------------------------------ */

static int worker_setup(struct worker *w, struct pair *p) {
        const struct bcase *c = w->c;
        struct cmsg *o = w->out;

        if (c->tr != TR_SHBUF) {
                w->ring = p->ring;
                if (c->tr == TR_FIFO) {
                        /* The reader opens first (non-blocking, so it does not
                         * wait for the writer), then the writer. */
                        int fd = w->role == 0 ? open(p->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                                              : open(p->fifo, O_WRONLY | O_CLOEXEC);
                        if (fd < 0)
                                return fail(w, errno, "open %s: %s", p->fifo, strerror(errno));
                        if (w->role == 0 && fcntl(fd, F_SETFL, 0) < 0)
                                return fail(w, errno, "fcntl: %s", strerror(errno));
                        w->fd[0] = fd;
                } else if (c->kind == K_PINGPONG) {
                        /* tfd: pipe A→B (0 read, 1 write), pipe B→A (2 read, 3 write). */
                        w->fd[0] = w->role == 0 ? p->tfd[1] : p->tfd[3];
                        w->fd[1] = w->role == 0 ? p->tfd[2] : p->tfd[0];
                } else if (c->tr == TR_PIPE) {
                        w->fd[0] = w->role == 0 ? p->tfd[0] : p->tfd[1];
                } else if (c->tr == TR_SOCKET) {
                        w->fd[0] = p->tfd[w->role];
                }
                /* Drop the descriptors that belong to the other side, so that
                 * end of file and EPIPE work. */
                for (int i = 0; i < p->ntfd; i++)
                        if (p->tfd[i] != w->fd[0] && p->tfd[i] != w->fd[1])
                                close(p->tfd[i]);
                return 0;
        }

        shbuf_options opts;
        memset(&opts, 0, sizeof(opts));
        opts.backend = c->backend;
        int nbufs = c->kind == K_PINGPONG ? 2 : 1;
        for (int i = 0; i < nbufs; i++) {
                if (w->role == 0) {
                        w->sb[i] = shbuf_create_with(0, c->ring, &opts);
                        if (!w->sb[i])
                                return fail(w, errno, "shbuf_create (%s): %s", c->backend, strerror(errno));
                        o->keys[o->nkeys++] = shbuf_get_key(w->sb[i]);
                } else {
                        w->sb[i] = shbuf_open_with(p->keys[i], &opts);
                        if (!w->sb[i])
                                return fail(w, errno, "shbuf_open (%s): %s", c->backend, strerror(errno));
                }
        }
        for (int i = 0; i < nbufs && c->spin_us; i++)
                if (shbuf_set_spin(w->sb[i], c->spin_us) < 0)
                        return fail(w, errno, "shbuf_set_spin: %s", strerror(errno));
        if (c->kind == K_PINGPONG && w->role == 1) {
                /* The initiator sends through the first buffer. */
                shbuf *t = w->sb[0];
                w->sb[0] = w->sb[1];
                w->sb[1] = t;
        }
        /* Who needs the select descriptor: both sides of a stream, the
         * receiving side of each ping-pong direction, the idle waiter. */
        if (c->wake == WK_POLL && (c->kind != K_IDLE || w->role == 0)) {
                int i = c->kind == K_PINGPONG ? 1 : 0;
                if (shbuf_notify_enable(w->sb[i], 1) < 0)
                        return fail(w, errno, "shbuf_notify_enable: %s", strerror(errno));
                w->selfd[i] = shbuf_get_select_fd(w->sb[i]);
                if (w->selfd[i] < 0)
                        return fail(w, errno, "shbuf_get_select_fd: %s", strerror(errno));
        }
        return 0;
}

static int worker_run(struct worker *w) {
        switch (w->c->kind) {
        case K_STREAM:
                return w->role == 0 ? stream_consume(w) : stream_produce(w);
        case K_MEMCPY:
                return memcpy_run(w);
        case K_PINGPONG:
                return pingpong(w);
        case K_IDLE:
                return w->role == 0 ? idle_wait(w) : idle_peer(w, w->waiter);
        }
        return fail(w, EINVAL, "unknown kind of measurement");
}

static bool write_msg(int fd, const struct cmsg *m) {
        /* Smaller than PIPE_BUF, so one write is atomic. */
        ssize_t r;
        do
                r = write(fd, m, sizeof(*m));
        while (r < 0 && errno == EINTR);
        return r == (ssize_t) sizeof(*m);
}

/* Wait for the coordinator's go (1) or finish (end of file, 0); -1 on error. */
static int read_go(int fd) {
        char b;
        for (;;) {
                ssize_t r = read(fd, &b, 1);
                if (r >= 0)
                        return (int) r;
                if (errno != EINTR)
                        return -1;
                if (g_stop)
                        return -1;
        }
}

static _Noreturn void worker_main(struct pair *p, int role, int res_fd, int go_fd) {
        struct cmsg out;
        struct worker w = {.c = p->c, .verify = p->verify, .role = role, .waiter = p->pid[0], .out = &out};
        int status = 0;

        memset(&out, 0, sizeof(out));
        w.fd[0] = w.fd[1] = w.selfd[0] = w.selfd[1] = -1;
        handle_signals();
        /* Ends this side (through its normal cleanup) if the coordinator dies. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != cfg.coordinator)
                _exit(3);
        if (cfg.sys_tracepoint >= 0)
                g_counter = counter_open();

        out.type = MSG_READY;
        int r = worker_setup(&w, p);
        if (r == 0 && p->c->tr == TR_SOCKET) {
                socklen_t len = sizeof(int);
                getsockopt(w.fd[0], SOL_SOCKET, SO_SNDBUF, &out.sockbuf[0], &len);
                len = sizeof(int);
                getsockopt(w.fd[0], SOL_SOCKET, SO_RCVBUF, &out.sockbuf[1], &len);
        }
        if (!write_msg(res_fd, &out) || r < 0)
                status = 1;
        if (status == 0 && read_go(go_fd) == 1) {
                out.type = MSG_RESULT;
                (void) worker_run(&w);
                if (!write_msg(res_fd, &out) || out.err)
                        status = 1;
                /* Stay attached until the coordinator has every result. */
                (void) read_go(go_fd);
        } else {
                status = 1;
        }
        for (int i = 0; i < 2; i++)
                shbuf_free(w.sb[i]);
        _exit(status);
}

/* ---- the coordinator ------------------------------------------------------ */

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void pair_init(struct pair *p, struct bcase *c, bool verify) {
        memset(p, 0, sizeof(*p));
        p->c = c;
        p->verify = verify;
        p->nsides = c->kind == K_MEMCPY ? 1 : 2;
        for (int i = 0; i < 2; i++) {
                p->pid[i] = -1;
                p->res[i] = p->go[i] = -1;
        }
        for (int i = 0; i < 4; i++)
                p->tfd[i] = -1;
}

static void set_sockbuf(int fd, int size) {
        /* As root the FORCE variants pass net.core.[rw]mem_max. */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int transport_setup(struct pair *p, char *err, size_t errlen) {
        const struct bcase *c = p->c;
        static unsigned fifo_seq;

        switch (c->tr) {
        case TR_PIPE:
                if (pipe2(p->tfd, O_CLOEXEC) < 0 ||
                    (c->kind == K_PINGPONG && pipe2(p->tfd + 2, O_CLOEXEC) < 0))
                        break;
                p->ntfd = c->kind == K_PINGPONG ? 4 : 2;
                return 0;
        case TR_SOCKET:
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->tfd) < 0)
                        break;
                p->ntfd = 2;
                set_sockbuf(p->tfd[0], 4 * MIB);
                set_sockbuf(p->tfd[1], 4 * MIB);
                return 0;
        case TR_RING: {
                void *m = mmap(NULL, sizeof(struct naive_ring), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED)
                        break;
                p->ring = m; /* zero-filled: both indices 0 */
                return 0;
        }
        case TR_FIFO:
                snprintf(p->fifo, sizeof(p->fifo), "%s/fifo%u", cfg.tmpdir, fifo_seq++);
                if (mkfifo(p->fifo, 0600) < 0) {
                        p->fifo[0] = '\0';
                        break;
                }
                return 0;
        default:
                return 0;
        }
        snprintf(err, errlen, "setting up the %s: %s", c->name, strerror(errno));
        return -1;
}

static void transport_cleanup(struct pair *p) {
        for (int i = 0; i < 4; i++)
                close_fd(&p->tfd[i]);
        if (p->ring)
                munmap(p->ring, sizeof(struct naive_ring));
        p->ring = NULL;
        p->ntfd = 0;
        if (p->fifo[0])
                unlink(p->fifo);
        p->fifo[0] = '\0';
}

/* Read one message, waiting at most until deadline (seconds, CLOCK_MONOTONIC). */
static int read_msg(int fd, struct cmsg *m, double deadline) {
        size_t got = 0;
        while (got < sizeof(*m)) {
                double left = deadline - now_s();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                int n = poll(&pf, 1, (int) (left * 1000) + 1);
                if (n < 0 && errno == EINTR && !g_stop)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        continue;
                ssize_t r = read(fd, (char *) m + got, sizeof(*m) - got);
                if (r < 0 && errno == EINTR && !g_stop)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -EPIPE;
                got += (size_t) r;
        }
        return 0;
}

static void close_other_fds(const int *keep, int nkeep) {
        int fds[256], n = 0;
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return;
        int self = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)) && n < 256) {
                char *end;
                errno = 0;
                unsigned long long fd = strtoull(e->d_name, &end, 10);
                if (e->d_name[0] == '.' || errno || *end || fd <= 2 || fd > INT_MAX || (int) fd == self)
                        continue;
                bool k = false;
                for (int i = 0; i < nkeep; i++)
                        k |= keep[i] == (int) fd;
                if (!k)
                        fds[n++] = (int) fd;
        }
        closedir(d);
        for (int i = 0; i < n; i++)
                close(fds[i]);
}

static int spawn(struct pair *p, int role) {
        int res[2], go[2];
        if (pipe2(res, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(go, O_CLOEXEC) < 0) {
                int e = -errno;
                close(res[0]);
                close(res[1]);
                return e;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int e = -errno;
                close(res[0]);
                close(res[1]);
                close(go[0]);
                close(go[1]);
                return e;
        }
        if (pid == 0) {
                /* Other sides' pipes (also of other pairs running at the
                 * same time) are the coordinator's business: holding them
                 * would hide their end of file. */
                int keep[6] = {res[1], go[0], p->tfd[0], p->tfd[1], p->tfd[2], p->tfd[3]};
                close_other_fds(keep, 6);
                worker_main(p, role, res[1], go[0]);
        }
        close(res[1]);
        close(go[0]);
        p->pid[role] = pid;
        p->res[role] = res[0];
        p->go[role] = go[1];
        return 0;
}

/* Reap both sides; after grace seconds send SIGTERM, one second later SIGKILL. */
static void reap(struct pair *p, double grace) {
        double start = now_s();
        int sent = 0;
        for (;;) {
                bool alive = false;
                for (int i = 0; i < 2; i++) {
                        if (p->pid[i] <= 0)
                                continue;
                        pid_t r = waitpid(p->pid[i], NULL, WNOHANG);
                        if (r == p->pid[i] || (r < 0 && errno == ECHILD))
                                p->pid[i] = -1;
                        else
                                alive = true;
                }
                if (!alive)
                        return;
                double t = now_s() - start;
                int sig = t >= grace + 1 ? SIGKILL : t >= grace ? SIGTERM : 0;
                if (sig && sig != sent) {
                        for (int i = 0; i < 2; i++)
                                if (p->pid[i] > 0)
                                        kill(p->pid[i], sig);
                        sent = sig;
                }
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 2000000};
                nanosleep(&ts, NULL);
        }
}

/* Whatever happened, leave nothing behind: processes, buffers, FIFO. */
static void pair_finish(struct pair *p, bool ok, char *err, size_t errlen) {
        for (int i = 0; i < 2; i++)
                close_fd(&p->go[i]); /* "finish", or the way out of a blocked read */
        reap(p, ok ? 10 : 0);
        for (int i = 0; i < 2; i++)
                close_fd(&p->res[i]);
        transport_cleanup(p);
        for (int i = 0; i < p->nkeys; i++) {
                shbuf_info info;
                if (shbuf_inspect(p->keys[i], p->c->backend, &info) < 0)
                        continue;
                (void) shbuf_remove(p->keys[i], p->c->backend);
                /* After a clean run the provider's shbuf_free() should have
                 * removed everything: that is a library bug worth reporting. */
                if (ok && err && !err[0])
                        snprintf(err, errlen, "buffer %#x was left behind after shbuf_free()",
                                 (unsigned) p->keys[i]);
        }
}

static const char *side_name(const struct bcase *c, int role) {
        switch (c->kind) {
        case K_STREAM:
                return role ? "producer" : "consumer";
        case K_PINGPONG:
                return role ? "responder" : "initiator";
        case K_IDLE:
                return role ? "idle peer" : "idle waiter";
        default:
                return "worker";
        }
}

/* Start both sides and wait until both are ready. */
static int pair_start(struct pair *p, char *err, size_t errlen) {
        if (transport_setup(p, err, errlen) < 0)
                return -1;
        for (int role = 0; role < p->nsides; role++) {
                int r = spawn(p, role);
                if (r < 0) {
                        snprintf(err, errlen, "fork: %s", strerror(-r));
                        return -1;
                }
                r = read_msg(p->res[role], &p->msg[role], now_s() + 20);
                if (r < 0) {
                        snprintf(err, errlen, "%s did not get ready: %s", side_name(p->c, role),
                                 strerror(-r));
                        return -1;
                }
                if (p->msg[role].type != MSG_READY || p->msg[role].err) {
                        snprintf(err, errlen, "%s: %s", side_name(p->c, role), p->msg[role].what);
                        return -1;
                }
                if (role == 0) {
                        /* The second side is forked from here and finds the keys in p. */
                        p->nkeys = p->msg[0].nkeys;
                        for (int i = 0; i < p->nkeys; i++)
                                p->keys[i] = p->msg[0].keys[i];
                }
        }
        /* The sides hold their transport ends now. */
        for (int i = 0; i < 4; i++)
                close_fd(&p->tfd[i]);
        return 0;
}

static int pair_go(struct pair *p, char *err, size_t errlen) {
        for (int role = 0; role < p->nsides; role++)
                if (write(p->go[role], "g", 1) != 1) {
                        snprintf(err, errlen, "starting the %s: %s", side_name(p->c, role), strerror(errno));
                        return -1;
                }
        return 0;
}

static int pair_collect(struct pair *p, double deadline, char *err, size_t errlen) {
        /* Results arrive in any order; an error on one side may leave the
         * other one blocked, so stop at the first error. */
        bool done[2] = {p->nsides < 1, p->nsides < 2};
        while (!done[0] || !done[1]) {
                struct pollfd pf[2];
                int idx[2], n = 0;
                for (int i = 0; i < 2; i++)
                        if (!done[i]) {
                                pf[n] = (struct pollfd){.fd = p->res[i], .events = POLLIN};
                                idx[n++] = i;
                        }
                double left = deadline - now_s();
                if (left <= 0) {
                        snprintf(err, errlen, "timed out");
                        return -1;
                }
                int k = poll(pf, (nfds_t) n, (int) (left * 1000) + 1);
                if (k < 0 && errno == EINTR && !g_stop)
                        continue;
                if (k < 0) {
                        snprintf(err, errlen, "interrupted");
                        return -1;
                }
                for (int j = 0; j < n; j++) {
                        if (!pf[j].revents)
                                continue;
                        int i = idx[j];
                        int r = read_msg(p->res[i], &p->msg[i], deadline);
                        if (r < 0) {
                                snprintf(err, errlen, "%s: %s", side_name(p->c, i),
                                         r == -EPIPE ? "exited without a result" : strerror(-r));
                                return -1;
                        }
                        if (p->msg[i].err) {
                                snprintf(err, errlen, "%s: %s", side_name(p->c, i), p->msg[i].what);
                                return -1;
                        }
                        done[i] = true;
                }
        }
        return 0;
}

static double pair_deadline(const struct bcase *c) {
        switch (c->kind) {
        case K_STREAM:
        case K_MEMCPY:
                /* Anything slower than 16 MiB/s is broken, not slow. */
                return now_s() + 10 + (double) c->total / (16.0 * MIB);
        case K_PINGPONG:
                return now_s() + 10 + (double) (c->iters + c->warm_iters) * 1e-3;
        case K_IDLE:
                return now_s() + 10 + c->idle_s;
        }
        return now_s() + 60;
}

static void per_mib(struct sample *s, int side, const struct cmsg *m) {
        double mib = (double) m->bytes / MIB;
        if (mib <= 0)
                return;
        s->cs_per_mib[side] = (double) (m->win.nvcsw + m->win.nivcsw) / mib;
        s->vcs_per_mib[side] = (double) m->win.nvcsw / mib;
        s->sys_per_mib[side] = m->win.syscalls >= 0 ? (double) m->win.syscalls / mib : NAN;
        s->cpu_us_per_mib[side] = (double) m->win.cpu / 1e3 / mib;
        s->commits_per_mib[side] = (double) m->commits / mib;
}

static void fill_sample(struct bcase *c, int round, struct pair *p) {
        struct sample *s = &c->smp[round];
        memset(s, 0, sizeof(*s));
        for (int i = 0; i < 2; i++)
                s->sys_per_mib[i] = NAN;
        const struct cmsg *a = &p->msg[0], *b = &p->msg[1];
        switch (c->kind) {
        case K_STREAM:
                s->value = a->secs > 0 ? (double) a->bytes / MIB / a->secs : NAN;
                per_mib(s, SIDE_CONSUMER, a);
                per_mib(s, SIDE_PRODUCER, b);
                break;
        case K_MEMCPY:
                s->value = a->secs > 0 ? (double) a->bytes / MIB / a->secs : NAN;
                break;
        case K_PINGPONG:
                s->value = a->rtt_med;
                s->p99 = a->rtt_p99;
                s->rtt_min = a->rtt_min;
                s->rtt_max = a->rtt_max;
                break;
        case K_IDLE:
                /* The peer's outside view of the blocked waiter. */
                s->idle_secs = b->secs;
                s->value = b->secs > 0 ? (double) b->win.cpu / 1e3 * 10.0 / b->secs : NAN;
                s->idle_vcs = b->win.nvcsw;
                s->idle_ivcs = b->win.nivcsw;
                /* The waiter's own view, final wake-up included. */
                s->idle_returns = a->returns;
                s->wake_cpu_us = (double) a->win.cpu / 1e3;
                s->wake_vcs = a->win.nvcsw;
                break;
        }
        if (c->tr == TR_SOCKET) {
                c->sockbuf[0] = a->sockbuf[0];
                c->sockbuf[1] = a->sockbuf[1];
        }
        c->have[round] = true;
        if (round == 0)
                c->verified = true;
}

static void case_failed(struct bcase *c, int round, const char *err) {
        c->failed = true;
        if (round > 0)
                snprintf(c->err, sizeof(c->err), "round %d: %.200s", round, err);
        else
                snprintf(c->err, sizeof(c->err), "verification round: %.200s", err);
}

/* One measurement of one case (or, for idle cases, all of them at once). */
static void run_one(struct bcase *c, int round) {
        struct pair p;
        char err[256] = "";

        pair_init(&p, c, round == 0);
        int r = pair_start(&p, err, sizeof(err));
        if (r == 0)
                r = pair_go(&p, err, sizeof(err));
        if (r == 0)
                r = pair_collect(&p, pair_deadline(c), err, sizeof(err));
        pair_finish(&p, r == 0, err, sizeof(err));
        if (r == 0 && !err[0])
                fill_sample(c, round, &p);
        else
                case_failed(c, round, err);
}

static void run_idle_all(int *idx, int n) {
        struct pair p[MAX_CASES];
        char err[MAX_CASES][256];
        int ok[MAX_CASES];

        /* Idle sides use no CPU, so measuring them side by side costs one
         * window instead of one per case and disturbs nothing. */
        for (int i = 0; i < n; i++) {
                err[i][0] = '\0';
                pair_init(&p[i], &cases[idx[i]], false);
                ok[i] = pair_start(&p[i], err[i], sizeof(err[i])) == 0;
        }
        for (int i = 0; i < n; i++)
                if (ok[i])
                        ok[i] = pair_go(&p[i], err[i], sizeof(err[i])) == 0;
        for (int i = 0; i < n; i++)
                if (ok[i])
                        ok[i] = pair_collect(&p[i], pair_deadline(p[i].c), err[i], sizeof(err[i])) == 0;
        for (int i = 0; i < n; i++) {
                pair_finish(&p[i], ok[i], err[i], sizeof(err[i]));
                if (ok[i] && !err[i][0]) {
                        fill_sample(&cases[idx[i]], 1, &p[i]);
                        cases[idx[i]].verified = true;
                } else {
                        case_failed(&cases[idx[i]], 1, err[i]);
                }
        }
}

/* ---- the plan ------------------------------------------------------------- */

static unsigned goal_bit(const char *id) {
        for (size_t i = 0; i < N_GOAL_IDS; i++)
                if (strcmp(goal_ids[i], id) == 0)
                        return 1u << i;
        return 0;
}

static unsigned goal_bits(const char *list) {
        unsigned m = 0;
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", list);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                m |= goal_bit(t);
        return m;
}

static struct bcase *find_case(const char *name) {
        for (int i = 0; i < ncases; i++)
                if (strcmp(cases[i].name, name) == 0)
                        return &cases[i];
        return NULL;
}

static struct bcase *add_case(const char *name, enum kind kind, enum transport tr, const char *goals) {
        unsigned bits = goal_bits(goals);
        if (cfg.only && !(bits & cfg.only))
                return NULL;
        if (ncases >= MAX_CASES)
                return NULL;
        struct bcase *c = &cases[ncases++];
        memset(c, 0, sizeof(*c));
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->kind = kind;
        c->tr = tr;
        c->goals = bits;
        c->baseline = tr != TR_SHBUF;
        return c;
}

static void add_stream(const char *name, enum transport tr, const char *backend, enum api api,
                       enum wake wake, enum work work, uint64_t chunk, uint64_t total, const char *goals) {
        struct bcase *c = add_case(name, K_STREAM, tr, goals);
        if (!c)
                return;
        c->backend = backend;
        c->api = api;
        c->wake = wake;
        c->work = work;
        c->chunk = chunk;
        c->total = total;
        c->ring = MIB;
}

static const char *const variant_names[] = {"copy/wait", "copy/poll", "zc/wait"};
static const enum api variant_api[] = {API_COPY, API_COPY, API_ZC};
static const enum wake variant_wake[] = {WK_WAIT, WK_POLL, WK_WAIT};
#define N_VARIANTS 3

static void plan(void) {
        char name[48];

        /* Baselines and candidates alternate in the list, so that each
         * candidate runs next to a baseline within a round. */
        add_stream("pipe@64K", TR_PIPE, NULL, API_COPY, WK_WAIT, WORK_PLAIN, 64 * KIB, cfg.stream_total,
                   "T1,T6");
        for (int b = 0; b < cfg.nbackends; b++) {
                for (int v = 0; v < N_VARIANTS; v++) {
                        snprintf(name, sizeof(name), "%s/%s@64K", cfg.backends[b], variant_names[v]);
                        add_stream(name, TR_SHBUF, cfg.backends[b], variant_api[v], variant_wake[v],
                                   WORK_PLAIN, 64 * KIB, cfg.stream_total, "T1,T2,T3,T6");
                        if (b == 0 && v == 0)
                                add_stream("fifo@64K", TR_FIFO, NULL, API_COPY, WK_WAIT, WORK_PLAIN,
                                           64 * KIB, cfg.stream_total, "T1");
                        if (b == 0 && v == 1)
                                add_stream("socketpair@64K", TR_SOCKET, NULL, API_COPY, WK_WAIT, WORK_PLAIN,
                                           64 * KIB, cfg.stream_total, "T3");
                        if (b == 0 && v == 2) {
                                struct bcase *c = add_case("memcpy@1M", K_MEMCPY, TR_NONE, "T2");
                                if (c) {
                                        c->chunk = MIB;
                                        c->total = cfg.memcpy_total;
                                }
                                c = add_case("memcpy@64K", K_MEMCPY, TR_NONE, "T2");
                                if (c) {
                                        c->chunk = 64 * KIB;
                                        c->total = cfg.memcpy_total;
                                }
                                add_stream("ring@64K", TR_RING, NULL, API_COPY, WK_WAIT, WORK_PLAIN,
                                           64 * KIB, cfg.stream_total, "T2,T3");
                        }
                }
        }
        add_stream("pipe@4K", TR_PIPE, NULL, API_COPY, WK_WAIT, WORK_PLAIN, 4 * KIB, cfg.small_total, "T4");
        for (int b = 0; b < cfg.nbackends; b++)
                for (int v = 0; v < N_VARIANTS; v++) {
                        snprintf(name, sizeof(name), "%s/%s@4K", cfg.backends[b], variant_names[v]);
                        add_stream(name, TR_SHBUF, cfg.backends[b], variant_api[v], variant_wake[v],
                                   WORK_PLAIN, 4 * KIB, cfg.small_total, "T4");
                        if (b == 0 && v == 1)
                                add_stream("ring@4K", TR_RING, NULL, API_COPY, WK_WAIT, WORK_PLAIN, 4 * KIB,
                                           cfg.small_total, "T4");
                }
        for (int b = 0; b < cfg.nbackends; b++) {
                snprintf(name, sizeof(name), "%s/fill+sum/copy@64K", cfg.backends[b]);
                add_stream(name, TR_SHBUF, cfg.backends[b], API_COPY, WK_WAIT, WORK_FILL, 64 * KIB,
                           cfg.fill_total, "T5");
                snprintf(name, sizeof(name), "%s/fill+sum/zc@64K", cfg.backends[b]);
                add_stream(name, TR_SHBUF, cfg.backends[b], API_ZC, WK_WAIT, WORK_FILL, 64 * KIB,
                           cfg.fill_total, "T5");
#ifdef HAVE_STREAM_FILL
                snprintf(name, sizeof(name), "%s/fill+sum/zc-nt@64K", cfg.backends[b]);
                add_stream(name, TR_SHBUF, cfg.backends[b], API_ZC, WK_WAIT, WORK_FILL_NT, 64 * KIB,
                           cfg.fill_total, "T5");
#endif
        }

        struct bcase *c;
        uint64_t warm = cfg.pp_iters / 10 ? cfg.pp_iters / 10 : 1;
        c = add_case("pingpong/pipe", K_PINGPONG, TR_PIPE, "L1,L4");
        if (c) {
                c->iters = cfg.pp_iters;
                c->warm_iters = warm;
        }
        for (int b = 0; b < cfg.nbackends; b++) {
                bool posix = strcmp(cfg.backends[b], "posix") == 0;
                for (int wk = 0; wk < 2; wk++) {
                        snprintf(name, sizeof(name), "pingpong/%s/%s", cfg.backends[b],
                                 wk ? "poll" : "wait");
                        /* L2 is about the POSIX backend, L3 about SysV. */
                        const char *g = wk == 0 ? "L1,L4" : posix ? "L2,L4" : "L3,L4";
                        c = add_case(name, K_PINGPONG, TR_SHBUF, g);
                        if (c) {
                                c->backend = cfg.backends[b];
                                c->wake = wk ? WK_POLL : WK_WAIT;
                                c->ring = 64 * KIB;
                                c->iters = cfg.pp_iters;
                                c->warm_iters = warm;
                        }
                        if (wk == 0) {
                                /* L5: the same with the optional bounded spin. */
                                snprintf(name, sizeof(name), "pingpong/%s/spin", cfg.backends[b]);
                                struct bcase *s = add_case(name, K_PINGPONG, TR_SHBUF, "L5,L4");
                                if (s) {
                                        s->backend = cfg.backends[b];
                                        s->wake = WK_WAIT;
                                        s->ring = 64 * KIB;
                                        s->spin_us = 50;
                                        s->iters = cfg.pp_iters;
                                        s->warm_iters = warm;
                                }
                        }
                        if (b == 0 && wk == 0) {
                                c = add_case("pingpong/pipe+poll", K_PINGPONG, TR_PIPE, "L2,L3,L4");
                                if (c) {
                                        c->wake = WK_POLL;
                                        c->iters = cfg.pp_iters;
                                        c->warm_iters = warm;
                                }
                        }
                }
        }

        for (int b = 0; b < cfg.nbackends; b++)
                for (int wk = 0; wk < 2; wk++) {
                        snprintf(name, sizeof(name), "idle/%s/%s", cfg.backends[b], wk ? "poll" : "wait");
                        c = add_case(name, K_IDLE, TR_SHBUF, "L6");
                        if (c) {
                                c->backend = cfg.backends[b];
                                c->wake = wk ? WK_POLL : WK_WAIT;
                                c->ring = 4 * KIB;
                                c->idle_s = cfg.idle_s;
                        }
                }
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...) {
        if (!cfg.progress)
                return;
        va_list ap;
        va_start(ap, fmt);
        fputs("\r\033[K", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fflush(stderr);
}

static void run_all(void) {
        int idle[MAX_CASES], nidle = 0;

        for (int round = 0; round <= cfg.rounds && !g_stop; round++) {
                for (int k = 0; k < ncases && !g_stop; k++) {
                        /* Odd rounds run the list backwards, against drift. */
                        int i = round % 2 ? ncases - 1 - k : k;
                        struct bcase *c = &cases[i];
                        if (c->kind == K_IDLE || c->failed)
                                continue;
                        progress("%s %d/%d: %s", round ? "round" : "verification round", round, cfg.rounds,
                                 c->name);
                        run_one(c, round);
                }
        }
        for (int i = 0; i < ncases; i++)
                if (cases[i].kind == K_IDLE)
                        idle[nidle++] = i;
        if (nidle && !g_stop) {
                progress("idle: %d s", cfg.idle_s);
                run_idle_all(idle, nidle);
        }
        progress("%s", "");
}

/* ---- goals ---------------------------------------------------------------- */

enum op { OP_GE, OP_LE };
enum metric {
        M_THROUGHPUT_RATIO,
        M_RTT_RATIO,
        M_TAIL,
        M_SYSCALLS,
        M_CSWITCH,
        M_IDLE_CPU,
        M_IDLE_WAKEUPS,
        M_NONE
};

struct goal_row {
        const char *id;
        const char *backend;
        const struct bcase *cand, *base;
        enum metric metric;
        const char *what;
        enum op op;
        double must, target; /* target NAN when the goal has none */
        bool info;           /* reported, not judged */
        double vals[MAX_ROUNDS + 1];
        int nvals;
        double med, min, max;
        const char *status; /* pass, fail, error, n/a */
        int target_met;     /* 1, 0, -1 (no target or not judged) */
        char note[200];
};

static struct goal_row goals[MAX_GOALS];
static int ngoals;

static struct goal_row *add_goal(const char *id, const char *backend, const struct bcase *cand,
                                 const struct bcase *base, enum metric m, const char *what, enum op op,
                                 double must, double target) {
        if (ngoals >= MAX_GOALS)
                return NULL;
        struct goal_row *g = &goals[ngoals++];
        memset(g, 0, sizeof(*g));
        g->id = id;
        g->backend = backend;
        g->cand = cand;
        g->base = base;
        g->metric = m;
        g->what = what;
        g->op = op;
        g->must = must;
        g->target = target;
        g->target_met = -1;
        g->med = g->min = g->max = NAN;
        return g;
}

static bool meets(enum op op, double med, double min, double max, double goal) {
        /* The median meets the goal and the worst round is within 80% of it. */
        if (op == OP_GE)
                return med >= goal && min >= 0.8 * goal;
        return med <= goal && max <= goal / 0.8;
}

static double worst_side(const double v[2]) {
        if (!isfinite(v[0]) || !isfinite(v[1]))
                return NAN;
        return v[0] > v[1] ? v[0] : v[1];
}

static void judge(struct goal_row *g) {
        const struct bcase *c = g->cand, *b = g->base;

        if (g->metric == M_NONE)
                return; /* status and note set by the caller */
        if (!c || (b == NULL && (g->metric == M_THROUGHPUT_RATIO || g->metric == M_RTT_RATIO))) {
                g->status = "n/a";
                snprintf(g->note, sizeof(g->note), "not measured");
                return;
        }
        if (c->failed || (b && b->failed)) {
                g->status = "error";
                snprintf(g->note, sizeof(g->note), "%.40s: %.150s", c->failed ? c->name : b->name,
                         c->failed ? c->err : b->err);
                return;
        }
        /* Idle cases are measured once, in one long window. */
        int last = c->kind == K_IDLE ? 1 : cfg.rounds;
        for (int r = 1; r <= last; r++) {
                const struct sample *s = &c->smp[r];
                double v = NAN;
                if (!c->have[r] || (b && !b->have[r]))
                        continue;
                switch (g->metric) {
                case M_THROUGHPUT_RATIO:
                case M_RTT_RATIO:
                        v = s->value / b->smp[r].value;
                        break;
                case M_TAIL:
                        v = s->p99 / s->value;
                        break;
                case M_SYSCALLS:
                        v = worst_side(s->sys_per_mib);
                        break;
                case M_CSWITCH:
                        v = worst_side(s->cs_per_mib);
                        break;
                case M_IDLE_CPU:
                        v = s->value;
                        break;
                case M_IDLE_WAKEUPS:
                        v = (double) s->idle_vcs;
                        break;
                case M_NONE:
                        break;
                }
                g->vals[g->nvals++] = v;
        }
        summarize(g->vals, g->nvals, &g->med, &g->min, &g->max);
        if (!isfinite(g->med)) {
                g->status = "n/a";
                if (!g->note[0])
                        snprintf(g->note, sizeof(g->note), "could not be measured here");
                return;
        }
        g->status = meets(g->op, g->med, g->min, g->max, g->must) ? "pass" : "fail";
        if (isfinite(g->target))
                g->target_met = meets(g->op, g->med, g->min, g->max, g->target);
}

static void build_goals(void) {
        char name[48];
        struct bcase *pipe64 = find_case("pipe@64K"), *fifo64 = find_case("fifo@64K");
        struct bcase *sock64 = find_case("socketpair@64K"), *mem1m = find_case("memcpy@1M");
        struct bcase *pipe4k = find_case("pipe@4K");
        struct bcase *ring64 = find_case("ring@64K"), *ring4k = find_case("ring@4K");
        struct bcase *pp_pipe = find_case("pingpong/pipe"), *pp_pipe_poll = find_case("pingpong/pipe+poll");
        unsigned all = cfg.only ? cfg.only : ~0u;
        bool have_sysv = false, have_posix = false;

        for (int b = 0; b < cfg.nbackends; b++) {
                const char *be = cfg.backends[b];
                have_sysv |= strcmp(be, "sysv") == 0;
                have_posix |= strcmp(be, "posix") == 0;
                for (int v = 0; v < N_VARIANTS; v++) {
                        snprintf(name, sizeof(name), "%s/%s@64K", be, variant_names[v]);
                        struct bcase *c = find_case(name);
                        if (all & goal_bit("T1")) {
                                add_goal("T1", be, c, pipe64, M_THROUGHPUT_RATIO, "throughput / pipe", OP_GE,
                                         5, 7);
                                add_goal("T1", be, c, fifo64, M_THROUGHPUT_RATIO, "throughput / FIFO", OP_GE,
                                         5, NAN);
                        }
                        if (all & goal_bit("T2")) {
                                add_goal("T2", be, c, mem1m, M_THROUGHPUT_RATIO, "throughput / memcpy 1M",
                                         OP_GE, 0.65, NAN);
                                /* What copying can reach here at all, shown beside it. */
                                if (variant_api[v] == API_COPY)
                                        add_goal("T2", be, c, ring64, M_THROUGHPUT_RATIO,
                                                 "throughput / naive spinning ring", OP_GE, 1, NAN)
                                                ->info = true;
                        }
                        if (all & goal_bit("T3"))
                                add_goal("T3", be, c, sock64, M_THROUGHPUT_RATIO, "throughput / socketpair",
                                         OP_GE, 2, NAN);
                        if (all & goal_bit("T6")) {
                                add_goal("T6", be, c, NULL, M_SYSCALLS, "system calls per MiB (worse side)",
                                         OP_LE, 10, NAN);
                                add_goal("T6", be, c, NULL, M_CSWITCH,
                                         "context switches per MiB (worse side)", OP_LE, 1, NAN);
                        }
                        snprintf(name, sizeof(name), "%s/%s@4K", be, variant_names[v]);
                        if (all & goal_bit("T4")) {
                                add_goal("T4", be, find_case(name), pipe4k, M_THROUGHPUT_RATIO,
                                         "throughput / pipe", OP_GE, 3, NAN);
                                if (variant_api[v] == API_COPY)
                                        add_goal("T4", be, find_case(name), ring4k, M_THROUGHPUT_RATIO,
                                                 "throughput / naive spinning ring", OP_GE, 1, NAN)
                                                ->info = true;
                        }
                }
                if (all & goal_bit("T5")) {
                        snprintf(name, sizeof(name), "%s/fill+sum/zc@64K", be);
                        struct bcase *zc = find_case(name);
                        snprintf(name, sizeof(name), "%s/fill+sum/copy@64K", be);
                        struct bcase *copy = find_case(name);
                        add_goal("T5", be, zc, copy, M_THROUGHPUT_RATIO, "zero-copy / copying API", OP_GE,
                                 1.1, 1.25);
                        /* What a zero-copy producer gains by filling the way
                         * shbuf_write() copies, shown beside it. */
                        snprintf(name, sizeof(name), "%s/fill+sum/zc-nt@64K", be);
                        struct bcase *nt = find_case(name);
                        if (nt)
                                add_goal("T5", be, nt, copy, M_THROUGHPUT_RATIO,
                                         "zero-copy, streaming-store fill / copying API", OP_GE, 1.1, 1.25)
                                        ->info = true;
                }
                snprintf(name, sizeof(name), "pingpong/%s/wait", be);
                struct bcase *ppw = find_case(name);
                snprintf(name, sizeof(name), "pingpong/%s/poll", be);
                struct bcase *ppp = find_case(name);
                if (all & goal_bit("L1"))
                        add_goal("L1", be, ppw, pp_pipe, M_RTT_RATIO, "round trip / pipe", OP_LE, 1.1, NAN);
                if (strcmp(be, "posix") == 0 && (all & goal_bit("L2")))
                        add_goal("L2", be, ppp, pp_pipe_poll, M_RTT_RATIO, "round trip / pipe+poll", OP_LE,
                                 1.3, 1.0);
                if (strcmp(be, "sysv") == 0 && (all & goal_bit("L3")))
                        add_goal("L3", be, ppp, pp_pipe_poll, M_RTT_RATIO, "round trip / pipe+poll", OP_LE,
                                 1.7, NAN);
                if (all & goal_bit("L4")) {
                        add_goal("L4", be, ppw, NULL, M_TAIL, "p99 / median round trip", OP_LE, 2, NAN);
                        add_goal("L4", be, ppp, NULL, M_TAIL, "p99 / median round trip", OP_LE, 2, NAN);
                }
                if (all & goal_bit("L6")) {
                        for (int wk = 0; wk < 2; wk++) {
                                snprintf(name, sizeof(name), "idle/%s/%s", be, wk ? "poll" : "wait");
                                struct bcase *ic = find_case(name);
                                add_goal("L6", be, ic, NULL, M_IDLE_CPU, "CPU us per 10 s blocked", OP_LE,
                                         1000, NAN);
                                /* Measured while blocked, before the final wake-up:
                                 * any switch there is a periodic wake-up. */
                                add_goal("L6", be, ic, NULL, M_IDLE_WAKEUPS, "wake-ups while blocked", OP_LE,
                                         0, NAN);
                        }
                }
        }
        if (all & goal_bit("L4")) {
                add_goal("L4", "-", pp_pipe, NULL, M_TAIL, "p99 / median round trip", OP_LE, 2, NAN)->info =
                        true;
                add_goal("L4", "-", pp_pipe_poll, NULL, M_TAIL, "p99 / median round trip", OP_LE, 2, NAN)
                        ->info = true;
        }
        /* What copying through shared memory reaches here without the
         * library: the naive ring (no lock, no sleeping, the same copies as
         * the copying API) held to the copying goals against the same
         * baselines, round by round. Where it fails, the goal asks the
         * copying API for more than a bare ring delivers on this machine. */
        if (all & goal_bit("T2"))
                add_goal("T2", "-", ring64, mem1m, M_THROUGHPUT_RATIO, "naive spinning ring / memcpy 1M",
                         OP_GE, 0.65, NAN)
                        ->info = true;
        if (all & goal_bit("T3"))
                add_goal("T3", "-", ring64, sock64, M_THROUGHPUT_RATIO, "naive spinning ring / socketpair",
                         OP_GE, 2, NAN)
                        ->info = true;
        if (all & goal_bit("T4"))
                add_goal("T4", "-", ring4k, pipe4k, M_THROUGHPUT_RATIO, "naive spinning ring / pipe", OP_GE,
                         3, NAN)
                        ->info = true;
        if (all & goal_bit("T6"))
                add_goal("T6", "-", pipe64, NULL, M_SYSCALLS, "system calls per MiB (worse side)", OP_LE, 10,
                         NAN)
                        ->info = true;
        if ((all & goal_bit("L2")) && !have_posix) {
                struct goal_row *g = add_goal("L2", "posix", NULL, NULL, M_NONE, "round trip / pipe+poll",
                                              OP_LE, 1.3, 1.0);
                g->status = "n/a";
                snprintf(g->note, sizeof(g->note), "the POSIX backend is not compiled in (or not selected)");
        }
        if ((all & goal_bit("L3")) && !have_sysv) {
                struct goal_row *g = add_goal("L3", "sysv", NULL, NULL, M_NONE, "round trip / pipe+poll",
                                              OP_LE, 1.7, NAN);
                g->status = "n/a";
                snprintf(g->note, sizeof(g->note), "the SysV backend is not compiled in (or not selected)");
        }
        for (int b = 0; b < cfg.nbackends && (all & goal_bit("L5")); b++) {
                snprintf(name, sizeof(name), "pingpong/%s/spin", cfg.backends[b]);
                struct bcase *sc = find_case(name);
                /* shbuf_set_spin(sb, 50): both sides spin up to 50 us before sleeping. */
                add_goal("L5", cfg.backends[b], sc, pp_pipe, M_RTT_RATIO, "spinning round trip / pipe",
                         OP_LE, 0.1, 0.05);
                add_goal("L4", cfg.backends[b], sc, NULL, M_TAIL, "p99 / median round trip", OP_LE, 2, NAN);
        }
        for (int i = 0; i < ngoals; i++)
                judge(&goals[i]);
}

static const char *goal_summary(const char *id) {
        bool any = false, failed = false, error = false, judged = false;
        if (cfg.only && !(cfg.only & goal_bit(id)))
                return "skipped";
        for (int i = 0; i < ngoals; i++) {
                const struct goal_row *g = &goals[i];
                if (strcmp(g->id, id) != 0 || g->info)
                        continue;
                any = true;
                if (strcmp(g->status, "n/a") == 0)
                        continue;
                judged = true;
                error |= strcmp(g->status, "error") == 0;
                failed |= strcmp(g->status, "fail") == 0;
        }
        if (!any || !judged)
                return "n/a";
        return error ? "error" : failed ? "fail" : "pass";
}

/* ---- output --------------------------------------------------------------- */

static const char *unit_of(const struct bcase *c) {
        switch (c->kind) {
        case K_PINGPONG:
                return "us RTT";
        case K_IDLE:
                return "us CPU/10s";
        default:
                return "MiB/s";
        }
}

static void case_stats(const struct bcase *c, double *med, double *min, double *max, double vals[], int *n) {
        *n = 0;
        int last = c->kind == K_IDLE ? 1 : cfg.rounds;
        for (int r = 1; r <= last; r++)
                vals[(*n)++] = c->have[r] ? c->smp[r].value : NAN;
        summarize(vals, *n, med, min, max);
}

static void side_stats(const struct bcase *c, size_t offset, int side, double *med, double *min,
                       double *max) {
        double vals[MAX_ROUNDS + 1];
        int n = 0;
        for (int r = 1; r <= cfg.rounds; r++) {
                const double *v = (const double *) (const void *) ((const char *) &c->smp[r] + offset);
                vals[n++] = c->have[r] ? v[side] : NAN;
        }
        summarize(vals, n, med, min, max);
}

static const char *fmt_num(double v, char *buf, size_t len) {
        if (!isfinite(v))
                snprintf(buf, len, "n/a");
        else if (fabs(v) >= 100)
                snprintf(buf, len, "%.0f", v);
        else if (fabs(v) >= 10)
                snprintf(buf, len, "%.1f", v);
        else
                snprintf(buf, len, "%.2f", v);
        return buf;
}

static void print_table(void) {
        char a[32], b[32], c3[32];
        struct utsname u;
        uname(&u);

        printf("shbuf bench: %s mode, %d timed rounds (+1 verification round), backends:",
               cfg.quick ? "quick" : "full", cfg.rounds);
        for (int i = 0; i < cfg.nbackends; i++)
                printf(" %s", cfg.backends[i]);
        printf("; %ld CPUs, Linux %s\n", sysconf(_SC_NPROCESSORS_ONLN), u.release);
        printf("system calls counted with: %s\n\n", cfg.sys_tracepoint >= 0
                                                            ? "perf_event_open(raw_syscalls:sys_enter)"
                                                            : "n/a (perf not usable)");

        printf("%-28s %10s %10s %10s  %-11s %s\n", "measurement", "median", "min", "max", "unit", "notes");
        for (int i = 0; i < ncases; i++) {
                const struct bcase *c = &cases[i];
                double med, min, max, vals[MAX_ROUNDS + 1];
                int n;
                case_stats(c, &med, &min, &max, vals, &n);
                printf("%-28s %10s %10s %10s  %-11s", c->name, fmt_num(med, a, sizeof(a)),
                       fmt_num(min, b, sizeof(b)), fmt_num(max, c3, sizeof(c3)), unit_of(c));
                if (c->failed) {
                        printf(" ERROR %s\n", c->err);
                        continue;
                }
                if (c->kind == K_STREAM) {
                        double sm[2], cm[2], x, y;
                        for (int s = 0; s < 2; s++) {
                                side_stats(c, offsetof(struct sample, sys_per_mib), s, &sm[s], &x, &y);
                                side_stats(c, offsetof(struct sample, cs_per_mib), s, &cm[s], &x, &y);
                        }
                        char d[32];
                        printf(" per MiB: syscalls %s/%s, ctx sw %s/%s (prod/cons)",
                               fmt_num(sm[0], a, sizeof(a)), fmt_num(sm[1], b, sizeof(b)),
                               fmt_num(cm[0], c3, sizeof(c3)), fmt_num(cm[1], d, sizeof(d)));
                } else if (c->kind == K_PINGPONG) {
                        double p[MAX_ROUNDS + 1], pm, px, py;
                        for (int r = 1; r <= cfg.rounds; r++)
                                p[r - 1] = c->have[r] ? c->smp[r].p99 : NAN;
                        summarize(p, cfg.rounds, &pm, &px, &py);
                        printf(" p99 %s us", fmt_num(pm, a, sizeof(a)));
                } else if (c->kind == K_IDLE && c->have[1]) {
                        const struct sample *m = &c->smp[1];
                        printf(" %.1f s blocked: %ld voluntary + %ld involuntary switches; final wake-up: "
                               "%ld "
                               "returns, %.0f us CPU, %ld switches",
                               m->idle_secs, m->idle_vcs, m->idle_ivcs, m->idle_returns, m->wake_cpu_us,
                               m->wake_vcs);
                }
                if (c->tr == TR_SOCKET)
                        printf(" (SO_SNDBUF %d, SO_RCVBUF %d)", c->sockbuf[0], c->sockbuf[1]);
                printf("\n");
        }

        printf("\nGoals: pass = median meets the goal and the worst round is within 80%% of it\n");
        printf("%-3s %-6s %-24s %-20s %-34s %-22s %-9s %s\n", "id", "backend", "candidate", "baseline",
               "metric", "median [min-max]", "goal", "result");
        for (int i = 0; i < ngoals; i++) {
                const struct goal_row *g = &goals[i];
                char range[3 * 32 + 8], goal[32];
                snprintf(range, sizeof(range), "%s [%s-%s]", fmt_num(g->med, a, sizeof(a)),
                         fmt_num(g->min, b, sizeof(b)), fmt_num(g->max, c3, sizeof(c3)));
                snprintf(goal, sizeof(goal), "%s%g", g->op == OP_GE ? ">=" : "<=", g->must);
                if (isfinite(g->target))
                        snprintf(goal + strlen(goal), sizeof(goal) - strlen(goal), " (%g)", g->target);
                printf("%-3s %-6s %-24s %-20s %-34s %-22s %-9s %s%s%s", g->id, g->backend,
                       g->cand ? g->cand->name : "-", g->base ? g->base->name : "-", g->what, range, goal,
                       g->info ? "info:" : "", g->status,
                       g->target_met == 1   ? " (target met)"
                       : g->target_met == 0 ? " (target missed)"
                                            : "");
                if (g->nvals > 1) {
                        printf("  rounds:");
                        for (int r = 0; r < g->nvals; r++)
                                printf(" %s", fmt_num(g->vals[r], a, sizeof(a)));
                }
                if (g->note[0])
                        printf("  %s", g->note);
                printf("\n");
        }
        printf("\nSummary:");
        for (size_t i = 0; i < N_GOAL_IDS; i++)
                printf(" %s %s%s", goal_ids[i], goal_summary(goal_ids[i]), i + 1 < N_GOAL_IDS ? "," : "\n");
}

static void json_str(const char *s) {
        putchar('"');
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch == '"' || ch == '\\')
                        printf("\\%c", ch);
                else if (ch < 0x20)
                        printf("\\u%04x", ch);
                else
                        putchar(ch);
        }
        putchar('"');
}

static void json_num(double v) {
        if (isfinite(v))
                printf("%.6g", v);
        else
                printf("null");
}

static void json_stats(const char *key, const double *vals, int n) {
        double med, min, max;
        summarize(vals, n, &med, &min, &max);
        printf("\"%s\": {\"median\": ", key);
        json_num(med);
        printf(", \"min\": ");
        json_num(min);
        printf(", \"max\": ");
        json_num(max);
        printf(", \"rounds\": [");
        for (int i = 0; i < n; i++) {
                if (i)
                        printf(", ");
                json_num(vals[i]);
        }
        printf("]}");
}

static void json_side(const struct bcase *c, const char *key, size_t offset, int side) {
        double vals[MAX_ROUNDS + 1];
        for (int r = 1; r <= cfg.rounds; r++) {
                const double *v = (const double *) (const void *) ((const char *) &c->smp[r] + offset);
                vals[r - 1] = c->have[r] ? v[side] : NAN;
        }
        json_stats(key, vals, cfg.rounds);
}

static void print_json(void) {
        struct utsname u;
        uname(&u);
        time_t t = time(NULL);
        char date[32];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));

        printf("{\n  \"tool\": \"shbuf bench\",\n  \"format\": 1,\n  \"mode\": \"%s\",\n",
               cfg.quick ? "quick" : "full");
        printf("  \"rounds\": %d,\n  \"date\": \"%s\",\n", cfg.rounds, date);
        printf("  \"machine\": {\"cpus\": %ld, \"kernel\": ", sysconf(_SC_NPROCESSORS_ONLN));
        json_str(u.release);
        printf("},\n  \"backends\": [");
        for (int i = 0; i < cfg.nbackends; i++) {
                printf(i ? ", " : "");
                json_str(cfg.backends[i]);
        }
        printf("],\n  \"syscall_counting\": ");
        json_str(cfg.sys_tracepoint >= 0 ? "perf_event_open(raw_syscalls:sys_enter)" : "n/a");
        printf(",\n  \"params\": {\"stream_bytes\": %" PRIu64 ", \"small_write_bytes\": %" PRIu64
               ", \"fill_bytes\": %" PRIu64 ", \"memcpy_bytes\": %" PRIu64 ", \"verify_bytes\": %" PRIu64
               ", \"pingpong_round_trips\": %" PRIu64 ", \"idle_seconds\": %d},\n",
               cfg.stream_total, cfg.small_total, cfg.fill_total, cfg.memcpy_total, cfg.verify_total,
               cfg.pp_iters, cfg.idle_s);

        printf("  \"measurements\": [\n");
        for (int i = 0; i < ncases; i++) {
                const struct bcase *c = &cases[i];
                static const char *const kinds[] = {"stream", "memcpy", "pingpong", "idle"};
                double med, min, max, vals[MAX_ROUNDS + 1];
                int n;
                case_stats(c, &med, &min, &max, vals, &n);
                printf("    {\"name\": ");
                json_str(c->name);
                printf(", \"kind\": \"%s\", \"baseline\": %s, \"backend\": ", kinds[c->kind],
                       c->baseline ? "true" : "false");
                if (c->backend)
                        json_str(c->backend);
                else
                        printf("null");
                printf(", \"unit\": ");
                json_str(unit_of(c));
                printf(", \"verified\": %s, \"error\": ", c->verified && !c->failed ? "true" : "false");
                if (c->failed)
                        json_str(c->err);
                else
                        printf("null");
                if (c->kind == K_STREAM || c->kind == K_MEMCPY)
                        printf(", \"write_bytes\": %" PRIu64 ", \"bytes\": %" PRIu64, c->chunk, c->total);
                printf(",\n      ");
                json_stats("value", vals, n);
                if (c->kind == K_STREAM) {
                        static const char *const sides[] = {"producer", "consumer"};
                        for (int s = 0; s < 2; s++) {
                                printf(",\n      \"%s\": {", sides[s]);
                                json_side(c, "syscalls_per_mib", offsetof(struct sample, sys_per_mib), s);
                                printf(", ");
                                json_side(c, "context_switches_per_mib", offsetof(struct sample, cs_per_mib),
                                          s);
                                printf(", ");
                                json_side(c, "voluntary_switches_per_mib",
                                          offsetof(struct sample, vcs_per_mib), s);
                                printf(", ");
                                json_side(c, "cpu_us_per_mib", offsetof(struct sample, cpu_us_per_mib), s);
                                printf(", ");
                                json_side(c, "commits_per_mib", offsetof(struct sample, commits_per_mib), s);
                                printf("}");
                        }
                }
                if (c->kind == K_PINGPONG) {
                        double p[MAX_ROUNDS];
                        for (int r = 1; r <= cfg.rounds; r++)
                                p[r - 1] = c->have[r] ? c->smp[r].p99 : NAN;
                        printf(",\n      ");
                        json_stats("p99_us", p, cfg.rounds);
                }
                if (c->kind == K_IDLE) {
                        const struct sample *s = &c->smp[1];
                        printf(",\n      \"idle\": {\"seconds\": ");
                        json_num(c->have[1] ? s->idle_secs : NAN);
                        printf(", \"voluntary_switches\": ");
                        json_num(c->have[1] ? (double) s->idle_vcs : NAN);
                        printf(", \"involuntary_switches\": ");
                        json_num(c->have[1] ? (double) s->idle_ivcs : NAN);
                        printf(", \"final_wake_returns\": ");
                        json_num(c->have[1] ? (double) s->idle_returns : NAN);
                        printf(", \"final_wake_cpu_us\": ");
                        json_num(c->have[1] ? s->wake_cpu_us : NAN);
                        printf(", \"final_wake_voluntary_switches\": ");
                        json_num(c->have[1] ? (double) s->wake_vcs : NAN);
                        printf("}");
                }
                if (c->tr == TR_SOCKET)
                        printf(",\n      \"so_sndbuf\": %d, \"so_rcvbuf\": %d", c->sockbuf[0],
                               c->sockbuf[1]);
                printf("}%s\n", i + 1 < ncases ? "," : "");
        }
        printf("  ],\n  \"goals\": [\n");
        for (int i = 0; i < ngoals; i++) {
                const struct goal_row *g = &goals[i];
                printf("    {\"id\": \"%s\", \"backend\": ", g->id);
                json_str(g->backend);
                printf(", \"candidate\": ");
                if (g->cand)
                        json_str(g->cand->name);
                else
                        printf("null");
                printf(", \"baseline\": ");
                if (g->base)
                        json_str(g->base->name);
                else
                        printf("null");
                printf(", \"metric\": ");
                json_str(g->what);
                printf(", \"op\": \"%s\", \"goal\": ", g->op == OP_GE ? ">=" : "<=");
                json_num(g->must);
                printf(", \"target\": ");
                json_num(g->target);
                printf(",\n      ");
                json_stats("value", g->vals, g->nvals);
                printf(",\n      \"status\": \"%s\", \"info\": %s, \"target_met\": %s, \"note\": ",
                       g->status, g->info ? "true" : "false",
                       g->target_met == 1   ? "true"
                       : g->target_met == 0 ? "false"
                                            : "null");
                json_str(g->note);
                printf("}%s\n", i + 1 < ngoals ? "," : "");
        }
        printf("  ],\n  \"summary\": {");
        for (size_t i = 0; i < N_GOAL_IDS; i++)
                printf("\"%s\": \"%s\"%s", goal_ids[i], goal_summary(goal_ids[i]),
                       i + 1 < N_GOAL_IDS ? ", " : "");
        printf("}\n}\n");
}

/* ---- command line ---------------------------------------------------------- */

static void usage(FILE *f) {
        fprintf(f,
                "Usage: shbuf bench [--quick] [--json] [--rounds N] [--only ID[,ID...]] [--backend "
                "NAME[,NAME]]\n"
                "\n"
                "Measure libshbuf against pipes, FIFOs, socketpairs and memcpy in the same run,\n"
                "in separate processes, with interleaved rounds; check the goals of issue 5.\n"
                "\n"
                "  --quick          less data and 3 rounds: the whole run takes under 30 seconds\n"
                "  --json           print one JSON document on stdout instead of the table\n"
                "  --rounds N       timed rounds (default 5, or 3 with --quick; 1 to %d)\n"
                "  --only IDS       only what the goals IDS need (T1-T6, L1-L6), comma separated\n"
                "  --backend NAMES  only these compiled backends (default: all of them)\n"
                "  -h, --help       this text\n",
                MAX_ROUNDS);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret) {
        char *end;
        errno = 0;
        if (!s || !*s || *s == '-')
                return -1;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return -1;
        *ret = v;
        return 0;
}

static int parse_args(int argc, char **argv) {
        const char *only = NULL, *backends = NULL;
        unsigned long long rounds = 0;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--quick") == 0) {
                        cfg.quick = true;
                } else if (strcmp(a, "--json") == 0) {
                        cfg.json = true;
                } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return 1;
                } else if (strcmp(a, "--rounds") == 0 || strcmp(a, "--only") == 0 ||
                           strcmp(a, "--backend") == 0) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "%s: %s needs a value\n", PROG, a);
                                return -1;
                        }
                        const char *v = argv[++i];
                        if (strcmp(a, "--rounds") == 0) {
                                if (parse_uint(v, MAX_ROUNDS, &rounds) < 0 || rounds == 0) {
                                        fprintf(stderr,
                                                "%s: --rounds wants a number from 1 to %d, not '%s'\n", PROG,
                                                MAX_ROUNDS, v);
                                        return -1;
                                }
                        } else if (strcmp(a, "--only") == 0) {
                                only = v;
                        } else {
                                backends = v;
                        }
                } else {
                        fprintf(stderr, "%s: unknown argument '%s' (try --help)\n", PROG, a);
                        return -1;
                }
        }

        if (only) {
                static char buf[128];
                snprintf(buf, sizeof(buf), "%s", only);
                for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        unsigned bit = goal_bit(t);
                        if (!bit) {
                                fprintf(stderr, "%s: unknown goal id '%s' (T1-T6, L1-L6)\n", PROG, t);
                                return -1;
                        }
                        cfg.only |= bit;
                }
        }
        const char *const *all = shbuf_backends();
        if (!all || !all[0]) {
                fprintf(stderr, "%s: the library has no backends compiled in\n", PROG);
                return -1;
        }
        if (backends) {
                static char buf[128];
                snprintf(buf, sizeof(buf), "%s", backends);
                for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        const char *found = NULL;
                        for (int i = 0; all[i]; i++)
                                if (strcmp(all[i], t) == 0)
                                        found = all[i];
                        if (!found) {
                                fprintf(stderr, "%s: backend '%s' is not compiled into this library\n", PROG,
                                        t);
                                return -1;
                        }
                        if (cfg.nbackends < MAX_BACKENDS)
                                cfg.backends[cfg.nbackends++] = found;
                }
        } else {
                for (int i = 0; all[i] && cfg.nbackends < MAX_BACKENDS; i++)
                        cfg.backends[cfg.nbackends++] = all[i];
        }

        cfg.rounds = rounds ? (int) rounds : cfg.quick ? 3 : 5;
        if (cfg.quick) {
                cfg.stream_total = 256 * MIB;
                cfg.small_total = 64 * MIB;
                cfg.fill_total = 256 * MIB;
                cfg.memcpy_total = 512 * MIB;
                cfg.verify_total = 32 * MIB;
                cfg.pp_iters = 5000;
                cfg.idle_s = 2;
        } else {
                cfg.stream_total = GIB;
                cfg.small_total = 256 * MIB;
                cfg.fill_total = GIB;
                cfg.memcpy_total = GIB;
                cfg.verify_total = 64 * MIB;
                cfg.pp_iters = 20000;
                cfg.idle_s = 10;
        }
        return 0;
}

int shbuf_bench_main(int argc, char **argv) {
        int r = parse_args(argc, argv);
        if (r != 0)
                return r > 0 ? 0 : 2;

        cfg.coordinator = getpid();
        cfg.progress = isatty(STDERR_FILENO);
        (void) syscall_counting_works();
        handle_signals();

        snprintf(cfg.tmpdir, sizeof(cfg.tmpdir), "/tmp/shbuf-bench-XXXXXX");
        if (!mkdtemp(cfg.tmpdir)) {
                fprintf(stderr, "%s: cannot create a private temporary directory: %s\n", PROG,
                        strerror(errno));
                return 1;
        }

        plan();
        run_all();
        rmdir(cfg.tmpdir);
        if (g_stop) {
                fprintf(stderr, "%s: interrupted\n", PROG);
                return 1;
        }
        build_goals();
        if (cfg.json)
                print_json();
        else
                print_table();
        fflush(stdout);

        int errors = 0;
        for (int i = 0; i < ncases; i++)
                if (cases[i].failed) {
                        fprintf(stderr, "%s: %s failed: %s\n", PROG, cases[i].name, cases[i].err);
                        errors++;
                }
        return errors ? 1 : 0;
}

#ifdef SHBUF_BENCH_STANDALONE
/* A standalone build until the shbuf dispatcher links this file; it accepts
 * "shbuf-bench bench ..." too, so scripts can drive both the same way. */
int main(int argc, char **argv) {
        if (argc > 1 && strcmp(argv[1], "bench") == 0) {
                argv++;
                argc--;
        }
        return shbuf_bench_main(argc, argv);
}
#endif
