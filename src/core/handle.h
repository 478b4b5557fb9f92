/*
 * The per-process handle and the core's internal functions, by file.
 *
 * The files depend on each other in one direction only, lowest first:
 *   os, ring, control, backends      platform, arithmetic, layout, table
 *   memtrap                          surviving mappings shrunk under us
 *   serial                           per-direction serialisation of threads
 *   liveness                         is the peer still there?
 *   lock, wake                       the status lock word; waking the peer
 *   view                             freezing the ring, the status view, reset
 *   news, spin                       what a thread saw; spinning for news
 *   transfer                         the data path (looks, copies, commits)
 *   alarm, sleep                     the helper thread, one sleep
 *   select, wait                     the select descriptor, shbuf_wait()
 *   handle, tooling, api             lifetime, looking from outside, the edge
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_HANDLE_H
#define SHBUF_HANDLE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "layout.h"
#include "os.h"
#include "ring.h"

struct shbuf__select;
struct shbuf__alarm;
struct shbuf__memtrap;

/*
 * Serialises the threads that use one direction of a handle (serial.c).
 * The first thread to use it owns it and enters with plain loads and
 * stores; a second thread turns it, once and for good, into a mutex.
 */
struct shbuf__serial {
        _Atomic(const void *) owner; /* the biased thread's token, or INFLATED */
        _Atomic uint32_t in_call;    /* the biased thread is inside a call */
        pthread_mutex_t mutex;
};

/* What one direction of a handle keeps between its calls. */
struct shbuf__dirstate {
        struct shbuf__serial serial;
        /* The other role's position and commit count as last loaded; the
         * position only moves away from us (more data, more room) until the
         * epoch moves, so a stale copy never shows more than there is. */
        uint64_t peer_pos;
        uint64_t peer_count;
        uint32_t epoch; /* the ring epoch peer_pos belongs to */
        bool cached;
        /* Set by a wait that returned news this direction's cache may not
         * show yet (news.c): the next look loads afresh. */
        atomic_bool refresh;
        /* The other role's commit count this direction last saw: a wait
         * returns when it moved (news.c). Written by looks under serial;
         * and this side's events counter as that look saw it. */
        _Atomic uint64_t seen_count;
        _Atomic uint32_t seen_events;
        /* The last write look left less than half the ring free: a wait
         * then asks to be woken only once half is free (hysteresis). */
        atomic_bool space_low;
        atomic_bool busy;  /* a call of this direction is under way here */
        bool transfer;     /* a look found something and its commit is due */
        uint32_t mark;     /* the mark's side and CPU bits during a call */
        uint32_t calls;    /* calls made, to ask for the CPU now and then */
        bool biased;       /* the call under way entered serial biased */
};

struct shbuf__watcher;

/* The peer as this handle follows it (liveness.c); under handle.mutex. */
struct shbuf__peer {
        uint32_t pid;  /* the pid pidfd refers to, 0 if none */
        uint32_t tag;  /* ... and its lock tag */
        int pidfd;     /* -1 if none */
        struct shbuf__watcher *watcher; /* where there is no pidfd */
        atomic_bool died;
        atomic_bool removed; /* the objects are gone */
};

struct _shbuf {
        const struct shbuf__backend *backend;
        struct shbuf__map map;
        struct shbuf__control *control; /* map.control, validated */
        unsigned char *data;            /* map.data */
        uint64_t size;                  /* data bytes, from the validated header */
        key_t key;
        int side;     /* enum shbuf__side */
        uint32_t pid;   /* getpid() when the handle was made */
        uint64_t pidns; /* ... and its pid namespace (os.h), 0 if unknown */
        uint32_t tag; /* this handle's status-lock tag, unique per handle */
        uint64_t id;  /* unique in this process, for per-thread bookkeeping */
        int fallback_errno;
        bool stream_stores; /* shbuf_write() may bypass the cache (copy.c) */
        /* Hot paths fence themselves: this process is not reached by the
         * other side's global barriers (os.h). */
        bool self_fence;
        /* Set by the SIGBUS trap when somebody shrank an object under one
         * of our mappings, which now hold zeros: every call fails with
         * EPIPE (memtrap.c). */
        atomic_bool trapped;
        _Atomic uint32_t spin_us;      /* the opt-in spin before sleeping */
        _Atomic uint32_t busy_spin_us; /* spin while the peer's transfer is under way */

        struct shbuf__dirstate dir[2]; /* by enum shbuf__dir */
        /* What a look at both roles (shbuf_is_empty(), shbuf_is_full())
         * saw: the roles' counts and this side's events (news.c). */
        _Atomic uint64_t both_seen[2];
        _Atomic uint32_t both_seen_events;
        atomic_bool owed_wake;         /* a wake-up held back by the hysteresis */

        /* The status lock as held by a thread of this handle (view.c):
         * guarded by being the holder. */
        _Atomic bool lock_held;
        pthread_t lock_thread;
        shbuf_status view;      /* what shbuf_get_status() points at */
        shbuf_status view_orig; /* ... as it was when the lock was taken */
        pthread_mutex_t view_mutex; /* refreshes of the view outside the lock */

        /* When a wait last asked the backend whether the objects are
         * still there (wait.c); waiting threads ask outside the mutex. */
        _Atomic int64_t alive_checked_ms;

        /* Guards everything below. Never held across a blocking call but
         * by pthread_cond_wait(). */
        pthread_mutex_t mutex;
        pthread_cond_t cond;
        bool receiving;    /* one thread sleeps in the channel */
        uint64_t wake_gen; /* bumped whenever that thread returns */
        struct shbuf__peer peer;
        struct shbuf__select *select; /* notification enabled */
        unsigned select_users;        /* threads sleeping on select (not freed under them) */
        struct shbuf__alarm *alarm;

        /* The control and data mappings' slots in the SIGBUS trap's
         * registry; set when the handle is made, so out of the hot lines. */
        struct shbuf__memtrap *traps[2];
};

static inline struct shbuf__side_block *shbuf__self(shbuf *sb) {
        return &sb->control->side[sb->side];
}
static inline struct shbuf__side_block *shbuf__other(shbuf *sb) {
        return &sb->control->side[!sb->side];
}
/* The role a direction writes, and the one it waits for. */
static inline struct shbuf__role *shbuf__own_role(shbuf *sb, enum shbuf__dir d) {
        return d == SHBUF__WRITE ? &sb->control->head : &sb->control->tail;
}
static inline struct shbuf__role *shbuf__peer_role(shbuf *sb, enum shbuf__dir d) {
        return d == SHBUF__WRITE ? &sb->control->tail : &sb->control->head;
}

/*
 * A full fence. ThreadSanitizer does not model standalone fences (and gcc
 * refuses them under it); an atomic read-modify-write of a variable of the
 * thread's own is a full fence on the machine, and one it understands.
 */
#ifdef __SANITIZE_THREAD__
static _Thread_local _Atomic int shbuf__fence_word;
#define shbuf__full_fence() ((void) atomic_fetch_add(&shbuf__fence_word, 0))
#else
#define shbuf__full_fence() atomic_thread_fence(memory_order_seq_cst)
#endif

/*
 * The hot paths' half of an asymmetric fence (os.h): nothing but a compiler
 * barrier where the other side's membarrier() reaches this process, a full
 * fence where it does not.
 */
static inline void shbuf__light_fence(const shbuf *sb) {
        if (sb->self_fence)
                shbuf__full_fence();
        else
                atomic_signal_fence(memory_order_seq_cst);
}

/* The rare paths' half: a global barrier, or a plain full fence where
 * there is none (the hot paths then fence themselves). Returns false when
 * the barrier did not reach the other process: the caller must then allow
 * for stores it may not see yet (see wait.c's grace). */
bool shbuf__heavy_fence(void);

/* Whether a heavy fence that did not reach the other process must be
 * followed by a grace: only if that process's hot paths do not fence. */
static inline bool shbuf__peer_needs_grace(shbuf *sb) {
        return !atomic_load_explicit(&shbuf__other(sb)->fences, memory_order_relaxed);
}

/* Milliseconds until deadline_ms (< 0: none, then -1), at least 0. */
static inline int shbuf__ms_left(int64_t deadline_ms) {
        if (deadline_ms < 0)
                return -1;
        int64_t left = deadline_ms - shbuf__os_now_ms();
        return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int) left;
}

/*
 * Thread-local variables of the library. The initial-exec model reads them
 * at a fixed offset from the thread pointer; the default for a shared
 * library calls __tls_get_addr() on every access, which cost a tenth of a
 * small write's time. The few bytes come from the static TLS space that C
 * libraries keep for libraries loaded later (a Python extension, say).
 */
#define SHBUF__THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
}

/*
 * Whether the SIGBUS trap replaced one of the handle's mappings: one plain
 * load. The trap may have fired in this very thread, at an access just
 * before the call: the compiler barrier keeps the load after that access.
 */
static inline bool shbuf__trapped(shbuf *sb) {
        atomic_signal_fence(memory_order_seq_cst);
        return atomic_load_explicit(&sb->trapped, memory_order_relaxed);
}

/* copy.c: n bytes of the program's into the ring. */
void shbuf__copy_in(const shbuf *sb, unsigned char *dst, const unsigned char *src, uint64_t n);

/*
 * memtrap.c: the SIGBUS trap. Register a mapping that another process may
 * shrink: a fault in it sets *flag and replaces it with zero pages. Remove
 * the registration (NULL is a no-op) before unmapping.
 */
int shbuf__memtrap_add(void *start, uint64_t len, atomic_bool *flag, struct shbuf__memtrap **ret);
void shbuf__memtrap_remove(struct shbuf__memtrap *t);
/* The program's own SIGBUS action: sa is what sigaction() reports, and
 * where that is the trap's handler, it becomes the one the trap chains to
 * (which decides what a sent SIGBUS does). */
void shbuf__memtrap_program_action(struct sigaction *sa);

/* serial.c */
void shbuf__serial_init(struct shbuf__serial *s);
void shbuf__serial_destroy(struct shbuf__serial *s);
/* Returns whether the call entered biased, which shbuf__serial_leave()
 * must be told. */
bool shbuf__serial_enter(struct shbuf__serial *s);
void shbuf__serial_leave(struct shbuf__serial *s, bool biased);

/* liveness.c: is the other side still there? Under sb->mutex unless said. */
void shbuf__peer_refresh(shbuf *sb);
bool shbuf__peer_gone(shbuf *sb, bool probe);
int shbuf__peer_connected(shbuf *sb); /* takes sb->mutex */
bool shbuf__tag_alive(shbuf *sb, uint32_t tag);
void shbuf__peer_close(shbuf *sb);
/* The descriptor that turns readable at the peer's death, or -1. */
int shbuf__peer_fd(shbuf *sb);

/* lock.c: the status lock word. deadline_ms < 0: the default bound. */
int shbuf__lock(shbuf *sb, int64_t deadline_ms);
void shbuf__unlock(shbuf *sb);
/* Milliseconds a lock (or an unfreeze) is waited for at most: 2000. A
 * variable so that the fuzzer, whose made-up holders may look alive, can
 * make them give up sooner. */
extern int shbuf__lock_wait_ms;

/* wake.c: the wait word protocol. shbuf__wake_side() also serves tooling,
 * which has a mapping but no handle. */
void shbuf__wake_side(const struct shbuf__backend *b, struct shbuf__map *m, int side);
void shbuf__wake_after_commit(shbuf *sb, enum shbuf__dir d, uint64_t free_bytes);
void shbuf__pay_owed_wake(shbuf *sb);
int shbuf__notify(shbuf *sb);
void shbuf__announce_side(shbuf *sb, int side);
void shbuf__wait_arm(shbuf *sb, uint32_t how);
void shbuf__wait_disarm(shbuf *sb, bool took_wakeup);

/* view.c: freezing the ring, the 0.0.3 status view, reset. */
int shbuf__status_lock(shbuf *sb);
int shbuf__status_unlock(shbuf *sb);
shbuf_status *shbuf__get_status(shbuf *sb);
int shbuf__reset(shbuf *sb, bool zero);
bool shbuf__holds_lock(shbuf *sb);
/* Wait (bounded) until no status-lock holder has the ring frozen. */
int shbuf__wait_unfrozen(shbuf *sb);
/* Thaw a ring frozen by a holder that is gone (or a scribbling peer), if
 * the lock can be had at once; never sleeps. */
void shbuf__thaw_orphaned(shbuf *sb);
/* The shared positions as they stand, unlocked (a snapshot). */
void shbuf__load_positions(const struct shbuf__control *c, struct shbuf__positions *ret);

/* news.c: what the calling thread saw, and whether anything is new. */
void shbuf__note_look(shbuf *sb, enum shbuf__dir d, uint64_t peer_count);
/* A look at both positions (shbuf_is_empty(), shbuf_is_full()). */
#define SHBUF__BOTH 2
void shbuf__note_both(shbuf *sb, uint64_t head_count, uint64_t tail_count);
int shbuf__last_dir(shbuf *sb); /* enum shbuf__dir, SHBUF__BOTH, or -1: no look remembered */
bool shbuf__news(shbuf *sb, int d);
void shbuf__take_news(shbuf *sb, int d);

/* transfer.c: the data path. */
int shbuf__get_read(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len);
int shbuf__get_write(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len);
int shbuf__commit_read(shbuf *sb, uint64_t n);
int shbuf__commit_write(shbuf *sb, uint64_t n);
long shbuf__read(shbuf *sb, unsigned char *buf, uint64_t n);
long shbuf__write(shbuf *sb, const unsigned char *buf, uint64_t n);
int shbuf__is_empty(shbuf *sb);
int shbuf__is_full(shbuf *sb);

/* spin.c: the one spin policy. */
bool shbuf__spin_wait(shbuf *sb, int d, int64_t deadline_ms);
bool shbuf__spin_after_look(shbuf *sb, enum shbuf__dir d);

/* alarm.c: the helper thread of backends without timed receives. */
int shbuf__alarm_arm(shbuf *sb, int64_t deadline_ms);
void shbuf__alarm_disarm(shbuf *sb);
void shbuf__alarm_stop(shbuf *sb);

/* sleep.c: one sleep in the wake-up channel. 1 woken by a wake-up, 0 timed
 * out or the peer's death fired, -EINTR, -EPIPE. */
int shbuf__sleep_channel(shbuf *sb, int64_t deadline_ms);

/* interrupt.c: after a sleep ended with EINTR, whether it is to go on
 * (every signal that can have ended it has SA_RESTART). */
bool shbuf__interrupt_restarts(void);

/* select.c: the select descriptor. */
int shbuf__notify_enable(shbuf *sb, bool enable);
int shbuf__select_fd(shbuf *sb);
int shbuf__post_select(shbuf *sb);
/* With sb->mutex held and select enabled: sleep on it; 1/0/-errno as
 * shbuf__sleep_channel(). Drops the mutex while sleeping. */
int shbuf__select_sleep(shbuf *sb, int d, int64_t deadline_ms);
void shbuf__select_peer_changed(shbuf *sb);

/* wait.c */
int shbuf__wait(shbuf *sb, int timeout_ms);

/* handle.c: lifetime. */
int shbuf__create(shbuf **ret, key_t key, uint64_t size, const shbuf_options *opts);
/* The same on one given backend, for the tests' in-memory backend. */
int shbuf__create_on(const struct shbuf__backend *b, shbuf **ret, key_t key, uint64_t size, int mode);
int shbuf__open_on(const struct shbuf__backend *b, shbuf **ret, key_t key);
int shbuf__open(shbuf **ret, key_t key, const shbuf_options *opts);
void shbuf__free(shbuf *sb);
int shbuf__access(shbuf *sb, int mode);
int shbuf__set_spin(shbuf *sb, unsigned usec);
int shbuf__set_busy_spin(shbuf *sb, unsigned usec);

/* thread.c: threads of the library, with signals blocked. */
int shbuf__thread_start(pthread_t *ret, void *(*fn)(void *), void *arg);

/* tooling.c: looking at buffers from outside. */
int shbuf__list(shbuf_info **ret, size_t *count);
int shbuf__list_other(shbuf_other **ret, size_t *count);
int shbuf__inspect(key_t key, const char *backend, shbuf_info *ret);
int shbuf__remove(key_t key, const char *backend);
int shbuf__gc(bool dry_run, shbuf_info **ret, size_t *count);

#endif
