/*
 * shbuf bench: the pieces of the benchmark and what they share.
 *
 * A measurement runs in two fresh processes forked from a coordinator (run.c).
 * Between them lie one or two links, each a one-way path through one
 * transport: a pipe, a socketpair, a libshbuf buffer, a ZeroMQ socket and so
 * on (tr-*.c, listed in transports.c). A stream measurement has one link from
 * the producer to the consumer, a ping-pong two, one each way. What the two
 * processes do over the links is the workload (workload.c); what each side
 * counts while it does it is counters.c; cli.c plans the run and report.c
 * prints it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_BENCH_H
#define SHBUF_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_ROUNDS 100
#define BENCH_MAX_CASES 256
#define BENCH_MAX_SIZES 16
#define BENCH_MAX_BACKENDS 4
/* Message size of the ping-pong. */
#define BENCH_PP_BYTES 64
/* Points of the round-trip distribution each ping-pong round reports. */
#define BENCH_NQ 19

extern const double bench_quantiles[BENCH_NQ];
/* Indexes into bench_quantiles[]. */
enum { BENCH_Q_MEDIAN = 7, BENCH_Q_P99 = 14, BENCH_Q_P999 = 17 };

enum bench_kind { BENCH_STREAM, BENCH_PINGPONG };

/* How a libshbuf side waits for its peer (other transports block in their
 * own calls). */
enum bench_wait { BENCH_WAIT, BENCH_SELECT, BENCH_SPIN };

struct bench_transport;

/* What the coordinator gets from a side: once when it is ready, once with
 * its result. Smaller than PIPE_BUF, so each write of it is atomic. */
struct bench_msg {
        int type;
        int err; /* 0, or an errno value */
        char what[200];
        uint64_t tokens[2]; /* what the creating side tells the other, per link */
        uint64_t msgs;      /* messages in the measured window */
        double secs;        /* length of the window (the consumer's) */
        long long syscalls; /* in the window, -1 when not counted */
        long nvcsw, nivcsw; /* context switches in the window */
        long long cpu_ns;   /* CPU time of the process in the window */
        double rtt_us[BENCH_NQ];
};

/* One measurement: a transport, a message size, a kind. */
struct bench_case {
        char name[48]; /* "shbuf-sysv", "pipe-sized", "shbuf-posix-spin" */
        enum bench_kind kind;
        const struct bench_transport *tr;
        const char *backend; /* libshbuf only */
        enum bench_wait wait;
        uint64_t size;     /* bytes per message */
        uint64_t capacity; /* bytes the transport may hold, where it can be set */

        /* Filled in by the run. */
        struct bench_sample {
                double msgs_per_s;
                /* Per message, [0] producer, [1] consumer; NAN if unknown. */
                double syscalls[2], switches[2], cpu_us[2];
                double rtt_us[BENCH_NQ];
        } smp[BENCH_MAX_ROUNDS + 1]; /* [0]: the verification round */
        bool have[BENCH_MAX_ROUNDS + 1];
        bool verified, failed;
        char err[256];
        char config[160]; /* how the transport was set up, in words */
};

/* One direction between the two sides. The coordinator prepares it before
 * it forks them (descriptors and mappings are inherited), each side opens
 * its end, and the coordinator cleans up after both have exited. */
struct bench_link {
        const struct bench_case *c;
        int fd[2]; /* kernel transports: [0] the reading end, [1] the writing end */
        void *mem; /* a mapping shared by both sides */
        size_t mem_len;
        char path[108]; /* a FIFO, a socket path, a queue name */
        uint64_t token; /* from the creating side (a buffer's key) */
};

/* One side's end of a link. */
struct bench_end {
        struct bench_link *link;
        const struct bench_case *c;
        bool sender;  /* this end sends */
        bool creator; /* this side was started first: it creates what is named */
        int fd;       /* the descriptor this end uses, or -1 */
        void *priv;   /* the transport's own state */
        char *err;    /* where a failure is described (the side's message) */
        size_t errlen;
};

/*
 * A transport: one way of moving messages from one process to another.
 * Each tr-*.c file defines one or more of these; transports.c lists them.
 */
struct bench_transport {
        const char *name; /* in reports and on the command line */
        const char *title;
        bool stream_only; /* not used for ping-pong (it adds nothing there) */
        /* In the coordinator, before the sides exist (optional). 0 or -errno,
         * with err filled in. */
        int (*prepare)(struct bench_link *l, char *err, size_t errlen);
        /* In the coordinator, after both sides ended (optional). ok: the
         * measurement succeeded, so anything left behind is an error worth
         * reporting (then 0 or -1 with err filled in). */
        int (*cleanup)(struct bench_link *l, bool ok, char *err, size_t errlen);
        /* In a side. open and close are called once per end, close also
         * after a failed open (so it must cope with a half-open end, and
         * with e->priv still NULL). send moves 1 to
         * n bytes and returns the count, or -errno; recv the same into p.
         * Both block until they can move something. Transports that keep
         * message boundaries move whole messages of exactly n bytes. */
        int (*open)(struct bench_end *e);
        long (*send)(struct bench_end *e, const unsigned char *p, size_t n);
        long (*recv)(struct bench_end *e, unsigned char *p, size_t n);
        void (*close)(struct bench_end *e);
        /* The configuration line of the report, in the coordinator after
         * prepare (so it can tell what the kernel granted). */
        void (*describe)(const struct bench_link *l, char *buf, size_t len);
};

/* A transport this build cannot measure, and why. */
struct bench_skipped {
        const char *name;
        const char *reason;
};

extern const struct bench_transport *const bench_transports[];
extern const struct bench_skipped bench_skipped[];

/* The transports (tr-*.c). */
extern const struct bench_transport bench_tr_shbuf, bench_tr_shbuf_zc, bench_tr_ring;
extern const struct bench_transport bench_tr_pipe, bench_tr_pipe_sized, bench_tr_vmsplice, bench_tr_fifo,
        bench_tr_socketpair;
extern const struct bench_transport bench_tr_zmq_pushpull, bench_tr_zmq_pair, bench_tr_nng_pipeline,
        bench_tr_boost_mq;

/* Run-wide settings (cli.c). */
struct bench_config {
        bool quick, json, progress;
        int rounds;
        double warm_s, window_s;        /* per stream measurement */
        double verify_window_s;         /* the verification round's */
        uint64_t pp_round_trips;        /* per ping-pong measurement */
        uint64_t pp_verify_round_trips; /* in the verification round */
        const char *backends[BENCH_MAX_BACKENDS + 1];
        int nbackends;
        char tmpdir[64]; /* private: FIFOs and sockets */
        pid_t coordinator;
};
extern struct bench_config bench_cfg;
extern struct bench_case bench_cases[BENCH_MAX_CASES];
extern int bench_ncases;

/* Set by SIGINT, SIGTERM and SIGHUP. */
extern volatile sig_atomic_t bench_stop;

/* ---- helpers shared by the pieces --------------------------------------- */

double bench_now(void); /* CLOCK_MONOTONIC, seconds */

/* Describe a side's failure in e->err (the first one sticks); returns -err. */
int bench_fail(struct bench_end *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True when a call that failed with err should simply be retried: EINTR
 * that is not a request to stop. */
bool bench_retry(int err);

/* Copy into memory the other process reads next, the way shbuf_write()
 * does (streaming stores for large copies where the library uses them). */
void bench_copy_in(unsigned char *dst, const unsigned char *src, size_t n);

/* For transports that meet at a name in the file system (a FIFO, a Unix
 * socket): prepare names l->path DIR/PREFIX<n> in the run's private
 * directory, cleanup removes it. */
int bench_path_prepare(struct bench_link *l, const char *prefix, char *err, size_t errlen);
int bench_path_cleanup(struct bench_link *l, bool ok, char *err, size_t errlen);

/* "64 B", "4 KiB", "1 MiB". */
const char *bench_size_text(uint64_t n, char *buf, size_t len);

/* The benchmark's handlers for SIGINT, SIGTERM and SIGHUP (they set
 * bench_stop; blocking calls return EINTR), and SIGPIPE ignored. */
void bench_handle_signals(void);

/* Median of the finite values among v[0..n-1]; NAN if none. min and max may
 * be NULL. */
double bench_median(const double *v, int n, double *ret_min, double *ret_max);

/* ---- the run (run.c) and its pieces --------------------------------------- */

void bench_run_all(void);

/* Counting what a side costs (counters.c). */
void bench_counters_probe(void);
bool bench_counters_available(void);
const char *bench_counters_method(void);
void bench_counter_open(void);
struct bench_window {
        long long syscalls, cpu_ns;
        long nvcsw, nivcsw;
};
void bench_window_begin(struct bench_window *w);
void bench_window_end(const struct bench_window *w, struct bench_msg *out);

/* What a side does (workload.c). ends[0] for a stream; for a ping-pong
 * ends[0] sends and ends[1] receives. role 0 is the side started first:
 * the consumer, or the initiator of a ping-pong. */
int bench_workload(struct bench_end *ends, int role, bool verify, struct bench_msg *out);

/* Output (report.c). */
void bench_print_table(void);
void bench_print_json(void);

#endif
