/*
 * Ring arithmetic. See ring.h and the ring model in include/libshbuf/shbuf.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ring.h"

#include <errno.h>

static uint64_t min64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

int shbuf__ring_check(const struct shbuf__ring *r) {
        if (r->size == 0 || r->read_idx >= r->size || r->length > r->size ||
            r->backlog > r->size - r->length)
                return -EPROTO;
        return 0;
}

int shbuf__ring_load(struct shbuf__ring *ret, const shbuf_status *st, uint64_t size) {
        /* Each field is read exactly once, so a peer changing the block while
         * we look cannot make the checked values differ from the used ones. */
        const volatile shbuf_status *v = st;
        struct shbuf__ring r = {
                .size = size,
                .read_idx = v->read_idx,
                .length = v->length,
                .backlog = v->backlog,
                .backlog_target = v->backlog_target,
                .write_count = v->write_count,
                .read_count = v->read_count,
                .ignore_read_inc = v->ignore_read_inc != 0,
                .ignore_write_inc = v->ignore_write_inc != 0,
        };
        int rc = shbuf__ring_check(&r);
        if (rc < 0)
                return rc;
        *ret = r;
        return 0;
}

void shbuf__ring_store(const struct shbuf__ring *r, shbuf_status *st) {
        st->read_idx = (unsigned long) r->read_idx;
        st->length = (unsigned long) r->length;
        st->backlog = (unsigned long) r->backlog;
        st->backlog_target = (unsigned long) r->backlog_target;
        st->write_count = (unsigned long) r->write_count;
        st->read_count = (unsigned long) r->read_count;
        st->ignore_read_inc = r->ignore_read_inc;
        st->ignore_write_inc = r->ignore_write_inc;
}

void shbuf__ring_readable(const struct shbuf__ring *r, uint64_t *ret_offset, uint64_t *ret_contig) {
        *ret_offset = r->read_idx;
        *ret_contig = min64(r->length, r->size - r->read_idx);
}

void shbuf__ring_writable(const struct shbuf__ring *r, uint64_t *ret_offset, uint64_t *ret_contig) {
        /* read_idx < size and length <= size, so the sum cannot overflow and
         * one subtraction brings it back into the ring. */
        uint64_t w = r->read_idx + r->length;
        if (w >= r->size)
                w -= r->size;
        *ret_offset = w;
        *ret_contig = min64(r->size - r->length, r->size - w);
}

uint64_t shbuf__ring_free(const struct shbuf__ring *r) {
        return r->size - r->length;
}

int shbuf__ring_consume(struct shbuf__ring *r, uint64_t n) {
        if (r->ignore_read_inc) {
                r->ignore_read_inc = false;
                return 0;
        }
        if (n > r->length)
                return -EINVAL;
        r->read_idx += n;
        if (r->read_idx >= r->size)
                r->read_idx -= r->size;
        r->length -= n;
        r->backlog = min64(min64(r->backlog + n, r->backlog_target), r->size - r->length);
        r->read_count++;
        return 1;
}

int shbuf__ring_produce(struct shbuf__ring *r, uint64_t n) {
        if (r->ignore_write_inc) {
                r->ignore_write_inc = false;
                return 0;
        }
        if (n > r->size - r->length)
                return -EINVAL;
        r->length += n;
        /* The writer may always use S - L bytes; what it wrote over is no
         * longer backlog. */
        r->backlog = min64(r->backlog, r->size - r->length);
        r->write_count++;
        return 1;
}

void shbuf__ring_reset(struct shbuf__ring *r) {
        r->read_idx = 0;
        r->length = 0;
        r->backlog = 0;
}

int shbuf__ring_from_positions(struct shbuf__ring *ret, const struct shbuf__positions *p, uint64_t size) {
        int rc = shbuf__pos_check(size, p->head, p->tail);
        if (rc < 0)
                return rc;
        struct shbuf__ring r = {
                .size = size,
                .read_idx = shbuf__pos_offset(size, p->tail),
                .length = shbuf__pos_distance(size, p->tail, p->head),
                .backlog_target = p->backlog_target,
                .write_count = p->write_count,
                .read_count = p->read_count,
                .ignore_read_inc = p->ignore_read_inc,
                .ignore_write_inc = p->ignore_write_inc,
        };
        /* What was consumed and not written over since, at most the target:
         * the same value 0.0.3's step-by-step rules keep (ring_consume(),
         * ring_produce()), derived instead of stored, so that neither side
         * writes a field the other one does. */
        r.backlog = min64(min64(r.backlog_target, r.size - r.length), p->consumed);
        *ret = r;
        return 0;
}

void shbuf__ring_to_positions(const struct shbuf__ring *r, struct shbuf__positions *ret) {
        ret->tail = r->read_idx;
        ret->head = r->read_idx + r->length; /* below 2S: both terms are at most S */
        ret->consumed = r->backlog;
        ret->backlog_target = r->backlog_target;
        ret->write_count = r->write_count;
        ret->read_count = r->read_count;
        ret->ignore_write_inc = r->ignore_write_inc;
        ret->ignore_read_inc = r->ignore_read_inc;
}
