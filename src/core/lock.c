/*
 * The status lock.
 *
 * The lock word in the control block holds the owner's pid (0 when free), so
 * taking and releasing an uncontended lock is one atomic operation each and no
 * system call. Only a contended locker sleeps, on the backend's wait object
 * (the SysV semaphore, as ipcs shows it, or the POSIX backend's futex word);
 * the releaser wakes a sleeper only when the waiter count (lock_waiters, on
 * a line of its own) says there is one.
 *
 * A holder that died leaves its pid in the word. Sleepers wake up after 1,
 * 2, 4, ... up to LOCK_RECHECK_MS milliseconds while the lock stays taken and
 * take it over when the owner is dead, or at once when the word holds a pid
 * that is neither side's; the status is validated under the lock on every
 * use anyway, so a half-done update of a dead holder is caught as EPROTO
 * rather than trusted. The short first sleeps also bound what a word
 * changed behind our back (by a scribbling peer: no wake-up comes) costs.
 * These periodic wake-ups happen only while somebody waits for the lock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <sched.h>

#include "handle.h"

#define LOCK_SPINS 200
#define LOCK_RECHECK_MS 100

static bool try_take(struct shbuf__lock *l, uint32_t me) {
        uint32_t expected = 0;
        return atomic_compare_exchange_strong_explicit(&l->owner, &expected, me, memory_order_seq_cst,
                                                       memory_order_relaxed);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
}

/*
 * May owner hold the lock? Only the two processes of the buffer can; any
 * other value was written by a corrupted or hostile peer and is treated as
 * a free lock, so that it cannot stall us until that pid happens to die.
 */
static bool plausible_owner(shbuf *sb, uint32_t owner) {
        const struct shbuf__control *c = sb->control;
        return owner == sb->pid || owner == atomic_load(&c->peer[SHBUF__PROVIDER].pid) ||
               owner == atomic_load(&c->peer[SHBUF__CLIENT].pid);
}

/* Take over the lock from a dead or impossible owner; true if we now hold it. */
static bool take_over(shbuf *sb, bool check_alive) {
        struct shbuf__lock *l = &sb->control->lock;
        uint32_t owner = atomic_load(&l->owner);
        if (owner == 0 || owner == sb->pid)
                return false;
        if (plausible_owner(sb, owner) && (!check_alive || shbuf__pid_alive(owner)))
                return false;
        if (!atomic_compare_exchange_strong(&l->owner, &owner, sb->pid))
                return false;
        atomic_fetch_add(&sb->control->lock_recoveries, 1);
        return true;
}

int shbuf__lock(shbuf *sb) {
        struct shbuf__lock *l = &sb->control->lock;
        int r = 0;

        if (try_take(l, sb->pid))
                return 0;

        /* The critical sections are a few dozen instructions, so a short
         * spin usually beats going to sleep. */
        for (int i = 0; i < LOCK_SPINS; i++) {
                cpu_relax();
                if (atomic_load_explicit(&l->owner, memory_order_relaxed) == 0 && try_take(l, sb->pid))
                        return 0;
        }

        atomic_fetch_add(&sb->control->lock_waiters, 1);
        for (int sleep_ms = 1;; sleep_ms = sleep_ms * 2 > LOCK_RECHECK_MS ? LOCK_RECHECK_MS : sleep_ms * 2) {
                if (try_take(l, sb->pid) || take_over(sb, false))
                        break;
                r = sb->backend->lock_sleep(sb, sleep_ms);
                if (r < 0 && r != -ETIMEDOUT && r != -EINTR)
                        break; /* the wait object is gone: do not spin */
                bool timed_out = r == -ETIMEDOUT;
                r = 0;
                /* Held all this time: is the holder still there? */
                if (timed_out && take_over(sb, true))
                        break;
        }
        atomic_fetch_sub(&sb->control->lock_waiters, 1);
        return r;
}

void shbuf__unlock(shbuf *sb) {
        struct shbuf__lock *l = &sb->control->lock;

        /* Both operations are sequentially consistent: a locker that
         * registered as waiter before this load is woken, one that registers
         * later sees the free lock in its next try_take(). */
        atomic_store(&l->owner, 0);
        if (atomic_load(&sb->control->lock_waiters) > 0)
                (void) sb->backend->lock_wake(sb);
}
