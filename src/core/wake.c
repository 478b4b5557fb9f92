/*
 * Waking the other side: the wait word protocol.
 *
 * Each side has a wait word in its side block. A side about to sleep sets
 * WAITING (and SELECT when it waits through the select descriptor, SPACE
 * when it is a writer that wants half the ring free), then makes sure that
 * every commit of the peer either sees WAITING or is seen by it: a heavy
 * fence on the sleeper's side, the light one after every commit (handle.h),
 * and one more look before it sleeps (wait.c).
 *
 * A committer that sees WAITING without PENDING claims the right to send
 * by setting PENDING with an atomic OR, and only the one that set it sends.
 * The sleeper clears PENDING once it took the wake-up (or discarded the
 * source it was sent to). So at most one wake-up per direction is ever in
 * flight: a peer that never sleeps in the channel, or a program that calls
 * shbuf_notify() a million times, cannot fill a channel, and nothing else
 * (deadlines, the peer's death) travels through one the peer writes.
 *
 * A commit costs one plain load of the peer's wait word here, and a system
 * call only when the peer sleeps. Commits that change nothing a waiter
 * looks at (a dropped one, shbuf_notify(), a reset, an edit of the status)
 * bump the peer's event counter first.
 *
 * Hysteresis: a writer that sleeps because the ring is nearly full sets
 * SPACE, and the reader's commits wake it only once half the ring is free,
 * instead of once per chunk taken: one wake-up then refills half the ring.
 * A wake-up held back this way is owed, and paid before the reader sleeps
 * itself, so the two sides never both sleep on each other. A reader that
 * waits through the select descriptor never comes back through a wait of
 * ours before it sleeps, so it holds nothing back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>

#include "handle.h"

void shbuf__wake_side(const struct shbuf__backend *b, struct shbuf__map *m, int side) {
        _Atomic uint32_t *w = &m->control->side[side].wait;
        uint32_t old = atomic_fetch_or(w, SHBUF__WAIT_PENDING);
        if (old & SHBUF__WAIT_PENDING)
                return;
        /* If it stopped waiting meanwhile, the wake-up is taken at its next
         * sleep: one spurious return, never a lost one. One that could not
         * be sent is not in flight: the next commit tries again. */
        if (b->send(m, side, old & SHBUF__WAIT_SELECT) < 0)
                atomic_fetch_and(w, ~SHBUF__WAIT_PENDING);
}

static void wake_side(shbuf *sb, int side) {
        shbuf__wake_side(sb->backend, &sb->map, side);
}

static bool wants_wakeup(uint32_t w) {
        return (w & (SHBUF__WAIT_WAITING | SHBUF__WAIT_PENDING)) == SHBUF__WAIT_WAITING;
}

void shbuf__wake_after_commit(shbuf *sb, enum shbuf__dir d, uint64_t free_bytes) {
        _Atomic uint32_t *w = &shbuf__other(sb)->wait;

        /* The commit's stores, then the look at the wait word: see the top. */
        shbuf__light_fence(sb);
        uint32_t seen = atomic_load_explicit(w, memory_order_relaxed);
        if (!wants_wakeup(seen))
                return;
        /* Only a read commit may be held back: it is the one a writer
         * waiting for space wants, while data always wakes at once. */
        if (d == SHBUF__READ && (seen & SHBUF__WAIT_SPACE) && free_bytes < sb->size / 2 && !sb->select) {
                atomic_store(&sb->owed_wake, true);
                return;
        }
        wake_side(sb, !sb->side);
}

void shbuf__pay_owed_wake(shbuf *sb) {
        if (!atomic_load_explicit(&sb->owed_wake, memory_order_relaxed) || !atomic_exchange(&sb->owed_wake, false))
                return;
        if (atomic_load(&shbuf__other(sb)->wait) & SHBUF__WAIT_WAITING)
                wake_side(sb, !sb->side);
}

/* Tell side news that no commit count shows. The counter's atomic add is
 * a full fence: the look at the wait word comes after it. */
void shbuf__announce_side(shbuf *sb, int side) {
        struct shbuf__side_block *s = &sb->control->side[side];
        atomic_fetch_add(&s->events, 1);
        if (wants_wakeup(atomic_load(&s->wait)))
                wake_side(sb, side);
}

int shbuf__notify(shbuf *sb) {
        if (atomic_load(&sb->peer.removed) || shbuf__trapped(sb))
                return -EPIPE;
        shbuf__announce_side(sb, !sb->side);
        return 0;
}

void shbuf__wait_arm(shbuf *sb, uint32_t how) {
        _Atomic uint32_t *w = &shbuf__self(sb)->wait;
        uint32_t old = atomic_load(w);
        /* PENDING stays: a wake-up in flight is ours to take. */
        while (!atomic_compare_exchange_weak(w, &old, (old & SHBUF__WAIT_PENDING) | SHBUF__WAIT_WAITING | how))
                ;
}

void shbuf__wait_disarm(shbuf *sb, bool took_wakeup) {
        uint32_t clear = SHBUF__WAIT_WAITING | SHBUF__WAIT_SELECT | SHBUF__WAIT_SPACE;
        if (took_wakeup)
                clear |= SHBUF__WAIT_PENDING;
        atomic_fetch_and(&shbuf__self(sb)->wait, ~clear);
}
