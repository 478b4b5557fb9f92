/*
 * What the tests know about each backend, in one place: the OS objects of a
 * key (their names or ids, whether they exist, their permission modes),
 * how to map a buffer's control block without the library (so that a test
 * can scribble on it), how to reach its wake-up channels, and how to remove
 * whatever is left under a key.
 *
 * One description per backend (backend-<name>.c); the build compiles the
 * descriptions of the backends it compiles and lists them in
 * backend-list.h, from which t_descs() is made. Tests ask for the
 * description of the backend under test (t_desc()) and stay neutral.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_BACKEND_H
#define SHBUF_TEST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* What an object is to the buffer. */
enum t_role {
        T_CONTROL, /* the control block */
        T_DATA,    /* the ring */
        T_LOCK,    /* a lock object of its own (SysV semaphore set) */
        T_WAKE,    /* a wake-up channel (side: 0 towards the provider, 1 the client; -1 both) */
        T_OTHER,   /* named like the buffer's objects, but none of them (planted) */
};

struct t_backend_desc;

/* One OS object, as the OS shows it. */
struct t_object {
        const char *kind; /* "shm", "sem", "msg", "file", "queue" */
        enum t_role role;
        int side;           /* for T_WAKE */
        key_t key;          /* the buffer's key (0: an IPC_PRIVATE SysV segment) */
        long id;            /* SysV id, or -1 */
        char name[300];     /* path, name or "key id", for messages (after kind) and removal */
        unsigned mode;      /* permission bits */
        unsigned long size; /* bytes (segments, files), or 0 */
        pid_t creator;      /* SysV segments: the creating pid, else 0 */
        const struct t_backend_desc *backend; /* set by t_each_object() */
};

/* Called for each object found; a nonzero return stops the walk. */
typedef int (*t_object_fn)(const struct t_object *o, void *arg);

struct t_backend_desc {
        const char *name; /* as shbuf_backends() names it */

        /* How many objects a whole buffer has. */
        int nobjects;

        /*
         * Every object the backend would own, of any key, that the OS lets
         * one list (SysV: /proc/sysvipc; POSIX: /dev/shm and, when mounted,
         * /dev/mqueue). Returns fn's nonzero value or 0.
         */
        int (*each)(t_object_fn fn, void *arg);

        /*
         * The objects of the buffer under key that cannot be listed, only
         * looked up by name (POSIX queues where /dev/mqueue is not
         * mounted); NULL when every object can be listed.
         */
        int (*probe)(key_t key, t_object_fn fn, void *arg);

        /* Remove one object found by each() or probe(); 0 or -1 + errno. */
        int (*remove)(const struct t_object *o);

        /*
         * The control block of the buffer under key, mapped read-write
         * without the library (as a hostile or curious peer would), or NULL;
         * *len gets the length to pass to unmap_control.
         */
        volatile void *(*map_control)(key_t key, size_t *len);
        void (*unmap_control)(volatile void *p, size_t len);

        /*
         * Wake-ups queued in the channel of key towards side (0 provider,
         * 1 client), as the kernel counts them, or -1; and fill that
         * channel with messages nobody takes (how many, or -1).
         */
        long (*wakeups_queued)(key_t key, int side);
        int (*fill_wakeups)(key_t key, int side);

        /*
         * Backends whose objects are files with names: the name of the
         * object of key in role (side for T_WAKE), for shm_open/mq_open, in
         * buf; NULL for backends without names (SysV) or roles they lack.
         */
        const char *(*object_name)(key_t key, enum t_role role, int side, char *buf, size_t len);

        /* Where the named shared memory objects are files (their path is
         * this followed by the name), or NULL. */
        const char *files;
};

/* The backend under test: SHBUF_BACKEND, or the build default. */
const char *t_backend(void);

/* Whether a backend is compiled in. */
bool t_have_backend(const char *name);

/* The descriptions of the compiled backends, NULL-terminated. */
const struct t_backend_desc *const *t_descs(void);

/* The description of a compiled backend, or NULL. */
const struct t_backend_desc *t_desc_of(const char *name);

/* The description of the backend under test (t_backend()); aborts if it has none. */
const struct t_backend_desc *t_desc(void);

/*
 * The control block of the buffer under key, mapped read-write by the
 * description of the backend under test (t_map_control) or of the named
 * one, or NULL; t_unmap_control() unmaps either (a few at a time).
 */
volatile void *t_map_control(key_t key);
volatile void *t_map_control_in(const char *backend, key_t key);
void t_unmap_control(volatile void *p);

/*
 * The objects of the buffer under key in every compiled backend, and the
 * IPC_PRIVATE segments creator made (0: do not look), walked with fn.
 * t_objects() counts them and describes them in desc ("" when none).
 */
int t_each_object(key_t key, pid_t creator, t_object_fn fn, void *arg);
int t_objects(key_t key, pid_t creator, char *desc, size_t desclen);

/* The same objects into out[max] (IPC_PRIVATE segments only of the given
 * size, when size is not 0); returns how many there are. */
int t_collect_objects(key_t key, pid_t creator, unsigned long size, struct t_object *out, int max);

/*
 * What belongs to a set of test processes and keys: objects under one of
 * keys, in the key range of one of pids (see t_key_of()), or IPC_PRIVATE
 * segments one of pids created. The pids must have exited (a live pid may
 * be somebody else's now).
 */
struct t_owners {
        const key_t *keys;
        size_t nkeys;
        const pid_t *pids;
        size_t npids;
        bool private_only; /* of pids, only the IPC_PRIVATE segments, not the key ranges */
};

/* Whether o belongs to w. */
bool t_owned(const struct t_owners *w, const struct t_object *o);

/*
 * Walk every object of every compiled backend that belongs to w (looking
 * up by name, where a backend cannot list, the keys of w and of the
 * ranges of its pids). With remove, remove each and print a line with
 * prefix to stderr; otherwise print "kind name" lines to out (if not
 * NULL). Returns how many objects there were (with remove: that were still
 * there when their turn came).
 */
int t_sweep_owned(const struct t_owners *w, bool remove, const char *prefix, FILE *out);

#endif
