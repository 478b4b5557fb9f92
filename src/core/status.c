/*
 * The status helpers: every one takes the status lock, loads and validates
 * the status block into a ring snapshot, applies ring arithmetic, stores the
 * result and releases the lock. Pointers handed out are computed from the
 * validated snapshot, never from shared memory directly, so a hostile peer
 * cannot steer them outside the data block.
 *
 * Copies (shbuf_read/shbuf_write) run outside the lock: only this side
 * consumes (or produces), so what it saw as readable (or free) can only grow
 * while it copies. For the same reason a look may use the ring as this
 * thread's last look or commit on the same side left it, without the lock
 * (see shbuf__recall() in wake.c): a streaming side takes the lock once per
 * transfer, and a side that waits for its peer looks without taking the
 * lock's cache line from it.
 *
 * A look that finds something to transfer marks the transfer as under way
 * (producing/consuming next to the lock) and the commit clears the mark, so
 * that a waiting peer can tell "data is about to come" from "nothing is
 * happening" (see wake.c). A look that finds nothing while the peer's
 * transfer is under way, by a program that waits through the select
 * descriptor, may spin for that transfer's commit and look once more.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "handle.h"

/*
 * Lock, load a validated snapshot. On error the lock is not held. look says
 * which side of the ring the caller works on, for the wake-up policy.
 */
static int begin(shbuf *sb, struct shbuf__ring *ret, enum shbuf__look look) {
        int r = shbuf__lock(sb);
        if (r < 0)
                return r;
        r = shbuf__ring_load(ret, &sb->control->status, sb->size);
        if (r < 0) {
                shbuf__unlock(sb);
                return r;
        }
        /* Whatever the peer committed up to here, this thread has now seen. */
        shbuf__saw(sb, look, ret);
        return 0;
}

/* A transfer on the look's side of the ring is, or is no longer, under way.
 * Written under the lock, or by a look on a kept ring without it: the mark
 * is a hint that only makes the peer spin (boundedly), and a stale one (a
 * reset clears both) lasts until this side's next commit. */
static void mark_transfer(shbuf *sb, enum shbuf__look look, bool busy) {
        struct shbuf__lock *l = &sb->control->lock;
        atomic_store_explicit(look == SHBUF__LOOK_READ ? &l->consuming : &l->producing, busy,
                              memory_order_relaxed);
}

int shbuf__status_lock(shbuf *sb) {
        struct shbuf__ring ring;
        /* The program may move the ring now. */
        atomic_fetch_add(&sb->moved, 1);
        /* The lock is handed to the program only over a valid status. */
        return begin(sb, &ring, SHBUF__LOOK_OTHER);
}

/*
 * Whether a look that found nothing to do gets a second one: once, after
 * spinning through a transfer of the peer's that was under way (wake.c).
 */
static bool look_again(shbuf *sb, enum shbuf__look look, uint64_t found, unsigned *looks) {
        return found == 0 && (*looks)++ == 0 && shbuf__spin_after_look(sb, look);
}

/* What a look is for: a contiguous span (get_*_pointer()), n bytes to copy
 * (shbuf_read(), shbuf_write()) or, with LOOK_ONLY, nothing. */
#define SPAN 0
#define LOOK_ONLY UINT64_MAX

/* What there is to do on the look's side of ring: data, or room. */
static uint64_t avail_of(enum shbuf__look look, const struct shbuf__ring *ring) {
        return look == SHBUF__LOOK_READ ? ring->length : shbuf__ring_free(ring);
}

/* The contiguous part of it, and where it starts. */
static void span_of(enum shbuf__look look, const struct shbuf__ring *ring, uint64_t *ret_off,
                    uint64_t *ret_len) {
        if (look == SHBUF__LOOK_READ)
                shbuf__ring_readable(ring, ret_off, ret_len);
        else
                shbuf__ring_writable(ring, ret_off, ret_len);
}

/*
 * Whether a kept ring (see look_at()) answers a look for need as a look
 * under the lock would, though the peer may have added room (data) since:
 * the n bytes asked for fit, or the span already reaches the end of the
 * ring, where a fresh look would stop too. Anything less would hand out a
 * short count a program does not expect.
 */
static bool kept_will_do(enum shbuf__look look, const struct shbuf__ring *ring, uint64_t need) {
        if (need == LOOK_ONLY)
                return false;
        if (need != SPAN)
                return avail_of(look, ring) >= need;
        uint64_t off, len;
        span_of(look, ring, &off, &len);
        return len > 0 && off + len == ring->size;
}

/*
 * The look that starts a transfer on one side: the ring as this thread last
 * saw it on that side, when nobody committed since or when it still holds
 * and will do (wake.c), or loaded under the lock. Marks the transfer as
 * under way if there is something to do. Returns what there is to do, or
 * -errno; the lock is not held on return.
 */
static int64_t look_at(shbuf *sb, enum shbuf__look look, struct shbuf__ring *ring, uint64_t need) {
        bool kept = shbuf__recall(sb, look, ring) &&
                    (kept_will_do(look, ring, need) || shbuf__recalled_exact(sb));
        if (!kept) {
                int r = begin(sb, ring, look);
                if (r < 0)
                        return r;
        }
        uint64_t avail = avail_of(look, ring);
        if (need != LOOK_ONLY && avail > 0)
                mark_transfer(sb, look, true);
        if (!kept)
                shbuf__unlock(sb);
        return (int64_t) avail;
}

/* shbuf_get_read_pointer() and shbuf_get_write_pointer(). */
static int get_span(shbuf *sb, enum shbuf__look look, unsigned char **ret_ptr, uint64_t *ret_len) {
        struct shbuf__ring ring;
        uint64_t off, len;
        unsigned looks = 0;
        do {
                int64_t r = look_at(sb, look, &ring, SPAN);
                if (r < 0)
                        return (int) r;
                span_of(look, &ring, &off, &len);
        } while (look_again(sb, look, len, &looks));
        *ret_ptr = sb->data + off;
        *ret_len = len;
        return 0;
}

int shbuf__get_read(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len) {
        return get_span(sb, SHBUF__LOOK_READ, ret_ptr, ret_len);
}

int shbuf__get_write(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len) {
        return get_span(sb, SHBUF__LOOK_WRITE, ret_ptr, ret_len);
}

/*
 * With the lock held and r the result of a ring operation on ring: store
 * the result, unlock, and tell the other side. A commit shows in the
 * counters; one a flag made us drop (r == 0) does not, so it is announced
 * as an event. Our own commit is no news to this thread's next wait.
 */
static int finish(shbuf *sb, struct shbuf__ring *ring, int r, bool consumed) {
        enum shbuf__look side = consumed ? SHBUF__LOOK_READ : SHBUF__LOOK_WRITE;
        mark_transfer(sb, side, false);
        if (r >= 0) {
                shbuf__ring_store(ring, &sb->control->status);
                shbuf__saw_commit(sb, side, ring);
        }
        shbuf__unlock(sb);
        if (r == 0)
                shbuf__bump(sb);
        if (r >= 0)
                shbuf__after_commit(sb, consumed, shbuf__ring_free(ring));
        return r;
}

/* Apply one commit; returns 1 committed, 0 ignored, -errno. */
static int commit(shbuf *sb, uint64_t n, int (*op)(struct shbuf__ring *, uint64_t), enum shbuf__look look) {
        struct shbuf__ring ring;
        int r = begin(sb, &ring, look);
        if (r < 0)
                return r;
        r = finish(sb, &ring, op(&ring, n), look == SHBUF__LOOK_READ);
        return r;
}

int shbuf__commit_read(shbuf *sb, uint64_t n) {
        return commit(sb, n, shbuf__ring_consume, SHBUF__LOOK_READ);
}

int shbuf__commit_write(shbuf *sb, uint64_t n) {
        return commit(sb, n, shbuf__ring_produce, SHBUF__LOOK_WRITE);
}

/* Copy n bytes between buf and the ring described by ring (a copy: the
 * caller's snapshot is left as it was), in at most two pieces. */
static void copy_pieces(shbuf *sb, struct shbuf__ring ring, unsigned char *buf, uint64_t n, bool reading) {
        uint64_t off, len;
        for (uint64_t done = 0; done < n; done += len) {
                if (reading) {
                        shbuf__ring_readable(&ring, &off, &len);
                        if (len > n - done)
                                len = n - done;
                        memcpy(buf + done, sb->data + off, len);
                        ring.read_idx = (off + len) % ring.size;
                        ring.length -= len;
                } else {
                        shbuf__ring_writable(&ring, &off, &len);
                        if (len > n - done)
                                len = n - done;
                        shbuf__copy_in(sb, sb->data + off, buf + done, len);
                        ring.length += len;
                }
        }
}

/* shbuf_read() and shbuf_write(): the count moved, 0, or -errno. */
static long transfer(shbuf *sb, unsigned char *buf, uint64_t n, bool reading) {
        enum shbuf__look look = reading ? SHBUF__LOOK_READ : SHBUF__LOOK_WRITE;
        int (*op)(struct shbuf__ring *, uint64_t) = reading ? shbuf__ring_consume : shbuf__ring_produce;
        struct shbuf__ring ring;
        int64_t avail;
        unsigned looks = 0;

        /* Counts are returned as long: never move more than fits. */
        if (n > LONG_MAX)
                n = LONG_MAX;
        /* The copy runs unlocked, in parallel with the other side's: only
         * this side consumes (or produces), so what it saw can only grow
         * meanwhile. (Copying under the lock saves a lock round trip but
         * serialises the two copies; measured, it gained nothing at 4 KiB.) */
        do {
                avail = look_at(sb, look, &ring, n > 0 ? n : LOOK_ONLY);
                if (avail < 0)
                        return avail;
        } while (n > 0 && look_again(sb, look, (uint64_t) avail, &looks));
        if (n > (uint64_t) avail)
                n = (uint64_t) avail;
        if (n == 0)
                return 0;
        copy_pieces(sb, ring, buf, n, reading);
        int r = commit(sb, n, op, look);
        if (r < 0)
                return r;
        return r == 0 ? 0 : (long) n;
}

long shbuf__read(shbuf *sb, unsigned char *buf, uint64_t n) {
        return transfer(sb, buf, n, true);
}

long shbuf__write(shbuf *sb, const unsigned char *buf, uint64_t n) {
        /* transfer() only reads from buf when writing. */
        return transfer(sb, (unsigned char *) buf, n, false);
}

static int predicate(shbuf *sb, bool full) {
        struct shbuf__ring ring;
        int r = begin(sb, &ring, full ? SHBUF__LOOK_WRITE : SHBUF__LOOK_READ);
        if (r < 0)
                return r;
        shbuf__unlock(sb);
        return full ? ring.length == ring.size : ring.length == 0;
}

int shbuf__is_empty(shbuf *sb) {
        return predicate(sb, false);
}

int shbuf__is_full(shbuf *sb) {
        return predicate(sb, true);
}

int shbuf__reset(shbuf *sb, bool zero) {
        struct shbuf__ring ring;
        int r = begin(sb, &ring, SHBUF__LOOK_OTHER);
        if (r < 0)
                return r;
        atomic_fetch_add(&sb->moved, 1);
        shbuf__ring_reset(&ring);
        mark_transfer(sb, SHBUF__LOOK_READ, false);
        mark_transfer(sb, SHBUF__LOOK_WRITE, false);
        /* Zeroing under the lock keeps a writer from filling the ring while
         * it is being cleared. */
        if (zero)
                memset(sb->data, 0, sb->size);
        shbuf__ring_store(&ring, &sb->control->status);
        shbuf__unlock(sb);
        /* A reset changes no counter: announce it as an event. */
        shbuf__bump(sb);
        shbuf__after_commit(sb, true, ring.size);
        return 0;
}
