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
        if (f->key != q->key || f->kind != SHBUF__FOUND_BUFFER)
                return 0;
        q->info->uid = f->uid;
        q->info->mode = (unsigned) f->mode;
        q->info->attachments = f->attached;
        return 1;
}

int shbuf__inspect(key_t key, const char *backend, shbuf_info *ret) {
        int r = -ENOENT;
        const struct shbuf__backend *b;
        for (size_t i = 0; (b = shbuf__backend_nth(i)); i++) {
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

/*
 * What a listing collects: items of size bytes each, which add() fills in
 * from what the listing backend, b, found (0: keep it, 1: not wanted,
 * -errno).
 */
struct collect {
        const struct shbuf__backend *b;
        void *items;
        size_t n, cap, size;
        int (*add)(const struct collect *c, const struct shbuf__found *f, void *ret);
};

/* Room for one more item. */
static int grow(struct collect *c) {
        if (c->n < c->cap)
                return 0;
        size_t cap = c->cap ? c->cap * 2 : 16;
        void *p = realloc(c->items, cap * c->size);
        if (!p)
                return -ENOMEM;
        c->items = p;
        c->cap = cap;
        return 0;
}

static int collect_found(const struct shbuf__found *f, void *userdata) {
        struct collect *c = userdata;
        if (grow(c) < 0)
                return -ENOMEM;
        int r = c->add(c, f, (char *) c->items + c->n * c->size);
        if (r == 0)
                c->n++;
        return r < 0 ? r : 0;
}

/* Collect what every backend's listing finds, as add() makes it. */
static int collect_all(size_t size,
                       int (*add)(const struct collect *c, const struct shbuf__found *f, void *ret),
                       void **ret, size_t *count) {
        struct collect c = {.size = size, .add = add};
        for (size_t i = 0; (c.b = shbuf__backend_nth(i)); i++) {
                int r = c.b->list(collect_found, &c);
                if (r < 0 && r != -ENOENT) {
                        free(c.items);
                        return r;
                }
        }
        *ret = c.items;
        *count = c.n;
        return 0;
}

static int add_buffer(const struct collect *c, const struct shbuf__found *f, void *ret) {
        shbuf_info *info = ret;
        if (f->kind != SHBUF__FOUND_BUFFER)
                return 1; /* shbuf__list_other() reports those */
        if (inspect_on(c->b, f->key, info) < 0)
                return 1; /* vanished or not ours: skip */
        info->uid = f->uid;
        info->mode = (unsigned) f->mode;
        info->attachments = f->attached;
        return 0;
}

static int add_other(const struct collect *c, const struct shbuf__found *f, void *ret) {
        shbuf_other *o = ret;
        if (f->kind == SHBUF__FOUND_BUFFER)
                return 1;
        memset(o, 0, sizeof(*o));
        strncpy(o->backend, c->b->name, sizeof(o->backend) - 1);
        o->key = f->key;
        o->state = f->kind == SHBUF__FOUND_CREATING    ? SHBUF_OTHER_CREATING
                   : f->kind == SHBUF__FOUND_ABANDONED ? SHBUF_OTHER_HALF_CREATED
                                                       : SHBUF_OTHER_SKIPPED;
        memcpy(o->object, f->object, sizeof(o->object));
        o->object[sizeof(o->object) - 1] = '\0';
        o->reason = o->state == SHBUF_OTHER_SKIPPED ? f->reason : NULL;
        o->size = (unsigned long) f->size;
        o->creator_pid = f->creator;
        o->uid = f->uid;
        o->mode = (unsigned) f->mode;
        return 0;
}

int shbuf__list(shbuf_info **ret, size_t *count) {
        void *items = NULL;
        int r = collect_all(sizeof(shbuf_info), add_buffer, &items, count);
        *ret = items;
        return r;
}

int shbuf__list_other(shbuf_other **ret, size_t *count) {
        void *items = NULL;
        int r = collect_all(sizeof(shbuf_other), add_other, &items, count);
        *ret = items;
        return r;
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
        const struct shbuf__backend *b;
        for (size_t i = 0; (b = shbuf__backend_nth(i)); i++) {
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

/*
 * Remove (or, in a dry run, only describe) the half-made buffers whose
 * creator is gone. The backend told so from what the kernel keeps (a lock
 * or an attachment the creator held, not its pid), and checks again when it
 * removes one: a creator that is still there makes it refuse (EBUSY).
 * Each one removed is described as gc reports it: the creator as the
 * provider, no status.
 */
static int gc_half_made(bool dry_run, const shbuf_other *others, size_t n, shbuf_info **ret, size_t *count) {
        struct collect c = {.size = sizeof(shbuf_info)};
        for (size_t i = 0; i < n; i++) {
                const shbuf_other *o = &others[i];
                const struct shbuf__backend *b = shbuf__backend_find(o->backend);
                if (o->state != SHBUF_OTHER_HALF_CREATED || !b)
                        continue;
                if (!dry_run && b->remove_key(o->key) < 0)
                        continue;
                if (grow(&c) < 0) {
                        free(c.items);
                        return -ENOMEM;
                }
                shbuf_info *info = (shbuf_info *) c.items + c.n++;
                memset(info, 0, sizeof(*info));
                memcpy(info->backend, o->backend, sizeof(info->backend));
                info->key = o->key;
                info->size = o->size;
                info->provider_pid = o->creator_pid;
                info->uid = o->uid;
                info->mode = o->mode;
        }
        *ret = c.items;
        *count = c.n;
        return 0;
}

int shbuf__gc(bool dry_run, shbuf_info **ret, size_t *count) {
        shbuf_info *all;
        size_t n, kept = 0;
        int r = shbuf__list(&all, &n);
        if (r < 0)
                return r;
        /* Half-made buffers are not among the whole ones: they are listed
         * apart, and removed by their own rule below. */
        shbuf_other *others = NULL;
        size_t nothers = 0;
        r = shbuf__list_other(&others, &nothers);
        if (r < 0) {
                free(all);
                return r;
        }
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
        shbuf_info *half = NULL;
        size_t nhalf = 0;
        r = gc_half_made(dry_run, others, nothers, &half, &nhalf);
        free(others);
        if (r == 0 && nhalf > 0) {
                shbuf_info *p = realloc(all, (kept + nhalf) * sizeof(*p));
                if (p) {
                        memcpy(p + kept, half, nhalf * sizeof(*p));
                        all = p;
                        kept += nhalf;
                } else {
                        r = -ENOMEM;
                }
        }
        free(half);
        if (r < 0) {
                free(all);
                return r;
        }
        if (ret)
                *ret = kept ? all : (free(all), NULL);
        else
                free(all);
        if (count)
                *count = kept;
        return 0;
}
