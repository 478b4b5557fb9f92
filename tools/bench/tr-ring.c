/*
 * The naive ring: a reference, not a candidate. A single-producer,
 * single-consumer byte ring in shared memory with nothing of libshbuf's (no
 * status block, no notification, no checks of what the peer wrote): each
 * side owns one index on a cache line of its own and spins, yielding now
 * and then, until the other side moves. It copies in the way shbuf_write()
 * does (bench_copy_in()) and out with memcpy(), as shbuf_read() does. What
 * it reaches is about what copying through shared memory reaches on the
 * machine at all, so the library is shown against it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

struct naive_ring {
        alignas(64) _Atomic uint64_t head; /* bytes written, by the producer only */
        alignas(64) _Atomic uint64_t tail; /* bytes read, by the consumer only */
        alignas(64) unsigned char data[];
};

static int ring_prepare(struct bench_link *l, char *err, size_t len) {
        size_t n = sizeof(struct naive_ring) + l->c->capacity;
        /* Made before the sides are forked, so both inherit it, zeroed. */
        void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
                int e = errno;
                snprintf(err, len, "mmap: %s", strerror(e));
                return -e;
        }
        l->mem = m;
        l->mem_len = n;
        return 0;
}

static int ring_cleanup(struct bench_link *l, bool ok, char *err, size_t len) {
        if (l->mem)
                munmap(l->mem, l->mem_len);
        l->mem = NULL;
        return 0;
}

static int ring_open(struct bench_end *e) {
        e->priv = e->link->mem;
        return 0;
}

/* Spin (yielding every 64 turns) until *idx differs from seen. */
static int ring_spin(struct bench_end *e, _Atomic uint64_t *idx, uint64_t seen) {
        for (unsigned i = 1; atomic_load_explicit(idx, memory_order_acquire) == seen; i++) {
                if (bench_stop)
                        return bench_fail(e, EINTR, "stopped");
                if (i % 64 == 0)
                        sched_yield();
        }
        return 0;
}

static long ring_send(struct bench_end *e, const unsigned char *p, size_t n) {
        struct naive_ring *r = e->priv;
        uint64_t size = e->c->capacity;
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - tail == size) {
                int err = ring_spin(e, &r->tail, tail);
                if (err < 0)
                        return err;
                tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        }
        uint64_t off = head % size, len = size - (head - tail);
        if (len > size - off)
                len = size - off;
        if (len > n)
                len = n;
        bench_copy_in(r->data + off, p, len);
        atomic_store_explicit(&r->head, head + len, memory_order_release);
        return (long) len;
}

static long ring_recv(struct bench_end *e, unsigned char *p, size_t n) {
        struct naive_ring *r = e->priv;
        uint64_t size = e->c->capacity;
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (head == tail) {
                int err = ring_spin(e, &r->head, head);
                if (err < 0)
                        return err;
                head = atomic_load_explicit(&r->head, memory_order_acquire);
        }
        uint64_t off = tail % size, len = head - tail;
        if (len > size - off)
                len = size - off;
        if (len > n)
                len = n;
        memcpy(p, r->data + off, len);
        atomic_store_explicit(&r->tail, tail + len, memory_order_release);
        return (long) len;
}

static void ring_close(struct bench_end *e) {
        e->priv = NULL;
}

static void ring_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len,
                 "%llu-byte ring in shared memory, one index per cache line, both sides spin "
                 "(sched_yield() every 64 turns); copies in like shbuf_write(), out with memcpy()",
                 (unsigned long long) l->c->capacity);
}

const struct bench_transport bench_tr_ring = {
        .name = "ring",
        .title = "naive shared-memory ring (the limit)",
        .prepare = ring_prepare,
        .cleanup = ring_cleanup,
        .open = ring_open,
        .send = ring_send,
        .recv = ring_recv,
        .close = ring_close,
        .describe = ring_describe,
};
