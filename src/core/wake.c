/*
 * The notification policy and shbuf_wait().
 *
 * Policy: a committing side sends a wake-up message only when the other side
 * has published that it is waiting. A commit already changes the status
 * block's counters (write_count, read_count) under the lock, so it needs no
 * other shared write: the lock's cache line is the only one it moves. Other
 * notifications (shbuf_notify(), reset, attach, detach) bump the other side's
 * event counter. A waiter publishes "waiting", then looks at the counters
 * under the lock and at its event counter before it sleeps; with both steps
 * sequentially consistent, either the committer sees the flag or the waiter
 * sees the new counts, so no wake-up is lost. The committer clears the flag
 * when it sends, so one sleep costs the other side at most one message.
 *
 * Each thread remembers the counters it saw when it last looked at the
 * status (any helper, or shbuf_status_lock()). shbuf_wait() returns at once
 * when they moved since then, so data committed between looking and waiting
 * is never slept through.
 *
 * Hysteresis: a writer that sleeps because the ring is (nearly) full says so
 * (wants_space), and the reader's commits wake it only once half the ring is
 * free, instead of once per chunk taken; one wake-up then refills half the
 * ring. A wake-up held back this way is owed: the reader sends it before it
 * sleeps itself, so the two sides never both sleep on each other. A reader
 * that waits through the select descriptor does not come back through
 * shbuf_wait() before it sleeps, so its commits never hold a wake-up back.
 *
 * Waiting for a transfer under way: a waiter whose last look was on the read
 * side (write side) and who finds the peer in the middle of a write (read),
 * between the look that found room (data) and its commit, spins until that
 * commit instead of sleeping, for at most busy_spin_us (20 us by default,
 * SHBUF_BUSY_SPIN_US, shbuf_set_busy_spin()), and a couple of microseconds past a commit for the next
 * transfer to start. The commit is then microseconds away, so this costs
 * less CPU than the sleep and wake-up it saves, and a streaming pair stays
 * out of the kernel altogether. Like a kernel mutex's optimistic spin, it
 * only spins while the peer is at work: an idle side never spins, so it
 * is not the unconditional spin of shbuf_set_spin(), which stays off. A
 * program that waits in its own poll() on the select descriptor cannot be
 * spun for there, so for it the look that finds nothing spins instead
 * (shbuf__spin_after_look()).
 *
 * Several threads of one process may wait on one handle. Only one of them
 * sleeps in the wake-up channel; the others sleep on a condition variable and
 * are all woken when it returns, so one message can serve every waiter.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "handle.h"

/* ---- what this thread has seen ---------------------------------------- */

#define SEEN_SLOTS 8

struct seen_slot {
        uint64_t handle_id;
        uint32_t events;       /* this side's event counter */
        uint64_t commits;      /* write_count + read_count */
        bool wants_space;      /* the last look was on the write side, with less than half free */
        enum shbuf__look look; /* the side of the last look: which transfer a wait waits for */
        /* The ring as this thread last saw it on one side (kept_side;
         * SHBUF__LOOK_OTHER: none), by a look or by its own commit, with
         * what the counters and the handle's moved count were then. */
        enum shbuf__look kept_side;
        struct shbuf__ring kept;
        uint32_t kept_events;
        uint64_t kept_commits;
        uint32_t kept_moved;
};

static _Thread_local struct seen_slot seen_slots[SEEN_SLOTS];
static _Thread_local unsigned seen_next;

static struct seen_slot *seen_find(const shbuf *sb) {
        for (unsigned i = 0; i < SEEN_SLOTS; i++)
                if (seen_slots[i].handle_id == sb->id)
                        return &seen_slots[i];
        return NULL;
}

static uint64_t commits_of(const struct shbuf__ring *r) {
        return r->write_count + r->read_count;
}

/* The commit count as the status shows it now, read without the lock: a
 * hint. Both counters only grow, and only under the lock, so an unchanged
 * count means nobody committed (a reset or a status edit changes no
 * counter: those come through the event counter and the moved count). */
static uint64_t commits_hint(const shbuf *sb) {
        const volatile shbuf_status *st = &sb->control->status;
        return (uint64_t) st->write_count + (uint64_t) st->read_count;
}

/* The slot of sb, taken if this thread has none yet; its counters as ring
 * shows them. */
static struct seen_slot *see(shbuf *sb, const struct shbuf__ring *ring) {
        struct seen_slot *s = seen_find(sb);
        if (!s) {
                /* Round robin: a thread juggling more handles than slots only
                 * gets an extra, spurious return from shbuf_wait(). */
                s = &seen_slots[seen_next++ % SEEN_SLOTS];
                s->handle_id = sb->id;
        }
        s->events = atomic_load(&shbuf__self(sb)->events);
        s->commits = commits_of(ring);
        return s;
}

static void note_look(shbuf *sb, struct seen_slot *s, enum shbuf__look look,
                      const struct shbuf__ring *ring) {
        s->wants_space = look == SHBUF__LOOK_WRITE && shbuf__ring_free(ring) < sb->size / 2;
        s->look = look;
}

static void keep(shbuf *sb, struct seen_slot *s, enum shbuf__look side, const struct shbuf__ring *ring) {
        s->kept_side = side;
        s->kept = *ring;
        s->kept_events = s->events;
        s->kept_commits = s->commits;
        s->kept_moved = atomic_load(&sb->moved);
}

void shbuf__saw(shbuf *sb, enum shbuf__look look, const struct shbuf__ring *ring) {
        struct seen_slot *s = see(sb, ring);
        note_look(sb, s, look, ring);
        keep(sb, s, look, ring);
}

void shbuf__saw_commit(shbuf *sb, enum shbuf__look side, const struct shbuf__ring *ring) {
        keep(sb, see(sb, ring), side, ring);
}

/*
 * A look without the lock: the ring as this thread last saw it on the same
 * side, by a look under the lock or by its own commit.
 *
 * Only this side produces (or consumes), so that ring stays right for our
 * side: the write position and the free space (the read position and the
 * data) the peer leaves us can only grow. What could move our position is
 * a reset or an edit of the status by a program: the peer's are announced
 * through our event counter, another thread's of ours through the handle's
 * moved count, and both must be as they were. (A reset between a look and
 * its commit was always a race the caller owns; this widens it to the span
 * since the last look.)
 *
 * Whether the ring answers a look as a fresh one would is the caller's to
 * judge, from what the look needs or from shbuf__recalled_exact(). A
 * streaming side so takes the lock once per transfer instead of twice: the
 * lock's compare-and-swap stalls until the line is back from the other
 * core, and that is where a transfer of a few KiB spends its time.
 */
bool shbuf__recall(shbuf *sb, enum shbuf__look side, struct shbuf__ring *ret) {
        struct seen_slot *s = seen_find(sb);
        if (!s || s->kept_side != side || s->kept_events != atomic_load(&shbuf__self(sb)->events) ||
            s->kept_moved != atomic_load(&sb->moved))
                return false;
        note_look(sb, s, side, &s->kept);
        *ret = s->kept;
        return true;
}

/*
 * Whether nobody committed since the ring shbuf__recall() returned was
 * seen: then it is the status as it is now, and any look may use it. This
 * is what a side that has caught up with its peer does over and over, and
 * its looks that find nothing so leave the lock's cache line to the peer,
 * who needs it for the commit awaited. Asked only when the ring will not do
 * anyway: reading the count may fetch the line that the commit just before
 * left with the peer.
 */
bool shbuf__recalled_exact(shbuf *sb) {
        const struct seen_slot *s = seen_find(sb);
        return s && commits_hint(sb) == s->kept_commits;
}

/* What a thread would see now: the event counter and the commit count. */
struct sight {
        uint32_t events;
        uint64_t commits;
};

/*
 * Look now. The counters are read under the lock: taking it orders this
 * after the "waiting" store, as the committer's unlock orders its commit
 * before its look at "waiting". Returns 1 if anything happened since slot
 * was taken, 0 if not, or -errno.
 */
static int look_now(shbuf *sb, const struct seen_slot *slot, struct sight *ret) {
        ret->events = atomic_load(&shbuf__self(sb)->events);
        int r = shbuf__lock(sb);
        if (r < 0)
                return r;
        const volatile shbuf_status *st = &sb->control->status;
        ret->commits = (uint64_t) st->write_count + (uint64_t) st->read_count;
        shbuf__unlock(sb);
        return ret->events != slot->events || ret->commits != slot->commits;
}

/* The same without the lock, for spinning: a hint, confirmed by look_now(). */
static bool moved_hint(shbuf *sb, const struct seen_slot *slot) {
        return atomic_load_explicit(&shbuf__self(sb)->events, memory_order_relaxed) != slot->events ||
               commits_hint(sb) != slot->commits;
}

/* ---- waking the other side -------------------------------------------- */

/* Deliver a wake-up the way the sleeper asked for. */
static void kick(shbuf *sb, uint32_t how) {
        if (how == SHBUF__WAIT_FIFO && shbuf__fifo_kick(sb) == 0)
                return;
        (void) sb->backend->send(sb, !sb->side);
}

/* Wake the other side if it is waiting; the flag is taken, so that only one
 * committer sends for one sleep. */
static void wake_if_waiting(shbuf *sb) {
        struct shbuf__peer *o = shbuf__other(sb);
        if (atomic_load(&o->waiting)) {
                uint32_t how = atomic_exchange(&o->waiting, SHBUF__WAIT_NONE);
                if (how != SHBUF__WAIT_NONE)
                        kick(sb, how);
        }
}

void shbuf__after_commit(shbuf *sb, bool consumed, uint64_t free_bytes) {
        struct shbuf__peer *o = shbuf__other(sb);

        /* The status counters changed under the lock: that is the news. */
        if (!atomic_load(&o->waiting))
                return;
        /* Only a consuming commit may be held back: it is the one a writer
         * waiting for space wants, while data always wakes the other side
         * at once, whatever it said it waits for. */
        if (consumed && atomic_load(&o->wants_space) && free_bytes < sb->size / 2 && !sb->notifier) {
                atomic_store(&sb->owed_wake, true);
                return;
        }
        wake_if_waiting(sb);
}

void shbuf__bump(shbuf *sb) {
        atomic_fetch_add(&shbuf__other(sb)->events, 1);
}

int shbuf__notify(shbuf *sb) {
        struct shbuf__peer *o = shbuf__other(sb);
        if (atomic_load(&sb->removed))
                return -EPIPE;
        atomic_fetch_add(&o->events, 1);
        uint32_t how = atomic_exchange(&o->waiting, SHBUF__WAIT_NONE);
        kick(sb, how == SHBUF__WAIT_NONE ? SHBUF__WAIT_CHANNEL : how);
        return 0;
}

/* ---- sleeping ----------------------------------------------------------- */

#define ALIVE_CHECK_MS 200

static int timeout_left(int64_t deadline) {
        if (deadline < 0)
                return -1;
        int64_t left = deadline - shbuf__now_ms();
        return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int) left;
}

/* Block in the backend's channel; the sentinel thread turns the peer's death
 * and the deadline into wake-up messages, so the sleep itself is one system
 * call, like a pipe's read(). */
static int sleep_blocking(shbuf *sb, int64_t deadline) {
        int r = shbuf__sentinel_arm(sb, deadline);
        if (r < 0)
                return r;
        return sb->backend->recv(sb);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
}

/*
 * Polls (a couple of microseconds: a pause is about 25 ns here) that the
 * spin for a transfer goes on after the mark was seen clear: a streaming
 * peer clears it at each commit and sets it again at its next look, and a
 * waiter that caught up just then would otherwise sleep through the next
 * write. Measured: zero-copy streams went from 0.3-1.3 system calls per MiB
 * to 0.03.
 */
#define BUSY_GRACE_POLLS 64

/*
 * Spin for at most limit_us, until the peer commits or notifies (true), or
 * until *busy, when given, says the transfer awaited is no longer under way.
 */
static bool spin_until_moved(shbuf *sb, const struct seen_slot *slot, int64_t deadline, uint32_t limit_us,
                             const _Atomic uint16_t *busy) {
        if (limit_us == 0)
                return false;
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int64_t limit_ns = (int64_t) limit_us * 1000;
        unsigned idle = 0;
        for (unsigned i = 1;; i++) {
                if (moved_hint(sb, slot))
                        return true;
                if (busy && !atomic_load_explicit(busy, memory_order_relaxed)) {
                        if (++idle > BUSY_GRACE_POLLS)
                                return false;
                } else {
                        idle = 0;
                }
                cpu_relax();
                if (i % 64 == 0) {
                        clock_gettime(CLOCK_MONOTONIC, &t);
                        int64_t ns = (t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec);
                        if (ns >= limit_ns || (deadline >= 0 && shbuf__now_ms() >= deadline))
                                return false;
                }
        }
}

/* The mark of the peer's transfer that a look on this side waits for: a
 * reader waits for a write, a writer for a read. Other looks know of none. */
static const _Atomic uint16_t *peer_mark(shbuf *sb, enum shbuf__look look) {
        const struct shbuf__lock *l = &sb->control->lock;
        return look == SHBUF__LOOK_READ ? &l->producing : look == SHBUF__LOOK_WRITE ? &l->consuming : NULL;
}

/*
 * Before sleeping: the optional unconditional spin (off unless configured;
 * a peer that is active usually commits again within microseconds), then
 * the spin for a transfer under way. True if the peer committed meanwhile.
 */
static bool spin_before_sleep(shbuf *sb, const struct seen_slot *slot, int64_t deadline) {
        if (spin_until_moved(sb, slot, deadline, atomic_load_explicit(&sb->spin_us, memory_order_relaxed),
                             NULL))
                return true;
        const _Atomic uint16_t *busy = peer_mark(sb, slot->look);
        return busy && spin_until_moved(sb, slot, deadline,
                                        atomic_load_explicit(&sb->busy_spin_us, memory_order_relaxed), busy);
}

/*
 * A look of a program that waits through the select descriptor found
 * nothing to do. Such a program sleeps in its own poll(), where no spin can
 * reach, and costs both sides a wake-up each time, though the peer may be
 * microseconds away from the commit it waits for. So the look itself spins
 * for that commit, on the same terms as a wait: only while the peer's
 * transfer is under way when the look ends, and for at most busy_spin_us.
 * True if the peer committed (or notified): a second look is worth it.
 */
bool shbuf__spin_after_look(shbuf *sb, enum shbuf__look look) {
        const _Atomic uint16_t *busy = peer_mark(sb, look);
        uint32_t limit_us = atomic_load_explicit(&sb->busy_spin_us, memory_order_relaxed);
        if (!busy || !sb->notifier || limit_us == 0 || !atomic_load_explicit(busy, memory_order_relaxed))
                return false;
        const struct seen_slot *slot = seen_find(sb);
        return slot && spin_until_moved(sb, slot, -1, limit_us, busy);
}

/*
 * One sleep of the thread that owns the channel. Returns 0 when something may
 * have happened, -ETIMEDOUT, -EINTR, -EPIPE.
 */
static int sleep_once(shbuf *sb, const struct seen_slot *slot, int64_t deadline) {
        struct shbuf__peer *me = shbuf__self(sb);
        struct sight sight;
        int r;

        if (sb->notifier)
                return shbuf__notifier_wait(sb, timeout_left(deadline));

        atomic_store(&me->wants_space, slot->wants_space);
        atomic_store(&me->waiting, SHBUF__WAIT_CHANNEL);
        r = look_now(sb, slot, &sight);
        if (r != 0) {
                atomic_store(&me->waiting, 0);
                return r < 0 ? r : 0;
        }
        /* Objects removed behind our back (ipcrm -m, shm_unlink) do not
         * wake anybody. A pair that keeps streaming sleeps often, so checking
         * now and then before a sleep finds out soon, at a bounded cost. */
        int64_t now = shbuf__now_ms();
        if (now - sb->alive_checked_ms >= ALIVE_CHECK_MS) {
                sb->alive_checked_ms = now;
                if (sb->backend->check_alive(sb) < 0) {
                        atomic_store(&me->waiting, 0);
                        return -EPIPE;
                }
        }
        r = sleep_blocking(sb, deadline);
        atomic_store(&me->waiting, 0);
        return r;
}

/* A wait ends on news seen without the lock: what it saw is the caller's
 * next look's to load, and the next wait's to compare with. */
static int saw_hint(shbuf *sb, struct seen_slot *slot) {
        slot->events = atomic_load(&shbuf__self(sb)->events);
        slot->commits = commits_hint(sb);
        return 0;
}

static bool past(int64_t deadline) {
        return deadline >= 0 && shbuf__now_ms() >= deadline;
}

/*
 * One turn of a wait, by the thread that holds the receiver role (when
 * sleep is true) or by one whose time ran out while another held it: look
 * for news, check the peer, sleep. Sets *done when the wait is over (the
 * return value is its result); otherwise the caller goes round again.
 *
 * The look happens after the role was taken (under the handle mutex), and
 * a shbuf_post_select() in another thread drains the descriptor and then
 * checks the role under the same mutex: either that drain came first, and
 * the look sees the commit whose wake-up it took, or it sees the role and
 * kicks our sleep (see notifier.c).
 */
static int turn(shbuf *sb, struct seen_slot *slot, int64_t deadline, bool sleep, bool *woke, bool *done) {
        struct sight now;

        *done = true;
        /* News, seen without the lock, or awaited by spinning without it:
         * the lock's line is what the peer needs for the commit we wait
         * for, so the first look does not take it. */
        if (moved_hint(sb, slot))
                return saw_hint(sb, slot);
        if (sleep) {
                /* About to sleep: a wake-up held back from the other side is due. */
                if (atomic_exchange(&sb->owed_wake, false))
                        wake_if_waiting(sb);
                if (spin_before_sleep(sb, slot, deadline))
                        return saw_hint(sb, slot);
        }

        int r = look_now(sb, slot, &now);
        if (r > 0) {
                slot->events = now.events;
                slot->commits = now.commits;
                return 0;
        }
        if (r < 0)
                return r;
        /* Woken with nothing new: were the objects removed under us (ipcrm,
         * shm_unlink)? Checked only here, off the path of ordinary wake-ups. */
        if (*woke && sb->backend->check_alive(sb) < 0) {
                atomic_store(&sb->removed, true);
                return -EPIPE;
        }
        pthread_mutex_lock(&sb->mutex);
        r = shbuf__peer_refresh(sb);
        bool gone = shbuf__peer_gone(sb, false);
        pthread_mutex_unlock(&sb->mutex);
        if (r < 0)
                return r;
        if (gone)
                return -EPIPE;
        if (!sleep || past(deadline))
                return -ETIMEDOUT;

        r = sleep_once(sb, slot, deadline);
        if (r == -EINTR || r == -EPROTO || r == -EINVAL) /* the caller must hear of these */
                return r;
        if (r == -EPIPE) {
                atomic_store(&sb->removed, true);
                return r;
        }
        /* Woken or timed out: the next turn sorts out why. */
        *woke = r == 0;
        *done = false;
        return 0;
}

int shbuf__wait(shbuf *sb, int timeout_ms) {
        int64_t deadline = timeout_ms < 0 ? -1 : shbuf__now_ms() + timeout_ms;
        struct seen_slot *slot = seen_find(sb);
        bool woke = false, done = false;
        int r = 0;

        if (!slot) {
                /* This thread never looked at the status, so anything there is
                 * news to it: report at once and start tracking. */
                r = shbuf__status_lock(sb);
                if (r == 0)
                        shbuf__unlock(sb);
                return r;
        }

        pthread_mutex_lock(&sb->mutex);
        while (!done) {
                if (sb->receiving && !past(deadline)) {
                        /* Another thread sleeps in the channel: wait for its
                         * turn to end, then take ours. */
                        uint64_t gen = sb->wake_gen;
                        while (sb->receiving && sb->wake_gen == gen && !past(deadline)) {
                                if (deadline < 0) {
                                        pthread_cond_wait(&sb->cond, &sb->mutex);
                                        continue;
                                }
                                struct timespec ts;
                                clock_gettime(CLOCK_MONOTONIC, &ts);
                                int64_t left = deadline - shbuf__now_ms();
                                ts.tv_sec += left / 1000;
                                ts.tv_nsec += (left % 1000) * 1000000;
                                if (ts.tv_nsec >= 1000000000) {
                                        ts.tv_sec++;
                                        ts.tv_nsec -= 1000000000;
                                }
                                pthread_cond_timedwait(&sb->cond, &sb->mutex, &ts);
                        }
                        continue;
                }
                /* Out of time while another thread holds the role: one last
                 * look, without sleeping. */
                bool receiver = !sb->receiving;
                if (receiver) {
                        sb->receiving = true;
                        sb->receiver = pthread_self();
                }
                pthread_mutex_unlock(&sb->mutex);
                r = turn(sb, slot, deadline, receiver, &woke, &done);
                pthread_mutex_lock(&sb->mutex);
                if (receiver) {
                        sb->receiving = false;
                        sb->wake_gen++;
                        pthread_cond_broadcast(&sb->cond);
                }
        }
        pthread_mutex_unlock(&sb->mutex);
        return r;
}

void shbuf__wake_init(shbuf *sb) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&sb->cond, &attr);
        pthread_condattr_destroy(&attr);
        pthread_mutex_init(&sb->mutex, NULL);
        pthread_mutex_init(&sb->fifo_mutex, NULL);
}
