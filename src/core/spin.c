/*
 * The spin policy: when a side that found nothing to do spins for the
 * peer's next commit instead of sleeping.
 *
 * Sleeping costs both sides a system call and the sleeper a wake-up
 * (about 20 µs on a VM whose idle CPUs must be woken), so spinning a few
 * microseconds pays when the commit awaited is that close. One rule
 * decides, everywhere:
 *
 *   - never while the peer sleeps in a wait of its own: it will not commit
 *     before it is woken;
 *   - when the peer's last call ran on this very CPU, the spin yields the
 *     CPU at every turn instead of holding it: the peer may need it
 *     (measured with both sides pinned to one CPU, a 64-byte round trip
 *     took 115 µs with a 50 µs spin that held it, 4.7 µs with a pipe);
 *   - while the transfer it waits for is under way (the peer's mark says
 *     it is in a call of that direction, or that a zero-copy look found
 *     something and its commit is due), and a few polls past the end of
 *     one, for the next (a streaming peer starts it at once), for at most
 *     busy_spin_us, 20 µs by default: the commit is microseconds away, and
 *     a streaming pair stays out of the kernel altogether;
 *   - otherwise for at most spin_us, 0 unless the program asked
 *     (shbuf_set_spin()): a peer that is active usually commits again
 *     within microseconds, which makes round trips faster at the price of
 *     CPU time.
 *
 * A program that waits through the select descriptor sleeps in its own
 * poll(), where no spin can reach, so for it the look that finds nothing
 * spins instead, for a transfer under way only (shbuf__spin_after_look()).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <sched.h>

#include "handle.h"

/*
 * Polls (a couple of microseconds) that the spin for a transfer goes on
 * after the mark was seen clear: a streaming peer clears it at each commit
 * and sets it again at its next look, and a waiter that caught up just
 * then would otherwise sleep through the next transfer.
 */
#define GRACE_POLLS 64

/* The mark is looked at every MARK_EVERY polls only: the peer writes its
 * line at every call, and a spinner that kept reading it would make each
 * of those writes a cache miss. The news it waits for is on another line. */
#define MARK_EVERY 16

/* The mark of the peer's role that brings the news d waits for: a reader
 * waits for the writer's commit, a writer for the reader's, a look at both
 * for either. */
static uint32_t peer_mark(shbuf *sb, int d) {
        const struct shbuf__mark *m = sb->control->mark;
        if (d != SHBUF__BOTH)
                return atomic_load_explicit(&m[!d].word, memory_order_relaxed);
        uint32_t w = atomic_load_explicit(&m[SHBUF__WRITE].word, memory_order_relaxed);
        return w & (SHBUF__MARK_BUSY | SHBUF__MARK_TRANSFER) ? w
                                                             : atomic_load_explicit(&m[SHBUF__READ].word,
                                                                                    memory_order_relaxed);
}

/* In a call (a copy of shbuf_write() or shbuf_read() is one) or between
 * a zero-copy look and its commit. */
static bool transfer_under_way(uint32_t mark) {
        return mark & (SHBUF__MARK_BUSY | SHBUF__MARK_TRANSFER);
}

/* Whether the peer's last call ran on the CPU we run on now. */
static bool same_cpu(uint32_t mark) {
        uint32_t cpu = mark >> SHBUF__MARK_CPU_SHIFT;
        int mine = shbuf__os_cpu();
        return cpu != 0 && mine >= 0 && cpu == (uint32_t) mine + 1;
}

static bool peer_sleeps(shbuf *sb) {
        return atomic_load_explicit(&shbuf__other(sb)->wait, memory_order_relaxed) & SHBUF__WAIT_WAITING;
}

/*
 * Spin until news (true), the limit, or the deadline. With for_transfer,
 * also stop a few polls after the peer's transfer is no longer under way.
 */
static bool spin(shbuf *sb, int d, uint32_t limit_us, bool for_transfer, int64_t deadline_ms) {
        int64_t end = shbuf__os_now_us() + limit_us;
        bool yield = d >= 0 && same_cpu(peer_mark(sb, d));
        unsigned idle = 0;
        for (unsigned i = 1;; i++) {
                if (shbuf__news(sb, d))
                        return true;
                if (for_transfer && i % MARK_EVERY == 0) {
                        if (!transfer_under_way(peer_mark(sb, d))) {
                                if (++idle > GRACE_POLLS / MARK_EVERY)
                                        return false;
                        } else {
                                idle = 0;
                        }
                }
                if (yield)
                        sched_yield();
                else
                        cpu_relax();
                if (i % 64 == 0 || yield) {
                        if (shbuf__os_now_us() >= end || (deadline_ms >= 0 && shbuf__os_now_ms() >= deadline_ms))
                                return false;
                        if (i % 64 == 0)
                                yield = d >= 0 && same_cpu(peer_mark(sb, d));
                }
        }
}

bool shbuf__spin_wait(shbuf *sb, int d, int64_t deadline_ms) {
        uint32_t spin_us = atomic_load_explicit(&sb->spin_us, memory_order_relaxed);
        uint32_t busy_us = atomic_load_explicit(&sb->busy_spin_us, memory_order_relaxed);
        if ((spin_us == 0 && busy_us == 0) || peer_sleeps(sb))
                return false;
        if (spin_us > 0 && spin(sb, d, spin_us, false, deadline_ms))
                return true;
        /* Even when the peer is between two transfers right now, a few
         * polls tell whether it starts the next one: a streaming peer is
         * that close, an idle one costs us a microsecond or two. */
        return d >= 0 && busy_us > 0 && spin(sb, d, busy_us, true, deadline_ms);
}

bool shbuf__spin_after_look(shbuf *sb, enum shbuf__dir d) {
        uint32_t busy_us = atomic_load_explicit(&sb->busy_spin_us, memory_order_relaxed);
        if (busy_us == 0 || !sb->select || !transfer_under_way(peer_mark(sb, d)) || peer_sleeps(sb))
                return false;
        return spin(sb, d, busy_us, true, -1);
}
