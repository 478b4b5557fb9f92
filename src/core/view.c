/*
 * The status lock's side of the ring: freezing it, the 0.0.3 status view,
 * reset and zero.
 *
 * The data path takes no lock (transfer.c), so a status-lock holder that
 * wants to read the ring consistently, or change both positions, first
 * freezes it: it sets FROZEN in the lock's state word, then waits until
 * neither role's owner is in the middle of a transfer (its busy mark is
 * clear). A transfer starts by setting its mark and then looking at the
 * state; with the holder's heavy fence between its store and its look at
 * the marks, and the owner's light one between its own store and look,
 * either the owner sees FROZEN and backs off, or the holder sees the mark
 * and waits for the commit. From then on nobody moves the ring but the
 * holder, until it thaws it in a new epoch (which makes every handle drop
 * what it cached of the positions).
 *
 * shbuf_get_status() returns a view: the positions of shared memory turned
 * into the 0.0.3 status block (ring.c) when the lock is taken, and the
 * view's edits turned back into positions when it is released. Outside the
 * lock the view is refreshed on each shbuf_get_status() call, a snapshot
 * that may be stale at once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "handle.h"

/* How long a holder whose barrier does not reach the other process waits
 * for that process's stores: far longer than any CPU keeps one to itself. */
#define GRACE_MS 2

bool shbuf__heavy_fence(void) {
        if (shbuf__os_barrier(SHBUF__OS_BARRIER_GLOBAL) == 0)
                return true;
        shbuf__full_fence();
        return false;
}

void shbuf__load_positions(const struct shbuf__control *c, struct shbuf__positions *ret) {
        ret->head = atomic_load_explicit(&c->head.pos, memory_order_acquire);
        ret->tail = atomic_load_explicit(&c->tail.pos, memory_order_acquire);
        ret->consumed = atomic_load_explicit(&c->tail.consumed, memory_order_relaxed);
        ret->backlog_target = atomic_load_explicit(&c->lock.backlog_target, memory_order_relaxed);
        ret->write_count = atomic_load_explicit(&c->head.count, memory_order_relaxed);
        ret->read_count = atomic_load_explicit(&c->tail.count, memory_order_relaxed);
        ret->ignore_write_inc = atomic_load_explicit(&c->head.ignore, memory_order_relaxed) != 0;
        ret->ignore_read_inc = atomic_load_explicit(&c->tail.ignore, memory_order_relaxed) != 0;
}

/* With the ring frozen: write every field. */
static void store_positions(struct shbuf__control *c, const struct shbuf__positions *p) {
        atomic_store(&c->head.pos, p->head);
        atomic_store(&c->tail.pos, p->tail);
        atomic_store(&c->tail.consumed, p->consumed);
        atomic_store(&c->lock.backlog_target, p->backlog_target);
        atomic_store(&c->head.count, p->write_count);
        atomic_store(&c->tail.count, p->read_count);
        atomic_store(&c->head.ignore, p->ignore_write_inc);
        atomic_store(&c->tail.ignore, p->ignore_read_inc);
}

/*
 * Whether the transfer a mark announces may still end in a commit: it is
 * busy, by a handle that is alive. A mark of our own side is ours (one
 * handle per side) and ends soon, unless this handle has no transfer under
 * way, in which case a dead predecessor left it.
 */
static bool transfer_under_way(shbuf *sb, enum shbuf__dir d, uint32_t mark) {
        if (!(mark & SHBUF__MARK_BUSY))
                return false;
        int side = mark & SHBUF__MARK_SIDE ? SHBUF__CLIENT : SHBUF__PROVIDER;
        if (side == sb->side)
                return atomic_load(&sb->dir[d].busy);
        if (atomic_load(&sb->control->side[side].state) != SHBUF__SIDE_ATTACHED)
                return false;
        pthread_mutex_lock(&sb->mutex);
        shbuf__peer_refresh(sb);
        bool gone = shbuf__peer_gone(sb, true);
        pthread_mutex_unlock(&sb->mutex);
        return !gone;
}

static void nap_ms(int ms) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long) ms * 1000000};
        nanosleep(&ts, NULL);
}

/*
 * Thaw the ring, in a new epoch if it changed. A side whose look found it
 * frozen found nothing to do and may sleep on that: it said so (THAW), and
 * hears of the thaw. Its flag and our clearing are read-modify-writes of
 * one word, so either we see its flag or it sees the ring thawed.
 */
static void thaw(shbuf *sb, bool changed) {
        struct shbuf__lock *l = &sb->control->lock;
        uint32_t old = atomic_fetch_and(&l->state, ~SHBUF__STATE_FLAGS);
        if (changed)
                atomic_fetch_add(&l->state, SHBUF__STATE_EPOCH);
        for (int side = 0; side < 2; side++)
                if (old & SHBUF__STATE_THAW(side))
                        shbuf__announce_side(sb, side);
}

/* With the lock held: freeze the ring, within deadline_ms. */
static int freeze(shbuf *sb, int64_t deadline_ms) {
        struct shbuf__lock *l = &sb->control->lock;
        atomic_fetch_or(&l->state, SHBUF__STATE_FROZEN);
        if (!shbuf__heavy_fence() && shbuf__peer_needs_grace(sb))
                nap_ms(GRACE_MS);
        for (int d = 0; d < 2; d++) {
                for (unsigned i = 0;; i++) {
                        uint32_t mark = atomic_load_explicit(&sb->control->mark[d].word, memory_order_acquire);
                        if (!transfer_under_way(sb, d, mark))
                                break;
                        if (shbuf__ms_left(deadline_ms) == 0) {
                                thaw(sb, false);
                                return -ETIMEDOUT;
                        }
                        /* A transfer is a copy and a commit: microseconds,
                         * unless its process was stopped. */
                        if (i < 64)
                                sched_yield();
                        else
                                nap_ms(1);
                }
        }
        return 0;
}

/* Take the lock and freeze the ring, or fail with neither held. */
static int lock_frozen(shbuf *sb) {
        int64_t deadline = shbuf__os_now_ms() + shbuf__lock_wait_ms;
        int r = shbuf__lock(sb, deadline);
        if (r < 0)
                return r;
        r = freeze(sb, deadline);
        if (r < 0)
                shbuf__unlock(sb);
        return r;
}

bool shbuf__holds_lock(shbuf *sb) {
        return atomic_load(&sb->lock_held) && pthread_equal(sb->lock_thread, pthread_self());
}

static void view_of(const struct shbuf__ring *r, shbuf_status *ret) {
        shbuf__ring_store(r, ret);
}

int shbuf__status_lock(shbuf *sb) {
        struct shbuf__positions p;
        struct shbuf__ring ring;

        if (shbuf__holds_lock(sb))
                return -EDEADLK; /* not recursive */
        int r = lock_frozen(sb);
        if (r < 0)
                return r;
        shbuf__load_positions(sb->control, &p);
        r = shbuf__ring_from_positions(&ring, &p, sb->size);
        /* Nor over zeros the SIGBUS trap left (memtrap.c). */
        if (shbuf__trapped(sb))
                r = -EPIPE;
        if (r < 0) {
                /* The lock is handed to the program only over a valid ring. */
                thaw(sb, false);
                shbuf__unlock(sb);
                return r;
        }
        pthread_mutex_lock(&sb->view_mutex);
        view_of(&ring, &sb->view);
        sb->view_orig = sb->view;
        pthread_mutex_unlock(&sb->view_mutex);
        return 0;
}

int shbuf__status_unlock(shbuf *sb) {
        struct shbuf__ring ring;
        int r = 0;

        if (!shbuf__holds_lock(sb))
                return -EPERM;
        bool changed = memcmp(&sb->view, &sb->view_orig, sizeof(sb->view)) != 0;
        if (shbuf__trapped(sb)) {
                /* An object was truncated under us while the program held
                 * the lock: its edits are of a ring that is gone. */
                r = -EPIPE;
                changed = false;
        } else if (changed) {
                /* An edit the ring cannot hold is refused, not stored: the
                 * other side must never find it. */
                r = shbuf__ring_load(&ring, &sb->view, sb->size);
                if (r == 0) {
                        struct shbuf__positions p;
                        shbuf__ring_to_positions(&ring, &p);
                        store_positions(sb->control, &p);
                } else {
                        r = -EINVAL;
                        changed = false;
                }
        }
        thaw(sb, changed);
        shbuf__unlock(sb);
        /* Or while we stored them: then they went nowhere. */
        return shbuf__trapped(sb) ? -EPIPE : r;
}

shbuf_status *shbuf__get_status(shbuf *sb) {
        /* Under the lock the view is the program's to edit; otherwise it
         * is refreshed, unless another thread of ours holds the lock. */
        if (atomic_load(&sb->lock_held))
                return &sb->view;
        struct shbuf__positions p;
        struct shbuf__ring ring;
        shbuf__load_positions(sb->control, &p);
        pthread_mutex_lock(&sb->view_mutex);
        if (!atomic_load(&sb->lock_held) && shbuf__ring_from_positions(&ring, &p, sb->size) == 0)
                view_of(&ring, &sb->view);
        pthread_mutex_unlock(&sb->view_mutex);
        return &sb->view;
}

/* Take the lock within deadline_ms (-1: the usual bound) and thaw the
 * ring if it is still frozen. */
static int unfreeze(shbuf *sb, int64_t deadline_ms) {
        if (shbuf__holds_lock(sb))
                return -EDEADLK; /* frozen by the caller itself */
        /* A holder keeps the lock until it thaws the ring: once we have it,
         * a freeze still there was left by a holder that died, or written
         * by a scribbling peer, and is ours to thaw. */
        int r = shbuf__lock(sb, deadline_ms);
        if (r < 0)
                return r;
        if (atomic_load(&sb->control->lock.state) & SHBUF__STATE_FROZEN)
                thaw(sb, true); /* what was cached of it may not hold */
        shbuf__unlock(sb);
        return 0;
}

int shbuf__wait_unfrozen(shbuf *sb) {
        return unfreeze(sb, -1);
}

/*
 * From within a call, its busy mark set: a holder that froze the ring
 * waits for that mark to clear (freeze()), so waiting here for its lock
 * would hold both up until the holder's bound. Only a lock to be had at
 * once (free, or its holder gone) is taken.
 */
void shbuf__thaw_orphaned(shbuf *sb) {
        (void) unfreeze(sb, shbuf__os_now_ms());
}

/*
 * shbuf_reset() and shbuf_zero(). They exist to recover a buffer too, so
 * they rewrite whatever the ring holds, valid or not; the counters and the
 * backlog target are kept, the ignore flags too.
 */
int shbuf__reset(shbuf *sb, bool zero) {
        struct shbuf__positions p;

        if (shbuf__holds_lock(sb))
                return -EDEADLK;
        int r = lock_frozen(sb);
        if (r < 0)
                return r;
        if (shbuf__trapped(sb)) {
                /* Nothing to recover: the objects were truncated under us. */
                thaw(sb, false);
                shbuf__unlock(sb);
                return -EPIPE;
        }
        shbuf__load_positions(sb->control, &p);
        p.head = p.tail = p.consumed = 0;
        /* Zeroing while frozen keeps a writer from filling the ring while
         * it is being cleared. */
        if (zero)
                memset(sb->data, 0, sb->size);
        store_positions(sb->control, &p);
        thaw(sb, true);
        shbuf__unlock(sb);
        /* A reset changes no commit count: announce it. */
        shbuf__announce_side(sb, !sb->side);
        /* Zeroing may have been what found the data truncated. */
        return shbuf__trapped(sb) ? -EPIPE : 0;
}
