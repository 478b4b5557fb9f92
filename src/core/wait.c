/*
 * shbuf_wait(): block until the peer commits or notifies.
 *
 * A wait returns at once when anything is news to the calling thread
 * (news.c), and otherwise spins while that can help (spin.c), pays a
 * wake-up its own commits held back (wake.c), and sleeps: it arms its wait
 * word, makes sure every commit of the peer either sees that or is seen
 * by one more look, and sleeps in the wake-up channel (sleep.c) or, with
 * notification enabled, on the select descriptor (select.c).
 *
 * The heavy fence that makes the last look safe is a global membarrier()
 * where the system has one (os.h): then the peer's commits need no fence
 * at all. Where it does not reach the peer, a commit made just before we
 * armed might still sit in the peer's store buffer; so the first sleep of
 * such a wait lasts at most GRACE_MS, far longer than any CPU keeps a
 * store to itself, and looks once more before it sleeps for good.
 *
 * Several threads may wait on one handle. Only one of them sleeps in the
 * channel (a wake-up wakes one receiver); the others sleep on a condition
 * variable and are all woken when it returns, so one wake-up serves every
 * waiter. With notification enabled they all sleep on the select
 * descriptor instead, which wakes them all.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <time.h>

#include "handle.h"

#define GRACE_MS 2
#define ALIVE_CHECK_MS 200

/* Objects removed behind our back (ipcrm, shm_unlink) wake nobody; a pair
 * that keeps streaming sleeps often, so a check now and then before a
 * sleep finds out soon, at a bounded cost. Several waiting threads may
 * check at once (outside sb->mutex); a check more is harmless. */
static bool removed(shbuf *sb, bool force) {
        int64_t now = shbuf__os_now_ms();
        if (!force && now - atomic_load_explicit(&sb->alive_checked_ms, memory_order_relaxed) < ALIVE_CHECK_MS)
                return atomic_load(&sb->peer.removed);
        atomic_store_explicit(&sb->alive_checked_ms, now, memory_order_relaxed);
        if (sb->backend->check_alive(&sb->map) < 0)
                atomic_store(&sb->peer.removed, true);
        return atomic_load(&sb->peer.removed);
}

/*
 * One sleep in the channel, by the thread that holds the receiver role:
 * arm, the heavy fence, one more look, sleep. Returns 1 (woken or news), 0
 * (the time ran out), -errno.
 */
static int sleep_once(shbuf *sb, int d, int64_t deadline, bool *graced) {
        uint32_t how = d == SHBUF__WRITE && atomic_load(&sb->dir[d].space_low) ? SHBUF__WAIT_SPACE : 0;
        shbuf__wait_arm(sb, how);
        bool reached = shbuf__heavy_fence();
        if (shbuf__news(sb, d)) {
                shbuf__wait_disarm(sb, false);
                return 1;
        }
        if (removed(sb, false)) {
                shbuf__wait_disarm(sb, false);
                return -EPIPE;
        }
        int64_t until = deadline;
        if (!reached && !*graced && shbuf__peer_needs_grace(sb)) {
                int64_t grace = shbuf__os_now_ms() + GRACE_MS;
                if (until < 0 || grace < until) {
                        until = grace;
                        *graced = true;
                }
        }
        int r = shbuf__sleep_channel(sb, until);
        shbuf__wait_disarm(sb, r == 1);
        return r;
}

/*
 * A turn, without sb->mutex: spin, pay what we owe, sleep once: in the
 * channel, as its receiver, or with notification enabled on the select
 * descriptor. 1: look again; 0: the time ran out; -errno.
 */
static int turn(shbuf *sb, int d, int64_t deadline, bool via_select, bool *graced) {
        if (shbuf__spin_wait(sb, d, deadline))
                return 1;
        shbuf__pay_owed_wake(sb);
        if (!via_select)
                return sleep_once(sb, d, deadline, graced);
        pthread_mutex_lock(&sb->mutex);
        /* Disabled meanwhile: look again (and sleep in the channel). */
        int r = sb->select ? shbuf__select_sleep(sb, d, deadline) : 1;
        pthread_mutex_unlock(&sb->mutex);
        return r;
}

/* With sb->mutex held: wait for the receiver's turn to end, or the deadline. */
static void await_receiver(shbuf *sb, int64_t deadline) {
        uint64_t gen = sb->wake_gen;
        while (sb->receiving && sb->wake_gen == gen) {
                int left = shbuf__ms_left(deadline);
                if (left < 0) {
                        pthread_cond_wait(&sb->cond, &sb->mutex);
                        continue;
                }
                if (left == 0)
                        return;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += left / 1000;
                ts.tv_nsec += (long) (left % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&sb->cond, &sb->mutex, &ts);
        }
}

int shbuf__wait(shbuf *sb, int timeout_ms) {
        int64_t deadline = timeout_ms < 0 ? -1 : shbuf__os_now_ms() + timeout_ms;
        int d = shbuf__last_dir(sb);
        bool graced = false, woke = false;
        int r;

        /* Zeros the SIGBUS trap left (memtrap.c) are no news to wait for. */
        if (shbuf__trapped(sb))
                return -EPIPE;
        if (d < 0) {
                /* This thread never looked: anything there is news to it.
                 * From now on it waits for either role to move. */
                shbuf__note_both(sb, atomic_load(&sb->control->head.count), atomic_load(&sb->control->tail.count));
                return 0;
        }
        pthread_mutex_lock(&sb->mutex);
        for (;;) {
                if (shbuf__news(sb, d)) {
                        shbuf__take_news(sb, d);
                        r = 0;
                        break;
                }
                /* After a wake-up with no news, ask the peer's pidfd: its
                 * readiness may be what ended the sleep. */
                shbuf__peer_refresh(sb);
                if (shbuf__peer_gone(sb, woke) || atomic_load(&sb->peer.removed) || shbuf__trapped(sb)) {
                        /* A peer that committed, then left (or died) since
                         * the look above: its last commits are news all
                         * the same, and come first; the next wait fails. */
                        if (!shbuf__trapped(sb) && shbuf__news(sb, d)) {
                                shbuf__take_news(sb, d);
                                r = 0;
                                break;
                        }
                        r = -EPIPE;
                        break;
                }
                if (shbuf__ms_left(deadline) == 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                /* With notification enabled every waiting thread sleeps on
                 * the descriptor, and takes and re-arms what wakes it (as
                 * shbuf_post_select() does): the channel is the notifier
                 * thread's then, or nobody's, and a wait that left the
                 * re-arming to the program would sleep until it did. */
                const bool via_select = sb->select != NULL;
                if (!via_select && sb->receiving) {
                        await_receiver(sb, deadline);
                        continue;
                }
                if (!via_select)
                        sb->receiving = true;
                pthread_mutex_unlock(&sb->mutex);
                r = turn(sb, d, deadline, via_select, &graced);
                /* A signal whose handler asked for restarts: sleep on, to
                 * the same deadline. */
                if (r == -EINTR && shbuf__interrupt_restarts())
                        r = 1;
                /* Woken with nothing new: were the objects removed? */
                if (r == -EPIPE || (r == 1 && !shbuf__news(sb, d) && removed(sb, true))) {
                        atomic_store(&sb->peer.removed, true);
                        r = -EPIPE;
                }
                woke = true;
                pthread_mutex_lock(&sb->mutex);
                if (!via_select) {
                        sb->receiving = false;
                        sb->wake_gen++;
                        pthread_cond_broadcast(&sb->cond);
                }
                if (r < 0)
                        break;
                /* 1 or 0: the next round sorts out why. */
        }
        pthread_mutex_unlock(&sb->mutex);
        /* The trap may have fired while we looked or slept: what we saw
         * was zeros. */
        return shbuf__trapped(sb) ? -EPIPE : r;
}
