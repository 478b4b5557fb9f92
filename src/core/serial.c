/*
 * Serialising the threads that use one direction of a handle.
 *
 * Two threads writing through one handle must not interleave within a call
 * (each write lands whole), and the same for reading. A mutex would do, but
 * its two atomic read-modify-writes per call are full fences on x86: each
 * waits for the stores of the previous call to reach the cache, and with
 * 64-byte writes that halves the throughput (measured: 34 M writes/s
 * became 15 M). Most programs use a direction from one thread only.
 *
 * So the lock is biased, like a Java monitor: the first thread to use the
 * direction owns it and enters with plain loads and stores (in_call = 1,
 * check that it still owns it). A second thread inflates it for good:
 * it takes the mutex, marks the lock inflated, and makes sure the owner
 * either sees that at its next entry or is seen inside a call, which it
 * then waits out. That handshake is a Dekker pair whose other half is a
 * process-private membarrier() (os.h), so the owner's entry needs no
 * fence. Where there is no such barrier, the lock starts inflated.
 *
 * From then on every thread takes the mutex. The owner's token is the
 * address of a thread-local variable: a thread that ended leaves its token
 * to whichever new thread gets the same address, which is harmless, since
 * the two never run at once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <sched.h>

#include "handle.h"

static SHBUF__THREAD_LOCAL char thread_token;
static const char inflated_token;
#define INFLATED ((const void *) &inflated_token)

void shbuf__serial_init(struct shbuf__serial *s) {
        pthread_mutex_init(&s->mutex, NULL);
        atomic_init(&s->in_call, 0);
        bool biasable = shbuf__os_barriers() & SHBUF__OS_BARRIER_PRIVATE;
        atomic_init(&s->owner, biasable ? NULL : INFLATED);
}

void shbuf__serial_destroy(struct shbuf__serial *s) {
        pthread_mutex_destroy(&s->mutex);
}

bool shbuf__serial_enter(struct shbuf__serial *s) {
        const void *me = &thread_token;
        if (atomic_load_explicit(&s->owner, memory_order_relaxed) == me) {
                atomic_store_explicit(&s->in_call, 1, memory_order_relaxed);
                /* The inflater's barrier orders this store before our load
                 * of owner, or shows it the store: see the top. */
                atomic_signal_fence(memory_order_seq_cst);
                if (atomic_load_explicit(&s->owner, memory_order_acquire) == me)
                        return true;
                atomic_store_explicit(&s->in_call, 0, memory_order_release);
        }
        pthread_mutex_lock(&s->mutex);
        const void *owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
        if (owner == NULL) {
                /* First user: the bias is ours from the next call on. */
                atomic_store_explicit(&s->owner, me, memory_order_relaxed);
                return false;
        }
        if (owner == INFLATED || owner == me)
                return false;
        /* A second thread: inflate, then wait for the owner to leave the
         * call it may be in. Its calls never block, so this is short. */
        atomic_store_explicit(&s->owner, INFLATED, memory_order_relaxed);
        if (shbuf__os_barrier(SHBUF__OS_BARRIER_PRIVATE) < 0)
                shbuf__full_fence(); /* not reached: never biased */
        for (unsigned i = 0; atomic_load_explicit(&s->in_call, memory_order_acquire); i++)
                if (i % 64 == 63)
                        sched_yield();
                else
                        cpu_relax();
        return false;
}

/* biased: what shbuf__serial_enter() returned. The lock may have been
 * inflated meanwhile, so only the caller knows how it entered. */
void shbuf__serial_leave(struct shbuf__serial *s, bool biased) {
        if (biased)
                atomic_store_explicit(&s->in_call, 0, memory_order_release);
        else
                pthread_mutex_unlock(&s->mutex);
}
