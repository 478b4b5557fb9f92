/*
 * The table of backend descriptions, and what the tests do with all of
 * them at once. See backend-desc.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "backend-desc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "libshbuf/shbuf.h"

/* backend-list.h, made by the build: T_BACKEND(name) for each compiled backend. */
#define T_BACKEND(b) extern const struct t_backend_desc t_backend_##b;
#include "backend-list.h"
#undef T_BACKEND

static const struct t_backend_desc *const table[] = {
#define T_BACKEND(b) &t_backend_##b,
#include "backend-list.h"
#undef T_BACKEND
        NULL,
};

const char *t_backend(void) {
        const char *e = getenv("SHBUF_BACKEND");
        return e && *e ? e : shbuf_default_backend();
}

bool t_have_backend(const char *name) {
        for (const char *const *b = shbuf_backends(); *b; b++)
                if (strcmp(*b, name) == 0)
                        return true;
        return false;
}

const struct t_backend_desc *const *t_descs(void) {
        return table;
}

const struct t_backend_desc *t_desc_of(const char *name) {
        for (const struct t_backend_desc *const *d = table; *d; d++)
                if (strcmp((*d)->name, name) == 0)
                        return *d;
        return NULL;
}

const struct t_backend_desc *t_desc(void) {
        const struct t_backend_desc *d = t_desc_of(t_backend());
        if (!d) {
                fprintf(stderr, "test: no description of the backend '%s' (tests/util/backend-%s.c)\n",
                        t_backend(), t_backend());
                abort();
        }
        return d;
}

/* The mappings of t_map_control(), to unmap them as they were made. */
static struct mapping {
        volatile void *p;
        size_t len;
        const struct t_backend_desc *backend;
} mappings[16];

volatile void *t_map_control_in(const char *backend, key_t key) {
        const struct t_backend_desc *d = t_desc_of(backend);
        size_t len = 0;
        volatile void *p = d ? d->map_control(key, &len) : NULL;
        if (!p)
                return NULL;
        for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
                if (!mappings[i].p) {
                        mappings[i] = (struct mapping){p, len, d};
                        return p;
                }
        }
        d->unmap_control(p, len);
        return NULL;
}

volatile void *t_map_control(key_t key) {
        return t_map_control_in(t_desc()->name, key);
}

void t_unmap_control(volatile void *p) {
        for (size_t i = 0; p && i < sizeof(mappings) / sizeof(mappings[0]); i++) {
                if (mappings[i].p == p) {
                        mappings[i].backend->unmap_control(p, mappings[i].len);
                        mappings[i].p = NULL;
                        return;
                }
        }
}

struct filter {
        const struct t_backend_desc *backend;
        key_t key;
        pid_t creator;
        t_object_fn fn;
        void *arg;
};

static int filtered(const struct t_object *o, void *arg) {
        const struct filter *f = arg;
        /* Under the key, or an IPC_PRIVATE segment of the creator (a SysV data block). */
        bool mine = (f->key != 0 && o->key == f->key) ||
                    (f->creator > 0 && o->key == 0 && o->creator == f->creator);
        if (!mine)
                return 0;
        struct t_object copy = *o;
        copy.backend = f->backend;
        return f->fn(&copy, f->arg);
}

/* Tags the object with its backend and hands it on. */
static int ownedof(const struct t_object *o, void *arg) {
        const struct filter *f = arg;
        struct t_object copy = *o;
        copy.backend = f->backend;
        return f->fn(&copy, f->arg);
}

int t_each_object(key_t key, pid_t creator, t_object_fn fn, void *arg) {
        struct filter f = {.key = key, .creator = creator, .fn = fn, .arg = arg};
        int r = 0;
        for (const struct t_backend_desc *const *d = table; r == 0 && *d; d++) {
                f.backend = *d;
                r = (*d)->each(filtered, &f);
                if (r == 0 && (*d)->probe)
                        r = (*d)->probe(key, filtered, &f);
        }
        return r;
}

struct described {
        int n;
        char *desc;
        size_t len;
};

static int describe(const struct t_object *o, void *arg) {
        struct described *d = arg;
        size_t used = strlen(d->desc);
        d->n++;
        if (used + 1 < d->len)
                snprintf(d->desc + used, d->len - used, "%s %s; ", o->kind, o->name);
        return 0;
}

int t_objects(key_t key, pid_t creator, char *desc, size_t desclen) {
        char none[1];
        struct described d = {.desc = desclen ? desc : none, .len = desclen ? desclen : sizeof(none)};
        d.desc[0] = 0;
        t_each_object(key, creator, describe, &d);
        return d.n;
}

bool t_owned(const struct t_owners *w, const struct t_object *o) {
        for (size_t i = 0; i < w->nkeys; i++)
                if (o->key != 0 && o->key == w->keys[i])
                        return true;
        for (size_t i = 0; i < w->npids; i++) {
                if (o->key == 0 && o->creator != 0 && o->creator == w->pids[i])
                        return true;
                if (!w->private_only && o->key != 0 &&
                    t_key_of(w->pids[i], 0) == (key_t) ((uint32_t) o->key & ~0xffu))
                        return true;
        }
        return false;
}

struct collected {
        unsigned long size;
        struct t_object *out;
        int max, n;
};

static int collect(const struct t_object *o, void *arg) {
        struct collected *c = arg;
        if (o->key == 0 && c->size != 0 && o->size != c->size)
                return 0;
        if (c->n < c->max)
                c->out[c->n] = *o;
        c->n++;
        return 0;
}

int t_collect_objects(key_t key, pid_t creator, unsigned long size, struct t_object *out, int max) {
        struct collected c = {.size = size, .out = out, .max = max};
        t_each_object(key, creator, collect, &c);
        return c.n;
}

struct swept {
        const struct t_owners *w;
        bool remove;
        const char *prefix;
        FILE *out;
        int n;
};

static int sweep_one(const struct t_object *o, void *arg) {
        struct swept *s = arg;
        if (!s->remove) {
                if (s->out)
                        fprintf(s->out, "%s %s\n", o->kind, o->name);
                s->n++;
        } else if (o->backend->remove(o) == 0) {
                fprintf(stderr, "%s: removed leftover %s %s\n", s->prefix, o->kind, o->name);
                s->n++;
        } else if (errno != ENOENT && errno != EINVAL && errno != EIDRM) {
                /* Not gone in the meantime: still there, and still a leftover. */
                fprintf(stderr, "%s: cannot remove leftover %s %s: %s\n", s->prefix, o->kind, o->name,
                        strerror(errno));
                s->n++;
        }
        return 0;
}

static int owned(const struct t_object *o, void *arg) {
        struct swept *s = arg;
        return t_owned(s->w, o) ? sweep_one(o, s) : 0;
}

int t_sweep_owned(const struct t_owners *w, bool remove, const char *prefix, FILE *out) {
        struct swept s = {.w = w, .remove = remove, .prefix = prefix, .out = out};
        for (const struct t_backend_desc *const *d = table; *d; d++) {
                struct filter f = {.backend = *d, .fn = owned, .arg = &s};
                /* Everything that can be listed, in one pass. */
                (*d)->each(ownedof, &f);
                if (!(*d)->probe)
                        continue;
                for (size_t i = 0; i < w->nkeys; i++)
                        (*d)->probe(w->keys[i], ownedof, &f);
                for (size_t i = 0; i < w->npids && !w->private_only; i++)
                        for (unsigned n = 0; n < 256; n++)
                                (*d)->probe(t_key_of(w->pids[i], n), ownedof, &f);
        }
        return s.n;
}
