/*
 * ZeroMQ over ipc:// (a Unix socket in the run's private directory): PUSH to
 * PULL, and PAIR to PAIR. The high-water marks are raised from the default
 * 1000 messages to as many messages as the shared rings hold bytes, so
 * ZeroMQ may keep as much in flight as they do; zmq_send() copies the
 * producer's message, zmq_recv() copies it into the consumer's buffer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "bench.h"

struct zmq_end {
        void *ctx, *sock;
};

static int hwm(const struct bench_case *c) {
        uint64_t n = c->capacity / c->size;
        return n < 1000 ? 1000 : n > 1000000 ? 1000000 : (int) n;
}

static int zmq_prepare(struct bench_link *l, char *err, size_t len) {
        return bench_path_prepare(l, "zmq", err, len);
}

static int zmq_fail(struct bench_end *e, const char *what) {
        int err = zmq_errno();
        return bench_fail(e, err, "%s: %s", what, zmq_strerror(err));
}

static int open_as(struct bench_end *e, int type) {
        struct zmq_end *z = calloc(1, sizeof(*z));
        char url[sizeof(e->link->path) + 8];
        if (!z)
                return bench_fail(e, ENOMEM, "out of memory");
        e->priv = z;
        if (!(z->ctx = zmq_ctx_new()))
                return zmq_fail(e, "zmq_ctx_new");
        if (!(z->sock = zmq_socket(z->ctx, type)))
                return zmq_fail(e, "zmq_socket");
        int h = hwm(e->c);
        if (zmq_setsockopt(z->sock, e->sender ? ZMQ_SNDHWM : ZMQ_RCVHWM, &h, sizeof(h)) < 0)
                return zmq_fail(e, "zmq_setsockopt");
        snprintf(url, sizeof(url), "ipc://%s", e->link->path);
        if ((e->creator ? zmq_bind(z->sock, url) : zmq_connect(z->sock, url)) < 0)
                return zmq_fail(e, e->creator ? "zmq_bind" : "zmq_connect");
        return 0;
}

static int pushpull_open(struct bench_end *e) {
        return open_as(e, e->sender ? ZMQ_PUSH : ZMQ_PULL);
}

static int pair_open(struct bench_end *e) {
        return open_as(e, ZMQ_PAIR);
}

static long zmq_send_msg(struct bench_end *e, const unsigned char *p, size_t n) {
        struct zmq_end *z = e->priv;
        for (;;) {
                if (zmq_send(z->sock, p, n, 0) >= 0)
                        return (long) n;
                if (bench_retry(zmq_errno()))
                        continue;
                return zmq_fail(e, "zmq_send");
        }
}

static long zmq_recv_msg(struct bench_end *e, unsigned char *p, size_t n) {
        struct zmq_end *z = e->priv;
        for (;;) {
                int r = zmq_recv(z->sock, p, n, 0);
                if (r >= 0 && (size_t) r == n)
                        return r;
                if (r >= 0)
                        return bench_fail(e, EBADMSG, "zmq_recv: a message of %d bytes, expected %zu", r, n);
                if (bench_retry(zmq_errno()))
                        continue;
                return zmq_fail(e, "zmq_recv");
        }
}

static void zmq_close_end(struct bench_end *e) {
        struct zmq_end *z = e->priv;
        if (z && z->sock) {
                /* Everything was delivered (the consumer had the end
                 * marker): nothing to linger for. */
                int zero = 0;
                zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof(zero));
                zmq_close(z->sock);
        }
        if (z && z->ctx)
                zmq_ctx_term(z->ctx);
        free(z);
        e->priv = NULL;
}

static void describe(const struct bench_link *l, const char *pattern, char *buf, size_t len) {
        int major, minor, patch;
        zmq_version(&major, &minor, &patch);
        snprintf(buf, len,
                 "ZeroMQ %d.%d.%d %s over ipc://, high-water marks %d messages; zmq_send(), zmq_recv()",
                 major, minor, patch, pattern, hwm(l->c));
}

static void pushpull_describe(const struct bench_link *l, char *buf, size_t len) {
        describe(l, "PUSH/PULL", buf, len);
}

static void pair_describe(const struct bench_link *l, char *buf, size_t len) {
        describe(l, "PAIR", buf, len);
}

const struct bench_transport bench_tr_zmq_pushpull = {
        .name = "zmq-pushpull",
        .title = "ZeroMQ PUSH/PULL, ipc://",
        .prepare = zmq_prepare,
        .cleanup = bench_path_cleanup,
        .open = pushpull_open,
        .send = zmq_send_msg,
        .recv = zmq_recv_msg,
        .close = zmq_close_end,
        .describe = pushpull_describe,
};

const struct bench_transport bench_tr_zmq_pair = {
        .name = "zmq-pair",
        .title = "ZeroMQ PAIR, ipc://",
        .prepare = zmq_prepare,
        .cleanup = bench_path_cleanup,
        .open = pair_open,
        .send = zmq_send_msg,
        .recv = zmq_recv_msg,
        .close = zmq_close_end,
        .describe = pair_describe,
};
