/*
 * Ring arithmetic as pure functions over plain values: no shared memory, no
 * locks, no system calls, so every rule of the ring is unit-testable alone.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_RING_H
#define SHBUF_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "libshbuf/shbuf.h"

/* A snapshot of the status block, validated before use. */
struct shbuf__ring {
        uint64_t size;
        uint64_t read_idx;
        uint64_t length;
        uint64_t backlog;
        uint64_t backlog_target;
        uint64_t write_count;
        uint64_t read_count;
        bool ignore_read_inc;
        bool ignore_write_inc;
};

/* Copy the status into a ring snapshot; -EPROTO if the indices are impossible. */
int shbuf__ring_load(struct shbuf__ring *ret, const shbuf_status *st, uint64_t size);

/* Write a snapshot back into the status block. */
void shbuf__ring_store(const struct shbuf__ring *r, shbuf_status *st);

/* 0 if the snapshot describes a possible ring, -EPROTO if not. */
int shbuf__ring_check(const struct shbuf__ring *r);

/* Offset of the next unread byte, and the contiguous unread bytes there. */
void shbuf__ring_readable(const struct shbuf__ring *r, uint64_t *ret_offset, uint64_t *ret_contig);

/* Offset of the write position, and the contiguous free bytes there. */
void shbuf__ring_writable(const struct shbuf__ring *r, uint64_t *ret_offset, uint64_t *ret_contig);

/* Free bytes in total (S - L). */
uint64_t shbuf__ring_free(const struct shbuf__ring *r);

/*
 * Commit n consumed bytes: R += n, L -= n, backlog grows (capped by the
 * target and by S - L). If ignore_read_inc is set it is cleared and nothing
 * else changes. Returns 1 if committed, 0 if ignored, -EINVAL if n > L (the
 * ring is then unchanged).
 */
int shbuf__ring_consume(struct shbuf__ring *r, uint64_t n);

/* Commit n produced bytes: L += n, backlog shrinks to S - L. As above. */
int shbuf__ring_produce(struct shbuf__ring *r, uint64_t n);

/* Empty the ring; counters and backlog target stay. */
void shbuf__ring_reset(struct shbuf__ring *r);

#endif
