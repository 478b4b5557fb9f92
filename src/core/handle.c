/*
 * Lifetime of a handle: backend choice, create, open, free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "handle.h"

static atomic_uint_fast64_t next_handle_id = 1;

#define SPIN_MAX_US 100000
#define BUSY_SPIN_DEFAULT_US 20

/* A spin time from the environment, in microseconds, or def. */
static unsigned env_us(const char *name, unsigned def) {
        const char *e = secure_getenv(name);
        char *end;
        if (!e || !*e)
                return def;
        errno = 0;
        unsigned long long v = strtoull(e, &end, 10);
        if (errno || *end || e[0] == '-')
                return def;
        return v > SPIN_MAX_US ? SPIN_MAX_US : (unsigned) v;
}

static uint32_t random32(void) {
        uint32_t x = 0;
        if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
                x = (uint32_t) getpid() * 2654435761u ^ (uint32_t) shbuf__os_now_ms() ^
                    (uint32_t) atomic_load(&next_handle_id) * 40503u;
        return x;
}

static shbuf *handle_new(int side) {
        shbuf *sb = calloc(1, sizeof(*sb));
        if (!sb)
                return NULL;
        sb->side = side;
        sb->pid = (uint32_t) getpid();
        sb->pidns = shbuf__os_pidns();
        sb->id = atomic_fetch_add(&next_handle_id, 1);
        do
                sb->tag = random32() & SHBUF__LOCK_TAG_MASK;
        while (sb->tag == 0);
        sb->peer.pidfd = -1;
        /* Where the other side's global barriers do not reach us, our hot
         * paths must fence themselves (os.h). */
        sb->self_fence = !(shbuf__os_barriers() & SHBUF__OS_BARRIER_GLOBAL);
        for (int d = 0; d < 2; d++)
                shbuf__serial_init(&sb->dir[d].serial);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&sb->cond, &attr);
        pthread_condattr_destroy(&attr);
        pthread_mutex_init(&sb->mutex, NULL);
        pthread_mutex_init(&sb->view_mutex, NULL);
        /* SHBUF_SPIN_US: the opt-in spin, off by default.
         * SHBUF_BUSY_SPIN_US: the spin for a transfer under way (spin.c). */
        (void) shbuf__set_spin(sb, env_us("SHBUF_SPIN_US", 0));
        (void) shbuf__set_busy_spin(sb, env_us("SHBUF_BUSY_SPIN_US", BUSY_SPIN_DEFAULT_US));
        const char *e = secure_getenv("SHBUF_STREAM_STORES");
        sb->stream_stores = !e || strcmp(e, "0") != 0;
        return sb;
}

static void handle_release(shbuf *sb, bool remove) {
        /* The watcher thread uses the mapping: it goes first. */
        shbuf__peer_close(sb);
        /* Out of the trap before the mappings go (memtrap.c). */
        for (int i = 0; i < 2; i++)
                shbuf__memtrap_remove(sb->traps[i]);
        if (sb->backend)
                sb->backend->detach(&sb->map, remove);
        for (int d = 0; d < 2; d++)
                shbuf__serial_destroy(&sb->dir[d].serial);
        pthread_cond_destroy(&sb->cond);
        pthread_mutex_destroy(&sb->mutex);
        pthread_mutex_destroy(&sb->view_mutex);
        free(sb);
}

/* The mapping is the handle's: take over what the backend mapped. */
static void adopt_map(shbuf *sb) {
        sb->key = sb->map.key;
        sb->control = sb->map.control;
        sb->data = sb->map.data;
}

/*
 * Put a mapping another process could shrink under the SIGBUS trap
 * (memtrap.c), unless the program said it handles SIGBUS itself: a
 * truncated POSIX object then leaves zeros behind and makes calls fail,
 * instead of killing the process. which: 0 the control, 1 the data.
 */
static int guard(shbuf *sb, bool trap, int which, void *start, uint64_t len) {
        if (!trap || !(sb->backend->caps & SHBUF__CAP_SHRINKS))
                return 0;
        return shbuf__memtrap_add(start, len, &sb->trapped, &sb->traps[which]);
}

/*
 * A backend name chosen by the caller or the environment. Unknown names are
 * EINVAL; known ones this build lacks are ENOTSUP.
 */
static int backend_by_name(const char *name, const struct shbuf__backend **ret) {
        const struct shbuf__backend *b = shbuf__backend_find(name);
        if (b) {
                *ret = b;
                return 0;
        }
        return shbuf__backend_known(name) ? -ENOTSUP : -EINVAL;
}

static const char *env_backend(void) {
        const char *e = secure_getenv("SHBUF_BACKEND");
        return e && *e ? e : NULL;
}

/* Is something of this backend under key? Used to keep keys unique across
 * backends, so that opening by key is never ambiguous. */
static bool key_taken(const struct shbuf__backend *b, key_t key) {
        struct shbuf__map probe = {0};
        int r = b->attach_control(&probe, key);
        if (r == 0)
                b->detach(&probe, false);
        /* Something is there: ours, foreign, or somebody else's. Any other
         * failure (ENOSYS, EPERM from a sandbox) means nothing can be there. */
        return r == 0 || r == -EPROTO || r == -EACCES || r == -EEXIST;
}

/* A key no compiled backend uses right now. */
static key_t random_key(void) {
        /* Positive and never IPC_PRIVATE. */
        return (key_t) (random32() % (uint32_t) INT32_MAX) + 1;
}

static bool key_free(key_t key) {
        const struct shbuf__backend *b;
        for (size_t i = 0; (b = shbuf__backend_nth(i)); i++)
                if (key_taken(b, key))
                        return false;
        return true;
}

/* Take this handle's side, once its presence token is held: pid, pid
 * namespace, attached. */
static void take_side(shbuf *sb) {
        struct shbuf__side_block *me = shbuf__self(sb);
        atomic_store(&me->pid, sb->pid);
        atomic_store(&me->pidns, sb->pidns);
        atomic_store(&me->fences, sb->self_fence);
        atomic_store(&me->wait, 0);
        atomic_store(&me->state, SHBUF__SIDE_ATTACHED);
}

static int create_on(const struct shbuf__backend *b, shbuf **ret, key_t key, uint64_t size, int mode,
                     bool trap) {
        shbuf *sb = handle_new(SHBUF__PROVIDER);
        int r = -EEXIST;

        if (!sb)
                return -ENOMEM;
        sb->size = sb->map.data_size = size;
        /* An explicit key is tried once; key 0 means "pick one", and a race
         * with another creator just makes us pick again. */
        for (int attempt = 0; attempt < (key == 0 ? 64 : 1) && r == -EEXIST; attempt++) {
                key_t k = key == 0 ? random_key() : key;
                r = key_free(k) ? b->create(&sb->map, k, mode) : -EEXIST;
        }
        if (r < 0) {
                handle_release(sb, false);
                return r;
        }
        sb->backend = b;
        adopt_map(sb);
        if ((r = guard(sb, trap, 0, sb->map.control, sb->map.control_size)) < 0 ||
            (r = guard(sb, trap, 1, sb->map.data, sb->map.data_size)) < 0 ||
            (r = b->hold_presence(&sb->map, SHBUF__PROVIDER)) < 0) {
                handle_release(sb, true);
                return r;
        }
        /* The objects are new and zero-filled: an empty ring. */
        atomic_store(&shbuf__self(sb)->tag, sb->tag);
        take_side(sb);
        shbuf__control_init(sb->control, b->id, (int32_t) sb->key, size);
        *ret = sb;
        return 0;
}

/* Errors that say "this kind of IPC is not usable here", as opposed to
 * "this request is wrong": only these make an unnamed create fall back. */
static bool backend_unusable(int r) {
        return r == -ENOSYS || r == -ENOSPC || r == -EPERM || r == -EINVAL;
}

int shbuf__create_on(const struct shbuf__backend *b, shbuf **ret, key_t key, uint64_t size, int mode) {
        if (size == 0)
                return -EINVAL;
        if (size > (uint64_t) SIZE_MAX / 2 || size > (uint64_t) LONG_MAX || size > SHBUF__SIZE_MAX)
                return -EFBIG;
        return create_on(b, ret, key, size, mode, true);
}

int shbuf__create(shbuf **ret, key_t key, uint64_t size, const shbuf_options *opts) {
        const char *name = opts && opts->backend ? opts->backend : env_backend();
        int mode = opts && opts->mode ? opts->mode & 0777 : 0600;
        bool trap = !(opts && opts->flags & SHBUF_NO_SIGBUS_TRAP);
        const struct shbuf__backend *b;
        int r;

        if (size == 0 || (opts && opts->flags & ~SHBUF_NO_SIGBUS_TRAP))
                return -EINVAL;
        if (size > (uint64_t) SIZE_MAX / 2 || size > (uint64_t) LONG_MAX || size > SHBUF__SIZE_MAX)
                return -EFBIG;

        if (name) {
                r = backend_by_name(name, &b);
                if (r < 0)
                        return r;
                return create_on(b, ret, key, size, mode, trap);
        }

        r = create_on(shbuf__backend_nth(0), ret, key, size, mode, trap);
        if (r >= 0 || !backend_unusable(r))
                return r;
        int first_error = -r;
        for (size_t i = 1; (b = shbuf__backend_nth(i)); i++) {
                int r2 = create_on(b, ret, key, size, mode, trap);
                if (r2 >= 0) {
                        (*ret)->fallback_errno = first_error;
                        return r2;
                }
        }
        return r;
}

/*
 * Take the client slot. The client's presence token is the arbiter: taking
 * it is one atomic step in the kernel that fails while anybody holds it (a
 * live client, in whatever pid namespace), so of two clients racing for the
 * slot the loser gets EBUSY. What the block says about the slot is a peer's
 * to scribble and decides nothing.
 */
static int claim_client(shbuf *sb) {
        int r = sb->backend->hold_presence(&sb->map, SHBUF__CLIENT);
        if (r < 0)
                return r;
        atomic_store(&shbuf__self(sb)->tag, sb->tag);
        take_side(sb);
        return 0;
}

static int open_on(const struct shbuf__backend *b, shbuf **ret, key_t key, bool trap) {
        shbuf *sb = handle_new(SHBUF__CLIENT);
        int r;

        if (!sb)
                return -ENOMEM;
        sb->backend = b;
        r = b->attach_control(&sb->map, key);
        if (r < 0)
                goto fail;
        /* Validating reads the block: it may already be shrinking. */
        r = guard(sb, trap, 0, sb->map.control, sb->map.control_size);
        if (r < 0)
                goto fail;
        r = shbuf__control_validate(sb->map.control, sb->map.control_size, b->id);
        if (r < 0)
                goto fail;
        if (sb->map.control->header.key != (int32_t) key) {
                r = -EPROTO;
                goto fail;
        }
        sb->size = sb->map.data_size = sb->map.control->header.data_size;
        r = b->attach_rest(&sb->map);
        if (r < 0)
                goto fail;
        r = guard(sb, trap, 1, sb->map.data, sb->map.data_size);
        if (r < 0)
                goto fail;
        adopt_map(sb);
        /* What we validated may have been zeros the trap left: then this
         * is no buffer to claim a side of. */
        if (shbuf__trapped(sb)) {
                r = -EPROTO;
                goto fail;
        }
        r = claim_client(sb);
        if (r < 0)
                goto fail;
        /* A dead predecessor may have left a wake-up of the provider's
         * pending that nobody takes any more. */
        atomic_fetch_and(&shbuf__other(sb)->wait, ~SHBUF__WAIT_PENDING);
        /* Tell a provider that may be sleeping that somebody is here. */
        (void) shbuf__notify(sb);
        *ret = sb;
        return 0;
fail:
        handle_release(sb, false);
        return r;
}

int shbuf__open_on(const struct shbuf__backend *b, shbuf **ret, key_t key) {
        return open_on(b, ret, key, true);
}

int shbuf__open(shbuf **ret, key_t key, const shbuf_options *opts) {
        const struct shbuf__backend *b;
        bool trap = !(opts && opts->flags & SHBUF_NO_SIGBUS_TRAP);
        int r = -ENOENT;

        if (opts && opts->flags & ~SHBUF_NO_SIGBUS_TRAP)
                return -EINVAL;
        if (opts && opts->backend) {
                r = backend_by_name(opts->backend, &b);
                if (r < 0)
                        return r;
                return open_on(b, ret, key, trap);
        }
        /* Whichever backend made it: the first that has something there
         * answers, be it a buffer or an error about what is there. */
        for (size_t i = 0; (b = shbuf__backend_nth(i)); i++) {
                r = open_on(b, ret, key, trap);
                if (r != -ENOENT)
                        return r;
        }
        return r;
}

void shbuf__free(shbuf *sb) {
        /* A forked child holding a copy of the handle has none of its
         * threads and must not end the parent's connection: it only unmaps. */
        bool own = sb->pid == (uint32_t) getpid();

        /* The threads of the handle do not exist in a child: forget them. */
        if (!own)
                sb->peer.watcher = NULL;
        if (own) {
                (void) shbuf__notify_enable(sb, false);
                shbuf__alarm_stop(sb);
                /* Leave, and wake the peer so that it hears of it now. */
                atomic_store(&shbuf__self(sb)->state, SHBUF__SIDE_DETACHED);
                if (!atomic_load(&sb->peer.removed))
                        (void) shbuf__notify(sb);
                sb->backend->drop_presence(&sb->map, sb->side);
        }
        handle_release(sb, own && sb->side == SHBUF__PROVIDER);
}

int shbuf__access(shbuf *sb, int mode) {
        return sb->backend->set_mode(&sb->map, mode & 0777);
}

int shbuf__set_spin(shbuf *sb, unsigned usec) {
        if (usec > SPIN_MAX_US)
                return -EINVAL;
        atomic_store(&sb->spin_us, usec);
        return 0;
}

int shbuf__set_busy_spin(shbuf *sb, unsigned usec) {
        if (usec > SPIN_MAX_US)
                return -EINVAL;
        atomic_store(&sb->busy_spin_us, usec);
        return 0;
}
