/*
 * The per-process handle and the core's internal functions.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_HANDLE_H
#define SHBUF_HANDLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "layout.h"
#include "ring.h"

struct shbuf__notifier;
struct shbuf__sentinel;

struct _shbuf {
        const struct shbuf__backend *backend;
        void *priv; /* the backend's own state */

        struct shbuf__control *control;
        uint64_t control_size; /* size of the control mapping */
        unsigned char *data;
        uint64_t size; /* data bytes, from the validated header */
        key_t key;
        int side;     /* enum shbuf__side */
        uint32_t pid; /* getpid() when the handle was made */
        uint64_t id;  /* unique in this process, for per-thread bookkeeping */
        int fallback_errno;
        _Atomic uint32_t spin_us; /* bounded spin before sleeping, 0 = off */
        _Atomic uint32_t busy_spin_us; /* spin while the peer's transfer is under way */
        bool stream_stores;       /* shbuf_write() may bypass the cache (copy.c) */
        /* Bumped when this side moves the ring other than by a commit
         * (shbuf_reset(), shbuf_status_lock()): the ring another thread
         * last saw is stale then (see shbuf__recall()). */
        _Atomic uint32_t moved;

        /* Guards everything below. Never held across a blocking call except
         * by design in the wait fan-out (pthread_cond_wait). */
        pthread_mutex_t mutex;
        pthread_cond_t cond;
        bool receiving;           /* one thread is blocked in the channel */
        pthread_t receiver;       /* ... this one */
        uint64_t wake_gen;        /* bumped whenever that thread returns */
        int64_t alive_checked_ms; /* when the receiver last checked the objects */

        uint32_t peer_pid; /* pid the pidfd refers to, 0 if none */
        int peer_pidfd;    /* -1 if none */
        atomic_bool peer_died;
        atomic_bool removed;        /* the objects are gone */
        atomic_bool owed_wake;      /* a wake-up held back by the hysteresis */
        pthread_mutex_t fifo_mutex; /* guards the two below */
        int peer_fifo_fd;           /* the peer's wake-up FIFO, opened for writing */
        uint32_t peer_fifo_gen;     /* ... as of this generation */

        struct shbuf__notifier *notifier;
        struct shbuf__sentinel *sentinel;
};

static inline struct shbuf__peer *shbuf__self(shbuf *sb) {
        return &sb->control->peer[sb->side];
}
static inline struct shbuf__peer *shbuf__other(shbuf *sb) {
        return &sb->control->peer[!sb->side];
}

/* copy.c: n bytes of the program's into the ring. */
void shbuf__copy_in(const shbuf *sb, unsigned char *dst, const unsigned char *src, uint64_t n);

/* lock.c */
int shbuf__lock(shbuf *sb);
void shbuf__unlock(shbuf *sb);

/* status.c: every helper validates the status under the lock. */
int shbuf__get_read(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len);
int shbuf__get_write(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len);
int shbuf__commit_read(shbuf *sb, uint64_t n);
int shbuf__commit_write(shbuf *sb, uint64_t n);
long shbuf__read(shbuf *sb, unsigned char *buf, uint64_t n);
long shbuf__write(shbuf *sb, const unsigned char *buf, uint64_t n);
int shbuf__is_empty(shbuf *sb);
int shbuf__is_full(shbuf *sb);
int shbuf__reset(shbuf *sb, bool zero);
int shbuf__status_lock(shbuf *sb);

/* wake.c: the notification policy and waiting. */
enum shbuf__look {
        SHBUF__LOOK_OTHER,     /* intent unknown */
        SHBUF__LOOK_READ,      /* a read-side helper */
        SHBUF__LOOK_WRITE,     /* a write-side helper */
};
void shbuf__saw(shbuf *sb, enum shbuf__look look, const struct shbuf__ring *ring);
void shbuf__saw_commit(shbuf *sb, enum shbuf__look side, const struct shbuf__ring *ring);
bool shbuf__recall(shbuf *sb, enum shbuf__look side, struct shbuf__ring *ret);
bool shbuf__recalled_exact(shbuf *sb);
bool shbuf__spin_after_look(shbuf *sb, enum shbuf__look look);
void shbuf__bump(shbuf *sb);
void shbuf__after_commit(shbuf *sb, bool consumed, uint64_t free_bytes);
int shbuf__notify(shbuf *sb);
int shbuf__wait(shbuf *sb, int timeout_ms);
void shbuf__wake_init(shbuf *sb);

/* peer.c: is the other side still there? */
int shbuf__peer_refresh(shbuf *sb);
bool shbuf__peer_gone(shbuf *sb, bool probe);
int shbuf__peer_connected(shbuf *sb);
bool shbuf__pid_alive(uint32_t pid);
void shbuf__peer_close(shbuf *sb);
int shbuf__sentinel_arm(shbuf *sb, int64_t deadline_ms);
void shbuf__sentinel_stop(shbuf *sb);
int64_t shbuf__now_ms(void);

/* notifier.c: the select descriptor. */
int shbuf__notify_enable(shbuf *sb, bool enable);
int shbuf__select_fd(shbuf *sb);
int shbuf__post_select(shbuf *sb);
int shbuf__notifier_wait(shbuf *sb, int timeout_ms);
void shbuf__notifier_peer_changed(shbuf *sb);
int shbuf__fifo_kick(shbuf *sb);
void shbuf__fifo_path(char *buf, size_t n, key_t key, int side);
void shbuf__fifo_close_peer(shbuf *sb);
int shbuf__fifo_chmod(shbuf *sb, int mode);
void shbuf__remove_fifos(key_t key);

/* handle.c: lifetime. */
int shbuf__create(shbuf **ret, key_t key, uint64_t size, const shbuf_options *opts);
int shbuf__open(shbuf **ret, key_t key, const shbuf_options *opts);
void shbuf__free(shbuf *sb);
int shbuf__access(shbuf *sb, int mode);
int shbuf__set_spin(shbuf *sb, unsigned usec);
int shbuf__set_busy_spin(shbuf *sb, unsigned usec);

/* thread.c: threads of the library, with signals blocked. */
int shbuf__thread_start(pthread_t *ret, void *(*fn)(void *), void *arg);

/* tooling.c: looking at buffers from outside. */
int shbuf__list(shbuf_info **ret, size_t *count);
int shbuf__inspect(key_t key, const char *backend, shbuf_info *ret);
int shbuf__remove(key_t key, const char *backend);
int shbuf__gc(bool dry_run, shbuf_info **ret, size_t *count);

#endif
