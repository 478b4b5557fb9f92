/*
 * What the two sides of a measurement do over their links.
 *
 * Streams: the producer sends messages of the case's size for a fixed time,
 * then one end marker; the consumer receives each message into a private
 * buffer and checks it. Only the consumer's clock decides throughput: its
 * window starts once the warm-up time has passed since the first message
 * arrived, and ends when the end marker arrives, so the figure holds
 * everything in between, the draining of what the transport held included.
 *
 * Ping-pong: the initiator sends a 64-byte message, the responder receives it
 * into its own buffer and sends it back, and the initiator times each round
 * trip and compares the echo with what it sent.
 *
 * Data checks: in the verification round every 64-bit word carries a value
 * that depends on its position in the stream, and the consumer checks them
 * all. In the timed rounds the first and the last word of each message carry
 * its sequence number (the rest is a fixed body), and the consumer checks
 * both, so lost, repeated, reordered or torn messages fail the measurement
 * instead of producing a number.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define END_MARK UINT64_MAX

const double bench_quantiles[BENCH_NQ] = {0,   0.01, 0.05, 0.1,  0.2,  0.3,   0.4,   0.5,   0.6, 0.7,
                                          0.8, 0.9,  0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 1};

static inline uint64_t verify_word(uint64_t w) {
        return (w + 1) * UINT64_C(0x9E3779B97F4A7C15) ^ UINT64_C(0xA5A5A5A5A5A5A5A5);
}

static inline uint64_t body_word(uint64_t i) {
        return i * UINT64_C(0x2545F4914F6CDD1D) + 0x1234;
}

static int send_msg(struct bench_end *e, const unsigned char *p, size_t n) {
        for (size_t done = 0; done < n;) {
                long r = e->c->tr->send(e, p + done, n - done);
                if (r < 0)
                        return (int) r;
                if (r == 0)
                        return bench_fail(e, EIO, "%s: sending made no progress", e->c->tr->name);
                done += (size_t) r;
        }
        return 0;
}

static int recv_msg(struct bench_end *e, unsigned char *p, size_t n) {
        for (size_t done = 0; done < n;) {
                long r = e->c->tr->recv(e, p + done, n - done);
                if (r < 0)
                        return (int) r;
                if (r == 0)
                        return bench_fail(e, EIO, "%s: receiving made no progress", e->c->tr->name);
                done += (size_t) r;
        }
        return 0;
}

/* A buffer of n bytes on a cache line boundary (aligned_alloc() wants a
 * multiple of the alignment). */
static uint64_t *alloc_msg(size_t n) {
        return aligned_alloc(64, (n + 63) / 64 * 64);
}

/*
 * Clock reads cost tens of nanoseconds, as much as moving a small message
 * through a fast transport, so the loops read the clock every `batch`
 * messages, with batch adapted to keep reads tens of microseconds apart,
 * and never more than 256 KiB apart: a transport that blocks must not
 * carry a side far past its deadline.
 */
#define PACER_MAX_BYTES (256 * 1024)

struct pacer {
        unsigned batch, left, max;
        double last;
};

static void pacer_init(struct pacer *p, size_t msg, double now) {
        p->batch = p->left = 1;
        p->max = msg >= PACER_MAX_BYTES ? 1 : (unsigned) (PACER_MAX_BYTES / msg);
        p->last = now;
}

static bool pacer_due(struct pacer *p) {
        return --p->left == 0;
}

static void pacer_next(struct pacer *p, double now) {
        double gap = now - p->last;
        if (gap > 200e-6)
                p->batch = 1;
        else if (gap < 20e-6 && p->batch * 2 <= p->max)
                p->batch *= 2;
        p->last = now;
        p->left = p->batch;
}

static void prepare(uint64_t *m, size_t nw, uint64_t seq, bool verify) {
        if (verify) {
                for (size_t i = 0; i < nw; i++)
                        m[i] = verify_word(seq * nw + i);
        } else {
                m[0] = m[nw - 1] = seq;
        }
}

static int check(struct bench_end *e, const uint64_t *m, size_t nw, uint64_t seq, bool verify) {
        if (verify) {
                for (size_t i = 0; i < nw; i++)
                        if (m[i] != verify_word(seq * nw + i))
                                return bench_fail(e, EBADMSG,
                                                  "data mismatch in message %" PRIu64
                                                  " at byte %zu: %#" PRIx64 " != %#" PRIx64,
                                                  seq, i * 8, m[i], verify_word(seq * nw + i));
                return 0;
        }
        if (m[0] != seq || m[nw - 1] != seq)
                return bench_fail(e, EBADMSG,
                                  "sequence mismatch: message %" PRIu64 " carries %" PRIu64 " and %" PRIu64,
                                  seq, m[0], m[nw - 1]);
        return 0;
}

static int produce(struct bench_end *e, bool verify, struct bench_msg *out) {
        size_t n = e->c->size, nw = n / 8;
        uint64_t *m = alloc_msg(n);
        if (!m)
                return bench_fail(e, ENOMEM, "out of memory");
        for (size_t i = 0; i < nw; i++)
                m[i] = body_word(i);

        double t0 = bench_now();
        double warm_end = t0 + (verify ? 0 : bench_cfg.warm_s);
        double end = warm_end + (verify ? bench_cfg.verify_window_s : bench_cfg.window_s);
        struct pacer pace;
        pacer_init(&pace, n, t0);
        struct bench_window win = {0};
        bool in_window = false;
        uint64_t seq = 0, seq0 = 0;
        int r = 0;

        for (;; seq++) {
                if (pacer_due(&pace)) {
                        double now = bench_now();
                        if (!in_window && now >= warm_end) {
                                bench_window_begin(&win);
                                in_window = true;
                                seq0 = seq;
                        }
                        /* At least one batch in the window, to count. */
                        if (now >= end && seq > seq0)
                                break;
                        pacer_next(&pace, now);
                }
                prepare(m, nw, seq, verify);
                if ((r = send_msg(e, (const unsigned char *) m, n)) < 0)
                        break;
        }
        if (r == 0) {
                bench_window_end(&win, out);
                out->msgs = seq - seq0;
                m[0] = m[nw - 1] = END_MARK;
                r = send_msg(e, (const unsigned char *) m, n);
        }
        free(m);
        return r;
}

static int consume(struct bench_end *e, bool verify, struct bench_msg *out) {
        size_t n = e->c->size, nw = n / 8;
        uint64_t *m = alloc_msg(n);
        if (!m)
                return bench_fail(e, ENOMEM, "out of memory");

        double warm_end = 0, t0 = 0, t_first = 0;
        struct pacer pace;
        struct bench_window win = {0}, first = {0};
        bool in_window = false;
        uint64_t seq = 0, seq0 = 0;
        int r = 0;

        pacer_init(&pace, n, 0); /* again when the first message arrives */
        for (;; seq++) {
                if ((r = recv_msg(e, (unsigned char *) m, n)) < 0)
                        break;
                if (m[0] == END_MARK && m[nw - 1] == END_MARK)
                        break;
                if ((r = check(e, m, nw, seq, verify)) < 0)
                        break;
                if (seq == 0) {
                        t_first = bench_now();
                        bench_window_begin(&first);
                        pacer_init(&pace, n, t_first);
                        warm_end = t_first + bench_cfg.warm_s;
                        continue;
                }
                if (!in_window && pacer_due(&pace)) {
                        double now = bench_now();
                        if (now >= warm_end) {
                                bench_window_begin(&win);
                                in_window = true;
                                t0 = now;
                                seq0 = seq + 1;
                        } else {
                                pacer_next(&pace, now);
                        }
                }
        }
        if (r == 0 && (!in_window || seq <= seq0)) {
                /* The producer stalled (a busy machine) until the window
                 * was over: count from the first message instead, warm-up
                 * included, rather than lose the round. */
                win = first;
                t0 = t_first;
                seq0 = 1;
        }
        if (r == 0 && seq > seq0) {
                double t1 = bench_now();
                bench_window_end(&win, out);
                out->msgs = seq - seq0;
                out->secs = t1 - t0;
        } else if (r == 0 && !verify) {
                /* The verification round's figures are not used. */
                r = bench_fail(e, EINVAL, "too few messages to time (%" PRIu64 ")", seq);
        }
        free(m);
        return r;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y ? 1 : 0;
}

static int pingpong(struct bench_end *ends, int role, bool verify, struct bench_msg *out) {
        uint64_t total = verify ? bench_cfg.pp_verify_round_trips : bench_cfg.pp_round_trips;
        uint64_t warm = total / 10, nw = BENCH_PP_BYTES / 8;
        uint64_t msg[BENCH_PP_BYTES / 8], reply[BENCH_PP_BYTES / 8];
        double *rtt = NULL;
        int r = 0;

        if (role == 0 && !(rtt = malloc(sizeof(*rtt) * total)))
                return bench_fail(&ends[0], ENOMEM, "out of memory");
        for (uint64_t i = 0; i < warm + total && r == 0; i++) {
                if (role == 1) {
                        /* The echo: into our own buffer, and back. */
                        if ((r = recv_msg(&ends[1], (unsigned char *) reply, BENCH_PP_BYTES)) == 0)
                                r = send_msg(&ends[0], (const unsigned char *) reply, BENCH_PP_BYTES);
                        continue;
                }
                for (uint64_t j = 0; j < nw; j++)
                        msg[j] = verify ? verify_word(i * nw + j) : i * nw + j;
                double t0 = bench_now();
                if ((r = send_msg(&ends[0], (const unsigned char *) msg, BENCH_PP_BYTES)) == 0)
                        r = recv_msg(&ends[1], (unsigned char *) reply, BENCH_PP_BYTES);
                double t1 = bench_now();
                if (r == 0 && memcmp(msg, reply, BENCH_PP_BYTES) != 0)
                        r = bench_fail(&ends[1], EBADMSG, "round trip %" PRIu64 ": the echo differs", i);
                if (i >= warm)
                        rtt[i - warm] = (t1 - t0) * 1e6;
        }
        if (r == 0 && role == 0) {
                qsort(rtt, total, sizeof(*rtt), cmp_double);
                for (int q = 0; q < BENCH_NQ; q++) {
                        /* Nearest rank: the smallest value with at least
                         * that share of the round trips at or below it. */
                        double rank = ceil(bench_quantiles[q] * (double) total);
                        uint64_t k = rank < 1 ? 0 : (uint64_t) rank - 1;
                        out->rtt_us[q] = rtt[k < total ? k : total - 1];
                }
                out->msgs = total;
        }
        free(rtt);
        return r;
}

int bench_workload(struct bench_end *ends, int role, bool verify, struct bench_msg *out) {
        if (ends[0].c->kind == BENCH_PINGPONG)
                return pingpong(ends, role, verify, out);
        return role == 0 ? consume(&ends[0], verify, out) : produce(&ends[0], verify, out);
}
