/*
 * Looking at buffers from outside: listing, inspecting, removing, and the
 * stale-buffer sweep behind `shbuf gc` (PulseAudio's pa_shm_cleanup() idea:
 * a buffer whose owners are all dead is garbage).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handle.h"

/*
 * Whether a side is alive: its presence token is held. That is the kernel's
 * word, good across pid namespaces and out of a peer's reach; the pids and
 * states in the control block are for show, since anybody who maps the
 * block can write them.
 */
static bool side_alive(const struct shbuf__backend *b, struct shbuf__map *m, int side) {
        return b->presence(m, side) > 0;
}

/* Fill info from a mapped, validated control block. */
static void describe(const struct shbuf__backend *b, struct shbuf__map *m, shbuf_info *ret) {
        const struct shbuf__control *c = m->control;
        const struct shbuf__side_block *p = &c->side[SHBUF__PROVIDER], *cl = &c->side[SHBUF__CLIENT];
        struct shbuf__positions pos;
        struct shbuf__ring ring;

        memset(ret, 0, sizeof(*ret));
        ret->attachments = -1; /* filled in from the backend's listing */
        strncpy(ret->backend, b->name, sizeof(ret->backend) - 1);
        ret->key = c->header.key;
        ret->size = (unsigned long) c->header.data_size;
        shbuf__load_positions(c, &pos);
        ret->status_valid = shbuf__ring_from_positions(&ring, &pos, c->header.data_size) == 0;
        if (ret->status_valid)
                shbuf__ring_store(&ring, &ret->status);
        if (atomic_load(&p->state) == SHBUF__SIDE_ATTACHED)
                ret->provider_pid = atomic_load(&p->pid);
        ret->provider_alive = side_alive(b, m, SHBUF__PROVIDER);
        ret->client_pid = atomic_load(&cl->pid);
        ret->client_attached = atomic_load(&cl->state) == SHBUF__SIDE_ATTACHED;
        ret->client_alive = side_alive(b, m, SHBUF__CLIENT);
        ret->lock_recoveries = atomic_load(&c->lock.recoveries);
}

/*
 * A probe's control mapping under the SIGBUS trap while we read it
 * (memtrap.c): whoever owns a POSIX buffer can truncate its control object
 * under any reader, a tool that lists every buffer of the machine too. What
 * a trapped probe read was zeros: *trapped says so.
 */
static int guard_probe(const struct shbuf__backend *b, struct shbuf__map *m, atomic_bool *trapped,
                       struct shbuf__memtrap **ret) {
        *ret = NULL;
        if (!(b->caps & SHBUF__CAP_SHRINKS))
                return 0;
        return shbuf__memtrap_add(m->control, m->control_size, trapped, ret);
}

static int inspect_on(const struct shbuf__backend *b, key_t key, shbuf_info *ret) {
        struct shbuf__map probe = {0};
        struct shbuf__memtrap *trap;
        atomic_bool trapped = false;
        int r = b->attach_control(&probe, key);
        if (r < 0)
                return r;
        r = guard_probe(b, &probe, &trapped, &trap);
        if (r == 0)
                r = shbuf__control_validate(probe.control, probe.control_size, b->id);
        if (r == 0 && probe.control->header.key != (int32_t) key)
                r = -EPROTO;
        if (r == 0)
                describe(b, &probe, ret);
        if (atomic_load(&trapped))
                r = -EPROTO;
        shbuf__memtrap_remove(trap);
        b->detach(&probe, false);
        return r;
}

struct owner_query {
        key_t key;
        shbuf_info *info;
};

static int fill_owner(const struct shbuf__found *f, void *userdata) {
        struct owner_query *q = userdata;
        if (f->key != q->key)
                return 0;
        q->info->uid = f->uid;
        q->info->mode = (unsigned) f->mode;
        q->info->attachments = f->attached;
        return 1;
}

int shbuf__inspect(key_t key, const char *backend, shbuf_info *ret) {
        int r = -ENOENT;
        for (size_t i = 0; shbuf__backends[i]; i++) {
                const struct shbuf__backend *b = shbuf__backends[i];
                if (backend && strcmp(backend, b->name) != 0)
                        continue;
                r = inspect_on(b, key, ret);
                if (r == -ENOENT)
                        continue;
                if (r == 0) {
                        struct owner_query q = {.key = key, .info = ret};
                        (void) b->list(fill_owner, &q);
                }
                return r;
        }
        if (backend && !shbuf__backend_find(backend))
                return -EINVAL;
        return r;
}

struct collect {
        const struct shbuf__backend *b;
        shbuf_info *items;
        size_t n, cap;
};

static int collect_one(const struct shbuf__found *f, void *userdata) {
        struct collect *c = userdata;
        shbuf_info info;
        if (inspect_on(c->b, f->key, &info) < 0)
                return 0; /* vanished or not ours: skip */
        info.uid = f->uid;
        info.mode = (unsigned) f->mode;
        info.attachments = f->attached;
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 16;
                shbuf_info *p = realloc(c->items, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                c->items = p;
                c->cap = cap;
        }
        c->items[c->n++] = info;
        return 0;
}

int shbuf__list(shbuf_info **ret, size_t *count) {
        struct collect c = {0};
        for (size_t i = 0; shbuf__backends[i]; i++) {
                c.b = shbuf__backends[i];
                int r = c.b->list(collect_one, &c);
                if (r < 0 && r != -ENOENT) {
                        free(c.items);
                        return r;
                }
        }
        *ret = c.items;
        *count = c.n;
        return 0;
}

/*
 * Before the objects go, tell both sides: mark them detached and wake them,
 * so that a peer blocked in a wait returns EPIPE now instead of sleeping on
 * a channel that no longer has anybody at the other end.
 */
static bool evict_peers(const struct shbuf__backend *b, key_t key) {
        struct shbuf__map probe = {0};
        struct shbuf__memtrap *trap;
        atomic_bool trapped = false;
        bool found = false;
        if (b->attach_control(&probe, key) < 0)
                return false;
        if (guard_probe(b, &probe, &trapped, &trap) == 0 &&
            shbuf__control_validate(probe.control, probe.control_size, b->id) == 0 &&
            probe.control->header.key == (int32_t) key) {
                probe.data_size = probe.control->header.data_size;
                found = b->attach_rest(&probe) == 0;
                if (found)
                        for (int side = 0; side < 2; side++) {
                                struct shbuf__side_block *s = &probe.control->side[side];
                                atomic_store(&s->state, SHBUF__SIDE_DETACHED);
                                atomic_fetch_add(&s->events, 1);
                                shbuf__wake_side(b, &probe, side);
                        }
        }
        shbuf__memtrap_remove(trap);
        b->detach(&probe, false);
        return found && !atomic_load(&trapped);
}

int shbuf__remove(key_t key, const char *backend) {
        int r = -ENOENT;
        if (backend && !shbuf__backend_find(backend))
                return -EINVAL;
        for (size_t i = 0; shbuf__backends[i]; i++) {
                const struct shbuf__backend *b = shbuf__backends[i];
                if (backend && strcmp(backend, b->name) != 0)
                        continue;
                bool found = evict_peers(b, key);
                r = b->remove_key(key);
                /* A provider woken by the eviction frees its handle, and so
                 * removes the buffer itself, maybe before we get to it. */
                if (found && (r == -ENOENT || r == -EIDRM || r == -EINVAL))
                        r = 0;
                if (r != -ENOENT)
                        return r;
        }
        return r;
}

/*
 * Garbage: both presence tokens released, so both processes are gone (or
 * have let go). Where the kernel also counts the processes that map the
 * block (SysV), a buffer somebody still maps is never garbage either.
 */
static bool stale(const shbuf_info *i) {
        return !i->provider_alive && !i->client_alive && i->attachments <= 0;
}

int shbuf__gc(bool dry_run, shbuf_info **ret, size_t *count) {
        shbuf_info *all;
        size_t n, kept = 0;
        int r = shbuf__list(&all, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!stale(&all[i]))
                        continue;
                /* Look again right before removing: a buffer being created
                 * has no live provider for a moment only if its creator
                 * died, so a fresh look is enough to be safe. */
                shbuf_info again;
                if (inspect_on(shbuf__backend_find(all[i].backend), all[i].key, &again) < 0 ||
                    !stale(&again))
                        continue;
                if (!dry_run && shbuf__remove(all[i].key, all[i].backend) < 0)
                        continue;
                all[kept++] = all[i];
        }
        if (ret)
                *ret = kept ? all : (free(all), NULL);
        else
                free(all);
        if (count)
                *count = kept;
        return 0;
}
