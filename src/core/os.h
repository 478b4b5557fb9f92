/*
 * The operating-system primitives the core uses beyond plain POSIX.
 *
 * Linux offers better tools for several jobs of the core: futexes to sleep
 * on a word in shared memory, pidfds to learn of a process's death at once,
 * eventfds, epoll to merge several descriptors into one, membarrier() for
 * asymmetric fences, and a cheap current-CPU number. They sit behind this
 * header, implemented twice and chosen when the library is built
 * (SHBUF_OS): os-linux.c, and os-posix.c with plain-POSIX stand-ins that
 * are slower or coarser but keep every guarantee. Porting the library to
 * another Unix means writing one more of these files, not touching the
 * core.
 *
 * Functions return 0 (or a count, or a descriptor) or -errno.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_OS_H
#define SHBUF_OS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- events: a descriptor that poll() reports readable once posted ---- */

/* An event: *ret_rfd is polled and cleared, *ret_wfd posted (the same
 * descriptor for an eventfd, the two ends of a pipe elsewhere). Both are
 * close-on-exec and non-blocking. */
int shbuf__os_event_new(int *ret_rfd, int *ret_wfd);
void shbuf__os_event_post(int wfd);
void shbuf__os_event_clear(int rfd);
void shbuf__os_event_close(int rfd, int wfd);

/* ---- processes ---------------------------------------------------------- */

/* A descriptor that turns readable when process pid exits (close-on-exec),
 * -ESRCH when there is no such process, -ENOSYS where the system has none:
 * the caller then asks shbuf__os_pid_alive() now and then. */
int shbuf__os_pidfd_open(pid_t pid);

/* Whether pid runs. A zombie (exited, not reaped) counts as dead where the
 * system can tell. */
bool shbuf__os_pid_alive(pid_t pid);

/* An identifier of this process's pid namespace, 0 where there is none to
 * be had: pids of processes with another one (or 0) mean nothing to us. */
uint64_t shbuf__os_pidns(void);

/* ---- sleeping on a word in shared memory -------------------------------- */

/* Sleep while *word == expected, for at most timeout_ms (< 0: no limit):
 * 0 when woken or when the word differed, -ETIMEDOUT, -EINTR. Wake-ups may
 * be spurious. The stand-in sleeps for at most a millisecond at a time and
 * reports a wake-up, so waiters re-check the word. */
int shbuf__os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms);
void shbuf__os_futex_wake(_Atomic uint32_t *word, int n);

/* ---- asymmetric fences -------------------------------------------------- */

/*
 * Some orderings the core needs are between a hot path (a commit, the start
 * of a transfer) and a rare one (going to sleep, freezing the ring). Where
 * the system can, the rare side pays for both: membarrier() makes every CPU
 * that runs a thread of a registered process (global) or of this process
 * (private) execute a full barrier, so the hot path needs none.
 *
 * shbuf__os_barriers() registers this process once and says which kinds
 * are available; where one is not, the hot path must issue a full fence
 * itself.
 */
enum shbuf__os_barrier {
        SHBUF__OS_BARRIER_GLOBAL = 1u << 0,  /* between processes */
        SHBUF__OS_BARRIER_PRIVATE = 1u << 1, /* between threads of this process */
};
unsigned shbuf__os_barriers(void);

/* Execute the rare side's barrier of one kind: 0, or -ENOSYS when it is not
 * available (the caller then relies on the hot path's fences). */
int shbuf__os_barrier(enum shbuf__os_barrier kind);

/* ---- misc ---------------------------------------------------------------- */

/* The CPU this thread runs on, or -1 where the system does not say. */
int shbuf__os_cpu(void);

/* Milliseconds, microseconds on the monotonic clock. */
int64_t shbuf__os_now_ms(void);
int64_t shbuf__os_now_us(void);

/*
 * One descriptor that poll() reports readable whenever one of the
 * descriptors added to it is (epoll). -ENOSYS where the system has no such
 * thing; the select descriptor then uses a forwarding thread instead.
 */
int shbuf__os_fdset_new(void);
int shbuf__os_fdset_add(int set, int fd);
void shbuf__os_fdset_del(int set, int fd);

#endif
