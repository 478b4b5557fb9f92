/*
 * Boost.Interprocess's message_queue (through boost-mq.cpp): as many slots
 * of the message size as the shared rings hold bytes. send() copies the
 * producer's message into a slot, receive() copies it out into the
 * consumer's buffer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "boost-mq.h"

static size_t slots(const struct bench_case *c) {
        uint64_t n = c->capacity / c->size;
        return n < 2 ? 2 : (size_t) n;
}

static int bmq_prepare(struct bench_link *l, char *err, size_t len) {
        static unsigned seq;
        /* A name in /dev/shm that says whose it is. */
        snprintf(l->path, sizeof(l->path), "shbuf-bench-%d-%u", (int) getpid(), seq++);
        return 0;
}

static int bmq_cleanup(struct bench_link *l, bool ok, char *err, size_t len) {
        if (l->path[0])
                (void) bench_bmq_remove(l->path);
        return 0;
}

static int bmq_open(struct bench_end *e) {
        struct bench_bmq *q = NULL;
        int r = e->creator ? bench_bmq_create(e->link->path, slots(e->c), e->c->size, &q, e->err, e->errlen)
                           : bench_bmq_open(e->link->path, &q, e->err, e->errlen);
        e->priv = q;
        return r;
}

static long bmq_send(struct bench_end *e, const unsigned char *p, size_t n) {
        int r = bench_bmq_send(e->priv, p, n, e->err, e->errlen);
        return r < 0 ? r : (long) n;
}

static long bmq_recv(struct bench_end *e, unsigned char *p, size_t n) {
        size_t got = 0;
        int r = bench_bmq_receive(e->priv, p, n, &got, e->err, e->errlen);
        if (r < 0)
                return r;
        if (got != n)
                return bench_fail(e, EBADMSG, "message_queue::receive: a message of %zu bytes, expected %zu",
                                  got, n);
        return (long) n;
}

static void bmq_close(struct bench_end *e) {
        bench_bmq_close(e->priv);
        /* The creator removes the name; the queue lives on until the
         * other side lets go of it too. */
        if (e->creator)
                (void) bench_bmq_remove(e->link->path);
        e->priv = NULL;
}

static void bmq_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len,
                 "Boost.Interprocess %s message_queue, %zu slots of the message size; send(), receive()",
                 bench_bmq_version(), slots(l->c));
}

const struct bench_transport bench_tr_boost_mq = {
        .name = "boost-mq",
        .title = "Boost.Interprocess message_queue",
        .prepare = bmq_prepare,
        .cleanup = bmq_cleanup,
        .open = bmq_open,
        .send = bmq_send,
        .recv = bmq_recv,
        .close = bmq_close,
        .describe = bmq_describe,
};
