/*
 * The status lock word.
 *
 * The data path never takes this lock (see transfer.c); it is for direct
 * access to the status (shbuf_status_lock()), reset and zero, so it is
 * built for never hanging rather than for speed:
 *
 *   - The word holds the holder's tag, a number unique to each handle
 *     (not a pid: pids are recycled and mean nothing in another pid
 *     namespace), plus a CONTENDED bit. Taking a free lock is one
 *     compare-and-swap; a waiter sets CONTENDED and sleeps, and an unlock
 *     that finds the bit set wakes one sleeper (a futex-style mutex). A
 *     waiter killed in its sleep leaves at most the bit behind, which the
 *     next unlock clears: there is no count to leak.
 *   - Sleeps are short (1, 2, 4 ... 16 ms) and after each one the waiter
 *     asks whether the holder is still there: a tag that is no side's
 *     current one, or a side whose process died, is taken over at once; so
 *     is our own tag when this handle does not hold the lock (a forked
 *     child, a scribbling peer).
 *   - Every wait is bounded (shbuf__lock_wait_ms, 2 s, or the caller's
 *     deadline) and a signal ends it with EINTR: a stopped holder (SIGSTOP)
 *     makes callers fail with ETIMEDOUT, never hang.
 *
 * A holder that died left the ring frozen: whoever takes the lock next
 * thaws it (view.c). Its edits, made to its own view, die with it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>

#include "handle.h"

#define LOCK_SPINS 100

int shbuf__lock_wait_ms = 2000;
#define LOCK_NAP_MAX_MS 16

static int sleep_on(shbuf *sb, _Atomic uint32_t *word, uint32_t expected, int timeout_ms) {
        if (sb->backend->lock_sleep)
                return sb->backend->lock_sleep(&sb->map, word, expected, timeout_ms);
        return shbuf__os_futex_wait(word, expected, timeout_ms);
}

static void wake_one(shbuf *sb, _Atomic uint32_t *word) {
        if (sb->backend->lock_wake)
                sb->backend->lock_wake(&sb->map, word);
        else
                shbuf__os_futex_wake(word, 1);
}

/* Whether the holder's tag belongs to a live handle that really holds it. */
static bool holder_alive(shbuf *sb, uint32_t tag) {
        if (tag == sb->tag)
                return atomic_load(&sb->lock_held);
        return shbuf__tag_alive(sb, tag);
}


int shbuf__lock(shbuf *sb, int64_t deadline_ms) {
        _Atomic uint32_t *word = &sb->control->lock.owner;
        uint32_t free_word = 0;

        if (deadline_ms < 0)
                deadline_ms = shbuf__os_now_ms() + shbuf__lock_wait_ms;
        if (atomic_compare_exchange_strong(word, &free_word, sb->tag))
                goto taken;
        /* Held for a few microseconds by reset and by most status edits. */
        for (int i = 0; i < LOCK_SPINS; i++) {
                cpu_relax();
                free_word = 0;
                if (atomic_load_explicit(word, memory_order_relaxed) == 0 &&
                    atomic_compare_exchange_strong(word, &free_word, sb->tag))
                        goto taken;
        }

        for (int nap = 1;; nap = nap * 2 > LOCK_NAP_MAX_MS ? LOCK_NAP_MAX_MS : nap * 2) {
                uint32_t w = atomic_load(word);
                uint32_t tag = w & SHBUF__LOCK_TAG_MASK;
                /* Free, or held by nobody that can still release it: take it,
                 * keeping CONTENDED, since others may sleep on it. */
                bool dead = tag != 0 && !holder_alive(sb, tag);
                if (tag == 0 || dead) {
                        if (atomic_compare_exchange_strong(word, &w, sb->tag | SHBUF__LOCK_CONTENDED)) {
                                /* It may have died with the ring frozen:
                                 * every taker of the lock thaws it when
                                 * done (view.c). */
                                if (dead)
                                        atomic_fetch_add(&sb->control->lock.recoveries, 1);
                                goto taken;
                        }
                        continue;
                }
                /* Out of time before saying we sleep: a caller that may
                 * not wait leaves the word as it found it. */
                int left = shbuf__ms_left(deadline_ms);
                if (left == 0)
                        return -ETIMEDOUT;
                if (!(w & SHBUF__LOCK_CONTENDED) &&
                    !atomic_compare_exchange_strong(word, &w, w | SHBUF__LOCK_CONTENDED))
                        continue;
                int r = sleep_on(sb, word, w | SHBUF__LOCK_CONTENDED, left < nap ? left : nap);
                if (r == -EPIPE || (r == -EINTR && !shbuf__interrupt_restarts()))
                        return r;
        }
taken:
        sb->lock_thread = pthread_self();
        atomic_store(&sb->lock_held, true);
        return 0;
}

void shbuf__unlock(shbuf *sb) {
        _Atomic uint32_t *word = &sb->control->lock.owner;
        atomic_store(&sb->lock_held, false);
        uint32_t w = atomic_load(word);
        /* Release only what is ours: a lock taken over from us (a peer
         * scribbled our tag away) belongs to its new holder. A waiter may
         * set CONTENDED meanwhile: then try again. */
        while ((w & SHBUF__LOCK_TAG_MASK) == sb->tag)
                if (atomic_compare_exchange_strong(word, &w, 0)) {
                        if (w & SHBUF__LOCK_CONTENDED)
                                wake_one(sb, word);
                        return;
                }
}
