/*
 * The backend contract. The core sees a backend only through this table of
 * operations, a name, an id and capability bits. A backend creates, maps,
 * removes and lists the OS objects of a buffer, sleeps a lock waiter, and
 * carries wake-ups between the sides; everything else (ring, status view,
 * wake-up policy, waiting, liveness, the select descriptor) is the core's.
 *
 * Operations work on a struct shbuf__map, which the backend fills and owns,
 * never on the core's handle. Every operation returns 0 (or a count, or a
 * descriptor) on success and -errno on failure.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_BACKEND_H
#define SHBUF_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"

/* Recorded in the control block. The library's backends have theirs in
 * the list of backends in the top CMakeLists.txt (never reuse a number),
 * which config.h spells SHBUF_BACKEND_ID_<name>; 255 is kept for this one. */
enum shbuf__backend_id {
        SHBUF__BACKEND_FAKE = 255, /* the tests' in-memory backend */
};

enum shbuf__backend_caps {
        /* recv() honours its timeout and its watch descriptor. Without this
         * the core runs a helper thread (alarm.c) that turns deadlines and
         * the peer's death into wake-ups sent with send_self(). */
        SHBUF__CAP_RECV_TIMED = 1u << 0,
        /* Another process can shrink the objects under the mappings (a
         * POSIX shared memory object can be truncated by anyone who may
         * open it), and an access past the new end raises SIGBUS. The core
         * traps such faults (memtrap.c). */
        SHBUF__CAP_SHRINKS = 1u << 1,
};

/* A buffer as one process has mapped it: filled by the backend. */
struct shbuf__map {
        key_t key;
        struct shbuf__control *control;
        uint64_t control_size; /* the real size of the control mapping */
        unsigned char *data;
        uint64_t data_size; /* set by the core before attach_rest() */
        void *priv;         /* the backend's own state */
};

/* What a lister found under a buffer's name: a buffer, or something else. */
enum shbuf__found_kind {
        SHBUF__FOUND_BUFFER = 0, /* a whole buffer */
        SHBUF__FOUND_CREATING,   /* a creation marker, and its creator is still there */
        SHBUF__FOUND_ABANDONED,  /* a creation marker whose creator is gone */
        SHBUF__FOUND_SKIPPED,    /* not a buffer of this backend: never touched */
};

/* What the lister sees of one buffer, or of what it found instead. */
struct shbuf__found {
        key_t key;
        uid_t uid;
        int mode;
        long attached; /* processes mapping the control block, -1 if unknown */
        int kind;      /* enum shbuf__found_kind */
        /* CREATING, ABANDONED: the creator's pid (0 if unknown), the size
         * it was making. */
        uint32_t creator;
        uint64_t size;
        /* Not a buffer: the object, and why it was skipped, in words. */
        char object[64];
        const char *reason;
};

/*
 * For the functions on the stack of a thread that pthread_cancel() ends in
 * a wait (await_absence(), and the core's watcher that calls it).
 * AddressSanitizer cannot clean up the guards around the locals of frames
 * a cancellation unwinds, and reports them later, when the thread exits, as
 * a stack overflow that never happened; such frames get no guards.
 */
#if defined(__GNUC__)
#define SHBUF__CANCELLED_HERE __attribute__((no_sanitize_address))
#else
#define SHBUF__CANCELLED_HERE
#endif

struct shbuf__backend {
        const char *name;
        uint8_t id;
        unsigned caps;

        /*
         * Create every object of a new buffer of m->data_size bytes under
         * key (never 0) with the given mode, and map the control and data
         * blocks. The control block comes first and claims the key; before
         * any other object is made it gets the creation marker
         * (shbuf__control_mark_creating()), and the objects it names are
         * recorded in it as they are made, so that a creator killed
         * half-way leaves something the tools can list and remove. The
         * core initialises the header afterwards; until then an attacher is
         * refused. On failure nothing this call made may be left behind,
         * and nothing it did not make may be touched; -EEXIST for a taken
         * key, or for a leftover object of somebody else under its names.
         */
        int (*create)(struct shbuf__map *m, key_t key, int mode);

        /*
         * Map the control block under key without trusting it. -ENOENT if
         * there is none, -EPROTO if the object there cannot be a control
         * block.
         */
        int (*attach_control)(struct shbuf__map *m, key_t key);

        /*
         * After the core validated the header (and set m->data_size):
         * attach the data block, lock and wake-up channels, checking that
         * they are the buffer's own objects.
         */
        int (*attach_rest)(struct shbuf__map *m);

        /* Unmap and close; with remove, also delete every OS object. Must
         * accept a half-attached map, and leave it empty. */
        void (*detach)(struct shbuf__map *m, bool remove);

        /* Apply mode to every object; the permission bits of the control
         * block. */
        int (*set_mode)(struct shbuf__map *m, int mode);
        int (*get_mode)(struct shbuf__map *m);

        /* 0 while the objects exist, -EPIPE once they were removed. */
        int (*check_alive)(struct shbuf__map *m);

        /*
         * A side's presence, tracked by the kernel and not by pids (which
         * mean nothing in another pid namespace): held by the process of
         * the side's handle and released by the kernel when that process
         * dies, however it dies (SysV: a semaphore raised with SEM_UNDO;
         * POSIX: an open-file-description lock on the control object).
         * hold_presence() takes side's token for this process (after
         * attach_rest(), or create()), drop_presence() gives it back, and
         * presence() says whether anybody holds side's: 1, 0, or -errno.
         */
        int (*hold_presence)(struct shbuf__map *m, int side);
        void (*drop_presence)(struct shbuf__map *m, int side);
        int (*presence)(struct shbuf__map *m, int side);
        /* Block until nobody holds side's presence: 0, or -errno. Called
         * by a thread of the core's own, which stops it with
         * pthread_cancel(): the call must be a cancellation point. */
        int (*await_absence)(struct shbuf__map *m, int side);

        /*
         * Optional (NULL: the core sleeps on the lock word itself, with
         * os.h's futex): sleep a status-lock waiter while *word == expected,
         * for at most timeout_ms; 0 (maybe spurious), -ETIMEDOUT, -EINTR,
         * -EPIPE if the object was removed. And wake one such sleeper.
         */
        int (*lock_sleep)(struct shbuf__map *m, _Atomic uint32_t *word, uint32_t expected, int timeout_ms);
        void (*lock_wake)(struct shbuf__map *m, _Atomic uint32_t *word);

        /*
         * Deliver one wake-up to side, never blocking: through the side's
         * select source when via_select, else through its channel. The core
         * makes sure at most one is in flight per side (the wait word's
         * PENDING), so a full channel means a hostile neighbour: success.
         */
        int (*send)(struct shbuf__map *m, int side, bool via_select);

        /*
         * Take one wake-up from this side's channel, sleeping for at most
         * timeout_ms (< 0: no limit) and, with SHBUF__CAP_RECV_TIMED, only
         * until watch_fd (if >= 0) turns readable: 1 when a wake-up was
         * taken, 0 when the time ran out or watch_fd fired, -EINTR, -EPIPE
         * when the channel was removed. Without the capability, timeout_ms
         * and watch_fd are ignored and the core sends send_self() instead.
         */
        int (*recv)(struct shbuf__map *m, int side, int timeout_ms, int watch_fd);

        /* Only without SHBUF__CAP_RECV_TIMED: end a recv() of this side now,
         * even if the channel is full of a neighbour's junk. */
        int (*send_self)(struct shbuf__map *m, int side);

        /* Discard this side's pending wake-ups without blocking: how many,
         * or -EPIPE. */
        int (*drain)(struct shbuf__map *m, int side);

        /*
         * Optional (NULL: the core's notifier thread forwards the channel
         * into a pipe): open this side's select source, a descriptor that
         * poll() reports readable while a wake-up sent with via_select is
         * pending, and that drain_select() empties. Closed by
         * close_select(), which also removes whatever it made.
         */
        int (*open_select)(struct shbuf__map *m, int side, int mode);
        int (*drain_select)(struct shbuf__map *m, int side);
        void (*close_select)(struct shbuf__map *m, int side);

        /*
         * Tooling: call fn for every buffer of this backend on the machine,
         * for every half-made one (CREATING, ABANDONED), and for every
         * object under a buffer's name that is not a buffer (SKIPPED). Every
         * object is opened without blocking and without following links.
         */
        int (*list)(int (*fn)(const struct shbuf__found *f, void *userdata), void *userdata);
        /*
         * Remove every object under key that belongs to a buffer of this
         * backend, without attaching as a peer; -ENOENT, -EPROTO for a
         * foreign object (left untouched). An object the control block
         * names that is not the buffer's own (another owner, another key)
         * is left alone. A half-made buffer is removed once its creator is
         * gone, -EBUSY while it is still there. Also removes what
         * open_select() of a crashed side left.
         */
        int (*remove_key)(key_t key);
};

/* The table of backends (backends.c). */

/* The compiled backends: the build's default first (n = 0), then the others
 * in the table's order; NULL past the last. */
const struct shbuf__backend *shbuf__backend_nth(size_t n);

/* Look a backend up by name; NULL if it is unknown or not compiled. */
const struct shbuf__backend *shbuf__backend_find(const char *name);

/* Whether the library knows a backend of that name, compiled or not. */
bool shbuf__backend_known(const char *name);

#endif
