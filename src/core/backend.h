/*
 * The backend contract. The core sees a backend only through this table of
 * operations, a name, an id and capability bits; everything that is not
 * specific to an OS facility (ring, backlog, status helpers, wake-up policy,
 * notifier, validation) lives in the core.
 *
 * Every operation returns 0 (or a count) on success and -errno on failure.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_BACKEND_H
#define SHBUF_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "libshbuf/shbuf.h"

/* Recorded in the control block; never reuse a number. */
enum shbuf__backend_id {
        SHBUF__BACKEND_SYSV = 1,
        SHBUF__BACKEND_POSIX = 2,
};

enum shbuf__backend_caps {
        /* recv_fd() gives a descriptor poll() reports readable when a wake-up
         * is pending, so no notifier thread is needed. */
        SHBUF__CAP_POLLABLE = 1u << 0,
};

/* What the lister sees of one buffer. */
struct shbuf__found {
        key_t key;
        uid_t uid;
        int mode;
        long attached; /* processes mapping the control block, -1 if unknown */
};

struct shbuf__backend {
        const char *name;
        uint8_t id;
        unsigned caps;

        /*
         * Create every object of a new buffer for sb->size data bytes under
         * key (0: choose a free key) with the given mode, map the control and
         * data blocks, and set sb->key, sb->control, sb->control_size,
         * sb->data and sb->priv. The core initialises the header afterwards;
         * until then the magic is 0, so an early attacher is refused.
         * On failure nothing may be left behind. -EEXIST for a taken key.
         */
        int (*create)(shbuf *sb, key_t key, int mode);

        /*
         * Map the control block under key without trusting it: set
         * sb->control, sb->control_size (the real size of the mapping) and
         * sb->priv. -ENOENT if there is none, -EPROTO if the object there
         * cannot be a control block.
         */
        int (*attach_control)(shbuf *sb, key_t key);

        /*
         * After the core validated the header: attach the data block, lock and
         * wake-up channels the backend area names, checking that they are the
         * buffer's own objects. Sets sb->data.
         */
        int (*attach_rest)(shbuf *sb);

        /* Unmap and close; with remove, also delete every OS object. Must
         * accept a half-attached handle. */
        void (*detach)(shbuf *sb, bool remove);

        /* Apply mode to every object. */
        int (*set_mode)(shbuf *sb, int mode);
        /* The permission bits of the control block, or -errno. */
        int (*get_mode)(shbuf *sb);

        /* 0 while the objects exist, -EPIPE once they were removed. */
        int (*check_alive)(shbuf *sb);

        /* Sleep on the lock's wait object for at most timeout_ms: 0 when
         * woken, -ETIMEDOUT, -EINTR, -EPIPE if the object was removed. */
        int (*lock_sleep)(shbuf *sb, int timeout_ms);
        /* Wake one lock sleeper. */
        int (*lock_wake)(shbuf *sb);

        /* Queue a wake-up for side, never blocking; a full queue is success. */
        int (*send)(shbuf *sb, int side);
        /* Take one wake-up for this handle's side, blocking without limit:
         * 0, -EINTR, or -EPIPE when the channel was removed. The peer's
         * death and deadlines reach it as wake-ups sent by the core's
         * sentinel thread. */
        int (*recv)(shbuf *sb);
        /* Only with SHBUF__CAP_POLLABLE (NULL otherwise): the pollable
         * descriptor of this side's channel, and taking wake-ups from it. */
        int (*recv_fd)(shbuf *sb);
        /* Discard up to max pending wake-ups of this side without blocking;
         * returns how many, or -EPIPE. */
        int (*drain)(shbuf *sb, int max);

        /* Tooling: call fn for every buffer of this backend on the machine. */
        int (*list)(int (*fn)(const struct shbuf__found *f, void *userdata), void *userdata);
        /* Remove every object under key that belongs to a buffer of this
         * backend, without attaching as a peer; -ENOENT, -EPROTO for a
         * foreign object (left untouched). */
        int (*remove_key)(key_t key);
};

/* The NULL-terminated table of compiled backends, default first. */
extern const struct shbuf__backend *const shbuf__backends[];

/* Look a backend up by name; NULL if it is unknown or not compiled. */
const struct shbuf__backend *shbuf__backend_find(const char *name);

#endif
