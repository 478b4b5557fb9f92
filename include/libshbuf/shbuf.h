/*
 * libshbuf: shared buffers, a fast replacement for FIFOs between two processes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LIBSHBUF_SHBUF_H
#define LIBSHBUF_SHBUF_H

#include <sys/ipc.h> /* key_t, also under strict C11 */
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a function as part of the library's ABI. */
#if defined(__GNUC__) && !defined(SHBUF_STATIC_DEFINE)
#define SHBUF_EXPORT __attribute__((visibility("default")))
#else
#define SHBUF_EXPORT
#endif

/** Version of this header, as major * 10000 + minor * 100 + patch. */
#define SHBUF_VERSION_NUMBER 100 /* 0.1.0 */

/**
 * \mainpage libshbuf
 *
 * A shared buffer is a byte ring in shared memory that streams data between
 * exactly two processes that need not be related. The **provider** creates it
 * with shbuf_create() and tells the other side the key; the **client** attaches
 * with shbuf_open(). Either side may write; the library does not enforce a
 * direction. Both sides have full, zero-copy access to the ring through
 * shbuf_get_pointer(), shbuf_get_read_pointer() and shbuf_get_write_pointer().
 *
 * Conventions: functions returning a pointer return NULL on failure, functions
 * returning int or long return -1; in both cases errno says why. Predicates
 * return 1 or 0 (and -1 with errno on a bad handle or a corrupted ring).
 *
 * Threads: a handle may be used from several threads of one process at
 * once. Calls are serialised per direction inside the process: two threads
 * writing through one handle never interleave within a call, and each
 * shbuf_write() lands whole (the same for reading). A zero-copy transfer
 * spans two calls (shbuf_get_write_pointer() ... shbuf_inc_write_pointer(),
 * the same for reading): a program that writes from several threads
 * serialises those pairs itself, or uses shbuf_write(). Notification on and
 * off, waits and the select descriptor work from any thread at any time.
 * shbuf_free() while another thread is still inside a call on the same
 * handle is misuse, like close() on a descriptor in use. One ring carries one
 * writer and one reader at a time across the two processes. No function is
 * async-signal-safe. A handle must not be used in the child of a fork(); the
 * child opens the buffer anew if it needs it.
 *
 * The data path takes no lock: each side writes only its own position and
 * counters, so reads and writes commit with plain stores, and a commit makes
 * a system call only to wake a peer that sleeps.
 *
 * Everything in shared memory is treated as untrusted: a peer that corrupts
 * it can make calls fail with EPROTO, never make this process touch memory
 * outside its mappings.
 *
 * SIGBUS: a POSIX buffer's memory is a shared memory object that anyone who
 * may open it (the peer, or anybody after shbuf_access()) can truncate while
 * it is mapped, and the next access to the lost pages raises SIGBUS, which
 * kills a process by default. So when the process makes its first POSIX
 * handle (or first looks at a POSIX buffer with shbuf_list(),
 * shbuf_inspect(), shbuf_remove() or shbuf_gc()), the library installs a
 * SIGBUS handler, the "trap". A fault in a buffer's mapping replaces that
 * mapping with private zero pages and marks the handle: the access that
 * faulted goes on (reading zeros, or writing where nobody sees it), in
 * whatever thread it was, and every call on the handle from then on fails
 * with EPIPE (shbuf_is_connected() returns 0; shbuf_free() works as ever,
 * and the provider's still removes the objects); a look of the tools that
 * met it fails with EPROTO. Any other SIGBUS goes on to what handled it
 * before: a handler the program installed earlier is called from the trap
 * with the siginfo and context (and with its signal mask, SA_RESTART,
 * SA_ONSTACK and SA_NODEFER, but SA_RESETHAND does not apply), and under the
 * default action the process dies of SIGBUS as it would have without the
 * library. What the trap cannot do:
 *   - take back what already happened: a copy out of the ring that was under
 *     way when the object shrank leaves zeros in the program's buffer (the
 *     call then fails, nothing is committed), and a program that reads a
 *     span of shbuf_get_read_pointer() reads zeros until its next call
 *     fails;
 *   - notice a truncation before an access faults: calls that do not touch
 *     the lost pages (a look at an empty ring does not touch the data) go on
 *     as before;
 *   - stay in place when the program installs its own SIGBUS handler after
 *     its first POSIX handle without calling the one it replaced: faults in
 *     the buffers then reach only the program's handler;
 *   - protect a thread that touches a handle's memory while another one
 *     frees the handle (misuse in any case).
 * A program that handles SIGBUS itself and wants no part of this creates
 * and opens its buffers with SHBUF_NO_SIGBUS_TRAP (shbuf_options::flags).
 * SysV buffers need no trap: a segment cannot shrink, and one removed while
 * attached stays mapped until the last process detaches.
 */

/** Opaque, per-process handle of one end of a shared buffer. */
typedef struct _shbuf shbuf;

/**
 * The buffer's status, as libshbuf 0.0.3 showed it: a view of the shared ring
 * (see shbuf_get_status()).
 *
 * Ring model: size S (shbuf_get_size()), read index R, length L, backlog B.
 * Unread data is at offsets (R + i) mod S for 0 <= i < L; the write position
 * is (R + L) mod S. The backlog is the already-read data just before R that
 * the writer has not overwritten yet, at most backlog_target bytes: consuming
 * r bytes raises it by r (up to the target and to S - L), writing over it
 * shrinks it.
 */
typedef struct shbuf_status {
        unsigned long read_idx;       /**< offset of the next unread byte */
        unsigned long length;         /**< unread bytes, starting at read_idx */
        unsigned long backlog;        /**< already-read bytes kept just before read_idx */
        unsigned long backlog_target; /**< backlog the buffer tries to keep */
        unsigned long write_count;    /**< +1 per successful write commit */
        unsigned long read_count;     /**< +1 per successful read commit */
        int ignore_read_inc;          /**< one-shot: the next read commit is dropped */
        int ignore_write_inc;         /**< one-shot: the next write commit is dropped */
} shbuf_status;

/**
 * Options for shbuf_create_with() and shbuf_open_with(). Zero-initialise the
 * structure and set what you need; a zeroed structure means "defaults".
 */
typedef struct shbuf_options {
        /**
         * Backend to use: "sysv" or "posix". NULL means: the environment
         * variable SHBUF_BACKEND if set, else the build default. A named
         * backend (here or in SHBUF_BACKEND) never falls back to another one;
         * without a name, shbuf_create() falls back to the other compiled
         * backend when the default one is not usable on this system (ENOSYS,
         * or limits that forbid any segment), see shbuf_get_fallback_errno().
         * For opening, NULL means "whichever backend made the buffer".
         */
        const char *backend;
        /** Permission bits for new objects; 0 means 0600. Creating only. */
        int mode;
        /** 0, or SHBUF_NO_SIGBUS_TRAP; the other bits are reserved and must be 0. */
        unsigned flags;
} shbuf_options;

/**
 * Flag of shbuf_options::flags: do not put this handle's memory under the
 * library's SIGBUS trap (see the main page), and do not install the trap for
 * it. A process whose buffer another process truncates then dies of SIGBUS at
 * its next access, unless a handler of its own deals with it. A handle made
 * without the flag still installs the trap for the whole process; faults in
 * the memory of handles made with the flag are passed on as any other
 * SIGBUS.
 */
#define SHBUF_NO_SIGBUS_TRAP 0x1u

/* ------------------------------------------------------------------ */
/** \name Lifetime */
/**@{*/

/**
 * Create a shared buffer and become its provider.
 *
 * \param key  buffer key, any 32-bit value (SysV keys such as ipcmk's are often
 *             negative as a key_t); 0 (IPC_PRIVATE) picks a free key, see
 *             shbuf_get_key()
 * \param size data bytes in the ring, exactly; must be > 0
 * \return a new handle, or NULL with errno set:
 *         EEXIST (the key is taken, by a buffer or by a foreign object; or
 *         a leftover object of somebody else's is under one of the names
 *         the buffer needs, which is left alone),
 *         EINVAL (size is 0),
 *         ENOMEM, ENOSPC, EFBIG (over a system limit or out of memory),
 *         EINVAL (SHBUF_BACKEND names no backend), ENOTSUP (it names a
 *         backend this build lacks), or another error of the OS. On failure nothing is left behind.
 *
 * New objects get mode 0600. The backend is chosen as described at
 * shbuf_options::backend.
 */
SHBUF_EXPORT shbuf *shbuf_create(key_t key, unsigned long size);

/**
 * Attach to an existing buffer as its client.
 *
 * \param key key of the buffer, as given by the provider
 * \return a new handle, or NULL with errno set: ENOENT (no such buffer),
 *         EPROTO (the object under that key is not a shbuf, or it was made by
 *         an incompatible layout, word size or backend), EBUSY (a live client
 *         is already attached), EACCES (permission denied).
 *
 * The buffer is found whichever backend made it. A client that died without
 * shbuf_free() does not block a new one.
 */
SHBUF_EXPORT shbuf *shbuf_open(key_t key);

/**
 * Like shbuf_create(), with options.
 *
 * \param opts options, or NULL for defaults
 * \return as shbuf_create(); also EINVAL for unknown flags or an unknown
 *         backend name, ENOTSUP for a backend this build lacks.
 *
 * The first POSIX handle of the process installs the SIGBUS trap (see the
 * main page), unless opts->flags has SHBUF_NO_SIGBUS_TRAP.
 */
SHBUF_EXPORT shbuf *shbuf_create_with(key_t key, unsigned long size, const shbuf_options *opts);

/**
 * Like shbuf_open(), with options; a named backend restricts the search to it.
 * SHBUF_NO_SIGBUS_TRAP in opts->flags as for shbuf_create_with().
 *
 * \return as shbuf_open(); also EINVAL for unknown flags or an unknown
 *         backend name, ENOTSUP for a backend this build lacks.
 */
SHBUF_EXPORT shbuf *shbuf_open_with(key_t key, const shbuf_options *opts);

/**
 * Release a handle: stop the notifier, unmap, wake a waiting peer and free.
 * The provider also removes every OS object of the buffer; the client only
 * detaches, so a new client may attach later. NULL is a no-op.
 */
SHBUF_EXPORT void shbuf_free(shbuf *sb);

/**
 * Apply mode & 0777 to every OS object of the buffer (both sides may call).
 *
 * \return 0, or -1 with errno: EPERM (not the owner), EIDRM (objects gone),
 *         EINVAL (NULL handle).
 */
SHBUF_EXPORT int shbuf_access(shbuf *sb, int mode);

/** The buffer's key, or (key_t)-1 with errno EINVAL for a NULL handle. */
SHBUF_EXPORT key_t shbuf_get_key(shbuf *sb);

/** Data bytes in the ring, or 0 with errno EINVAL for a NULL handle. */
SHBUF_EXPORT unsigned long shbuf_get_size(shbuf *sb);

/** Start of the ring (offset 0), valid until shbuf_free(); NULL + EINVAL on a NULL handle. */
SHBUF_EXPORT unsigned char *shbuf_get_pointer(shbuf *sb);

/**
 * The status block: a view of the shared ring, owned by the handle (the same
 * pointer on every call). Between shbuf_status_lock() and
 * shbuf_status_unlock() it is current and the caller may edit read_idx,
 * length, backlog, backlog_target, the counters and the ignore flags; the
 * edits take effect at shbuf_status_unlock(), after which the program calls
 * shbuf_notify() as in 0.0.3. Outside the lock every call refreshes it, a
 * snapshot that may be stale at once (unless another thread of this process
 * holds the lock, then it is left to that thread).
 * NULL + EINVAL on a NULL handle.
 */
SHBUF_EXPORT shbuf_status *shbuf_get_status(shbuf *sb);

/**@}*/
/* ------------------------------------------------------------------ */
/** \name Notification */
/**@{*/

/**
 * Start (b != 0) or stop (b == 0) delivering notifications to the select
 * descriptor. Enabling twice is harmless.
 *
 * \return 0, or -1 with errno (EINVAL on a NULL handle, EMFILE, EAGAIN, ...).
 */
SHBUF_EXPORT int shbuf_notify_enable(shbuf *sb, int b);

/**
 * Wake the peer: its next (or current) wait returns. Wake-ups coalesce: at
 * most one is in flight per direction, so notifying a peer that never waits
 * costs one message at most, however often it is done.
 *
 * \return 0, or -1 with errno EPIPE (objects removed, or truncated: see
 *         SIGBUS on the main page) or EINVAL.
 */
SHBUF_EXPORT int shbuf_notify(shbuf *sb);

/**
 * Block until the peer commits or notifies after this thread last looked at
 * the ring, so that nothing can be lost between looking and waiting. What a
 * look is depends on the direction: after shbuf_read() or
 * shbuf_get_read_pointer() (or their commits) the wait is for the writer's
 * commits, after shbuf_write() or shbuf_get_write_pointer() for the
 * reader's, after shbuf_is_empty() or shbuf_is_full() for either; a thread
 * that never looked returns at once. Wake-ups may be spurious; re-check the
 * ring after each return.
 *
 * Before it sleeps a wait may spin, boundedly, while that can help (the peer
 * is in the middle of the transfer waited for, or shbuf_set_spin() asked
 * for it), never while the peer sleeps itself, and yielding the CPU at every
 * turn when the peer last ran on this very CPU.
 *
 * A signal whose handler was installed without SA_RESTART ends the wait
 * with EINTR while it sleeps in the kernel; one with SA_RESTART does not,
 * and the wait sleeps on to the same deadline, alike on every backend.
 * Which signal arrived cannot be known, so the wait goes on only when every
 * signal caught by a handler and not blocked in the calling thread has
 * SA_RESTART: a program that catches some signals with it and some without
 * gets EINTR from any of them, unless the waiting thread blocks the others
 * (pthread_sigmask()). One whose handler runs while
 * the wait still spins (shbuf_set_spin(), shbuf_set_busy_spin()) does not
 * end it, as if the signal had come just before the call: the spin reads
 * shared memory only, and watching for signals would cost it system calls.
 * A program that stops a waiting thread with a signal must allow for a
 * signal that arrives just before the call anyway, for instance by waiting
 * with shbuf_wait_timeout() and checking its flag between waits.
 *
 * A peer that commits and then frees its end (or dies) leaves news first:
 * the wait that sees both returns 0, and the next one fails with EPIPE.
 *
 * \return 0, or -1 with errno: EINTR (a signal arrived), EPIPE (the peer freed
 *         its end, died, or the objects were removed or truncated), EPROTO
 *         (corrupted control block), EINVAL.
 */
SHBUF_EXPORT int shbuf_wait(shbuf *sb);

/**
 * Like shbuf_wait() with a time limit.
 *
 * \param timeout_ms milliseconds to wait at most; negative waits forever,
 *        0 only checks
 * \return as shbuf_wait(); also -1 with errno ETIMEDOUT when the time ran out.
 */
SHBUF_EXPORT int shbuf_wait_timeout(shbuf *sb, int timeout_ms);

/**
 * Let waits spin for up to usec microseconds, watching for the peer's next
 * commit, before they sleep in the kernel. A peer that is active usually
 * commits again within microseconds, and catching that without sleeping
 * costs neither side a system call: round trips get many times faster at
 * the price of CPU time while spinning. Off (0) by default; the environment
 * variable SHBUF_SPIN_US sets the default of new handles. A side with
 * nothing to do still sleeps after the spin, so an idle buffer costs no CPU.
 *
 * The spin follows one policy with the one of shbuf_set_busy_spin(): it
 * never runs while the peer sleeps in a wait of its own (it will not commit
 * before it is woken), and when the peer's last call ran on the CPU the
 * waiter runs on, it yields that CPU at every turn instead of holding it.
 *
 * \param usec 0 (off) to 100000
 * \return 0, or -1 with errno EINVAL (usec too large, NULL handle).
 */
SHBUF_EXPORT int shbuf_set_spin(shbuf *sb, unsigned usec);

/**
 * Bound the spin for a transfer under way. A wait spins, instead of
 * sleeping, while the peer is in the middle of the transfer it waits for
 * (in a shbuf_write() or shbuf_read(), or between the look of
 * shbuf_get_write_pointer() and its commit, the same on the read side),
 * and a few polls past its end in case the next one starts at once, for at
 * most usec microseconds: 20 by default, or SHBUF_BUSY_SPIN_US in the
 * environment for new handles. For an idle peer it stops after those few
 * polls (a microsecond or two). A program that waits through the select
 * descriptor sleeps in its own poll(), out of the library's reach: with
 * notification enabled, shbuf_read(), shbuf_write() and the get_*_pointer()
 * calls that find nothing to do spin on the same terms for the peer's
 * commit, then look once more. An event loop serving many buffers may want
 * that off (0) for some of them.
 *
 * \param usec 0 (off) to 100000
 * \return 0, or -1 with errno EINVAL (usec too large, NULL handle).
 */
SHBUF_EXPORT int shbuf_set_busy_spin(shbuf *sb, unsigned usec);

/**
 * The select descriptor: readable after each notification and when the peer
 * goes away. Close-on-exec, non-blocking; do not read or close it, call
 * shbuf_post_select() after it was reported readable. Works with select(),
 * poll() and epoll.
 *
 * \return the descriptor, or -1 with errno EINVAL when notification is not
 *         enabled (see shbuf_notify_enable()).
 */
SHBUF_EXPORT int shbuf_get_select_fd(shbuf *sb);

/**
 * Drain the select descriptor after it was reported readable, and re-arm it.
 *
 * \return 0, or -1 with errno EPIPE when the peer went away or the objects
 *         were truncated (the descriptor then stays readable; what a peer
 *         that went away committed before is still in the ring to read),
 *         EINVAL when notification is not enabled.
 */
SHBUF_EXPORT int shbuf_post_select(shbuf *sb);

/**
 * Whether a peer is attached and alive.
 *
 * \return 1 if the other side is attached and its process is alive, 0 if not
 *         (not yet connected, detached, died, or the objects were removed),
 *         -1 with errno EINVAL on a NULL handle.
 */
SHBUF_EXPORT int shbuf_is_connected(shbuf *sb);

/**@}*/
/* ------------------------------------------------------------------ */
/** \name Status lock and helpers */
/**@{*/

/**
 * Take the status lock, for direct access to the status block (see
 * shbuf_get_status()). The data path does not use it: while it is held the
 * ring is frozen, and the two sides' copies (shbuf_read(), shbuf_write())
 * and looks find nothing to do (they wait a moment for a short edit to end,
 * never longer), while their zero-copy commits wait for it (boundedly). Not
 * recursive. A holder that died, or a lock word no live handle can hold, is
 * taken over at once; every wait for the lock is bounded (2 seconds) and
 * ends at a signal, on the terms of shbuf_wait() (SA_RESTART goes on). It
 * sleeps in short naps (to look at the holder in between): a signal whose
 * handler runs between two of them, while the thread is not in the kernel
 * (rare, likelier on a loaded machine), is taken as one that came before
 * the call, and the wait goes on to its bound.
 *
 * \return 0, or -1 with errno: ETIMEDOUT (a live holder kept it, e.g. a
 *         stopped process), EINTR (a signal arrived while waiting), EDEADLK
 *         (this thread holds it already), EPROTO (the ring is invalid; the
 *         lock is not held), EPIPE (the lock object was removed, or the
 *         objects were truncated; the lock is not held), EINVAL.
 */
SHBUF_EXPORT int shbuf_status_lock(shbuf *sb);

/**
 * Release the status lock, applying the edits made to the status block. An
 * edit no ring can hold (read_idx >= S, length > S, backlog > S - length,
 * backlog > backlog_target) is refused: nothing changes, and the lock is
 * released all the same.
 *
 * \return 0, or -1 with errno: EPERM (the calling thread does not hold the
 *         lock), EINVAL (an impossible edit, or a NULL handle), EPIPE (the
 *         objects were truncated meanwhile: the edits are dropped, the lock
 *         released).
 */
SHBUF_EXPORT int shbuf_status_unlock(shbuf *sb);

/**
 * Empty the ring: R = L = B = 0; counters, backlog_target and the ignore
 * flags are kept. It also repairs a ring a crashed or hostile peer left
 * invalid. Wakes the peer.
 * \return 0, or -1 with errno ETIMEDOUT, EINTR, EDEADLK, EPIPE (see
 *         shbuf_status_lock()) or EINVAL.
 */
SHBUF_EXPORT int shbuf_reset(shbuf *sb);

/** shbuf_reset(), and fill the data block with zeros. \return as shbuf_reset(). */
SHBUF_EXPORT int shbuf_zero(shbuf *sb);

/**
 * Address of the next unread byte.
 *
 * \param l receives the contiguous unread bytes, min(L, S - R); 0 when empty
 * \return the address (valid also when *l is 0), or NULL with errno EINVAL
 *         (NULL argument), EPROTO (corrupted status block) or EPIPE (the
 *         objects were truncated: see SIGBUS on the main page).
 */
SHBUF_EXPORT unsigned char *shbuf_get_read_pointer(shbuf *sb, unsigned long *l);

/**
 * Consume r bytes. If ignore_read_inc is set, clear it and change nothing else.
 * While a status edit of either side is under way, the commit waits for its
 * end (see shbuf_status_lock()) and applies to the ring as it left it.
 * \return 0, or -1 with errno EINVAL (r > L; nothing changes), EPROTO,
 *         EPIPE (the objects were truncated, maybe while the program read
 *         the span: nothing is committed), or ETIMEDOUT, EINTR, EDEADLK (the
 *         status lock, as for shbuf_status_lock()).
 */
SHBUF_EXPORT int shbuf_inc_read_pointer(shbuf *sb, unsigned long r);

/**
 * Address of the write position.
 *
 * \param l receives the contiguous free bytes; 0 when full
 * \return the address, or NULL with errno EINVAL, EPROTO or EPIPE.
 */
SHBUF_EXPORT unsigned char *shbuf_get_write_pointer(shbuf *sb, unsigned long *l);

/**
 * Commit w written bytes. If ignore_write_inc is set, clear it and change
 * nothing else. The writer may always use S - L bytes; writing over the
 * backlog shrinks it. Status edits under way: as shbuf_inc_read_pointer().
 * \return 0, or -1 with errno EINVAL (w > S - L; nothing changes), EPROTO,
 *         EPIPE (as for shbuf_inc_read_pointer()), or ETIMEDOUT, EINTR,
 *         EDEADLK.
 */
SHBUF_EXPORT int shbuf_inc_write_pointer(shbuf *sb, unsigned long w);

/** 1 if L == S, 0 if not, -1 with errno EINVAL, EPROTO or EPIPE. */
SHBUF_EXPORT int shbuf_is_full(shbuf *sb);

/** 1 if L == 0, 0 if not, -1 with errno EINVAL, EPROTO or EPIPE. */
SHBUF_EXPORT int shbuf_is_empty(shbuf *sb);

/**
 * Copy up to n unread bytes out of the ring (across the wrap) and consume them.
 * Never blocks.
 * \return bytes moved (0 when empty, when ignore_read_inc dropped the commit,
 *         or while a status edit lasts longer than a moment; a wait that
 *         follows then returns as soon as there is something to do), or -1
 *         with errno EINVAL, EPROTO, or EPIPE (the objects were truncated,
 *         maybe during the copy: buf may hold zeros, nothing is consumed).
 */
SHBUF_EXPORT long shbuf_read(shbuf *sb, unsigned char *buf, unsigned long n);

/**
 * Copy up to n bytes into the ring (across the wrap) and commit them.
 * Never blocks.
 * \return bytes stored (0 when full, when ignore_write_inc dropped the
 *         commit (nothing is copied then: the backlog stays whole), or
 *         while a status edit lasts longer than a moment; a wait that
 *         follows then returns as soon as there is something to do), or -1
 *         with errno EINVAL, EPROTO or EPIPE (the objects were truncated;
 *         nothing is committed).
 */
SHBUF_EXPORT long shbuf_write(shbuf *sb, const unsigned char *buf, unsigned long n);

/**@}*/
/* ------------------------------------------------------------------ */
/** \name Backends */
/**@{*/

/** NULL-terminated list of the compiled backends, default first. */
SHBUF_EXPORT const char *const *shbuf_backends(void);

/** Name of the build's default backend ("sysv" or "posix"). */
SHBUF_EXPORT const char *shbuf_default_backend(void);

/** Name of the backend the handle uses, or NULL + EINVAL. */
SHBUF_EXPORT const char *shbuf_get_backend(shbuf *sb);

/**
 * Why shbuf_create() fell back from the default backend to another one.
 * \return the errno that made the default backend unusable, 0 if no fallback
 *         happened, -1 + EINVAL on a NULL handle.
 */
SHBUF_EXPORT int shbuf_get_fallback_errno(shbuf *sb);

/**@}*/

/* ------------------------------------------------------------------ */
/** \name Inspecting and cleaning up buffers (for tools such as shbuf(1)) */
/**@{*/

/** What can be seen of one buffer from outside, without attaching as a peer. */
typedef struct shbuf_info {
        char backend[16];              /**< "sysv" or "posix" */
        key_t key;                     /**< the buffer's key */
        unsigned long size;            /**< data bytes */
        shbuf_status status;           /**< a snapshot of the status block (unlocked read) */
        int status_valid;              /**< 1 if the snapshot passed validation */
        long provider_pid;             /**< 0 if none */
        int provider_alive;            /**< 1 if that process exists */
        long client_pid;               /**< 0 if no client ever attached */
        int client_attached;           /**< 1 if a client is attached (it may have died) */
        int client_alive;              /**< 1 if attached and that process exists */
        unsigned mode;                 /**< permission bits of the control block */
        uid_t uid;                     /**< owner of the control block */
        unsigned long lock_recoveries; /**< times a dead holder's lock was taken over */
        long attachments; /**< processes mapping the control block, -1 if the backend cannot tell (POSIX) */
} shbuf_info;

/**
 * List every buffer of every compiled backend on this machine that this
 * process can see. Only whole buffers are listed: what else is under a
 * buffer's name (a buffer still being created, one whose creator died
 * half-way, an object that is not a buffer) is listed by
 * shbuf_list_other(). Listing never blocks on what it finds: an object
 * under a buffer's name is opened without waiting and without following a
 * link, and skipped unless it is a buffer.
 *
 * \param ret   receives a malloc()ed array (free() it), NULL when empty
 * \param count receives the number of entries
 * \return 0, or -1 with errno (ENOMEM, EINVAL).
 */
SHBUF_EXPORT int shbuf_list(shbuf_info **ret, size_t *count);

/**
 * Describe the buffer under key.
 *
 * \param backend restrict to this backend, or NULL for any
 * \return 0, or -1 with errno: ENOENT (no buffer), EPROTO (the object under
 *         the key is not a whole shbuf: a foreign object, or a buffer still
 *         being created or left half-created, see shbuf_list_other()),
 *         EACCES.
 */
SHBUF_EXPORT int shbuf_inspect(key_t key, const char *backend, shbuf_info *ret);

/**
 * Remove every OS object of the buffer under key, as its provider's
 * shbuf_free() would. Peers still attached get EPIPE from their next wait.
 * A foreign object under the key is never touched, nor is an object the
 * buffer's control block names that does not belong to the buffer's owner.
 * A buffer whose creator died before finishing it is removed too.
 *
 * \param backend restrict to this backend, or NULL for any
 * \return 0, or -1 with errno: ENOENT, EPROTO (not a shbuf), EBUSY (the
 *         buffer is still being created by a live process; nothing is
 *         touched), EPERM/EACCES.
 */
SHBUF_EXPORT int shbuf_remove(key_t key, const char *backend);

/**
 * Remove buffers whose provider and client processes are both gone
 * (stale buffers left by crashed programs), and buffers whose creator died
 * before finishing them (those are reported with the creator as
 * provider_pid and status_valid 0). Only objects that belong to the
 * buffer's owner are removed.
 *
 * \param dry_run if non-zero, only report what would be removed
 * \param ret     if not NULL, receives a malloc()ed array of what was (or
 *                would be) removed; free() it
 * \param count   if not NULL, receives the number of entries
 * \return 0, or -1 with errno.
 */
SHBUF_EXPORT int shbuf_gc(int dry_run, shbuf_info **ret, size_t *count);

/** What shbuf_list_other() found under a buffer's name (shbuf_other::state). */
enum shbuf_other_state {
        /** A buffer being created: its creator is still at work. */
        SHBUF_OTHER_CREATING = 1,
        /** A buffer whose creator died before finishing it. It blocks its
         *  key until shbuf_gc() or shbuf_remove() removes it. */
        SHBUF_OTHER_HALF_CREATED = 2,
        /** An object that is not a buffer (a FIFO or a file planted under a
         *  buffer's name, a foreign segment): never touched by the library. */
        SHBUF_OTHER_SKIPPED = 3,
};

/** Something under a buffer's name that is not a whole buffer. */
typedef struct shbuf_other {
        char backend[16];   /**< the backend whose names it is under */
        key_t key;          /**< the key it is under */
        int state;          /**< an enum shbuf_other_state */
        char object[64];    /**< the OS object, e.g. "/dev/shm/shbuf-0000abcd-ctl" */
        const char *reason; /**< SHBUF_OTHER_SKIPPED: why, in words (static); else NULL */
        unsigned long size; /**< a half-made buffer: the size being made */
        long creator_pid;   /**< a half-made buffer: its creator's pid, 0 if unknown */
        uid_t uid;          /**< owner of the object */
        unsigned mode;      /**< its permission bits */
} shbuf_other;

/**
 * List what shbuf_list() leaves out: buffers being created, buffers whose
 * creator died half-way, and objects under a buffer's name (of every
 * compiled backend) that are not buffers, with the reason. Whether a
 * creator is still there is told by the kernel (a lock or an attachment
 * the creator holds), not by its pid alone.
 *
 * \param ret   receives a malloc()ed array (free() it), NULL when empty
 * \param count receives the number of entries
 * \return 0, or -1 with errno (ENOMEM, EINVAL).
 * \since 0.1.0 (symbol version LIBSHBUF_0.1)
 */
SHBUF_EXPORT int shbuf_list_other(shbuf_other **ret, size_t *count);

/**@}*/

/*
 * Compile-time backend choice: build the application with
 * -DSHBUF_USE_BACKEND='"posix"' (or '"sysv"', or the name of another
 * backend), or with the quote-free -DSHBUF_USE_BACKEND_<NAME>
 * (-DSHBUF_USE_BACKEND_POSIX, -DSHBUF_USE_BACKEND_SYSV) that the pkg-config
 * modules shbuf-<name> and the CMake targets shbuf::<name> add, and
 * shbuf_create()/shbuf_open() use that backend as if it had been named in
 * shbuf_options (so SHBUF_BACKEND in the environment does not override it).
 * shbuf-backends.h, generated from the library's list of backends and
 * installed next to this header, maps the quote-free macros; two of them
 * at once do not compile. A quoted SHBUF_USE_BACKEND wins over them.
 */
#include "shbuf-backends.h"
#if defined(SHBUF_USE_BACKEND) && !defined(SHBUF_BUILDING_LIBRARY)
#define shbuf_create(key, size)                                                                             \
        shbuf_create_with((key), (size), &(const shbuf_options){.backend = SHBUF_USE_BACKEND})
#define shbuf_open(key) shbuf_open_with((key), &(const shbuf_options){.backend = SHBUF_USE_BACKEND})
#endif

#ifdef __cplusplus
}
#endif

#endif /* LIBSHBUF_SHBUF_H */
