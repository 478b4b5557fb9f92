/*
 * Ring arithmetic as pure functions over plain values: no shared memory, no
 * locks, no system calls, so every rule of the ring is unit-testable alone.
 *
 * Two models of one ring live here. struct shbuf__ring is the 0.0.3 status
 * block's: read index, length, backlog, counters, ignore flags; it states
 * the rules and is what shbuf_get_status() shows. struct shbuf__positions
 * is what shared memory holds: the head and the tail, each an index in
 * [0, 2S) written by one side only, plus the counters, the bytes consumed
 * since the last reset, and the flags. The data path works on positions;
 * the conversions below map one model onto the other, and the tests check
 * that both follow the same rules.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_RING_H
#define SHBUF_RING_H

#include <stdbool.h>
#include <errno.h>
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

/* ---- positions ----------------------------------------------------------- */

/* The shared state of a ring, as loaded from (or stored into) shared memory. */
struct shbuf__positions {
        uint64_t head;     /* write index, in [0, 2S) */
        uint64_t tail;     /* read index, in [0, 2S) */
        uint64_t consumed; /* bytes read since the last reset (at most S counts) */
        uint64_t backlog_target;
        uint64_t write_count;
        uint64_t read_count;
        bool ignore_write_inc;
        bool ignore_read_inc;
};

/* The offset in the ring of position pos (< 2S). */
static inline uint64_t shbuf__pos_offset(uint64_t size, uint64_t pos) {
        return pos < size ? pos : pos - size;
}

/* Position pos (< 2S) moved on by n <= S bytes. */
static inline uint64_t shbuf__pos_advance(uint64_t size, uint64_t pos, uint64_t n) {
        pos += n;
        return pos >= 2 * size ? pos - 2 * size : pos;
}

/* Bytes from position from to position to (both < 2S): to - from mod 2S. */
static inline uint64_t shbuf__pos_distance(uint64_t size, uint64_t from, uint64_t to) {
        return to >= from ? to - from : to + 2 * size - from;
}

/* 0 if head and tail are possible positions of a ring of size bytes
 * (below 2S, at most S apart), -EPROTO if not. On every look: inline. */
static inline int shbuf__pos_check(uint64_t size, uint64_t head, uint64_t tail) {
        if (size == 0 || head >= 2 * size || tail >= 2 * size || shbuf__pos_distance(size, tail, head) > size)
                return -EPROTO;
        return 0;
}

/* The 0.0.3 view of shared positions; -EPROTO if they are impossible. */
int shbuf__ring_from_positions(struct shbuf__ring *ret, const struct shbuf__positions *p, uint64_t size);

/* Positions that show ring r (which must pass shbuf__ring_check()). */
void shbuf__ring_to_positions(const struct shbuf__ring *r, struct shbuf__positions *ret);

#endif
