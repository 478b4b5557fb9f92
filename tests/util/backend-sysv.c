/*
 * The SysV backend as the tests see it: a control segment, a semaphore set
 * and a message queue under the key, and an IPC_PRIVATE data segment that
 * the creator made.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "backend-desc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

/* The lines of /proc/sysvipc/<kind>: key id perms, then for shm size cpid. */
static int each_of(const char *kind, t_object_fn fn, void *arg) {
        char path[64], line[512];
        int r = 0;
        snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind);
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        if (!fgets(line, sizeof(line), f)) {
                fclose(f);
                return 0;
        }
        while (r == 0 && fgets(line, sizeof(line), f)) {
                long long k, id, a, b;
                unsigned long long perms;
                if (sscanf(line, "%lld %lld %llo %lld %lld", &k, &id, &perms, &a, &b) != 5)
                        continue;
                struct t_object o = {.kind = kind,
                                     .key = (key_t) k,
                                     .id = (long) id,
                                     .mode = (unsigned) perms & 0777,
                                     .side = -1};
                if (strcmp(kind, "shm") == 0) {
                        o.role = k == 0 ? T_DATA : T_CONTROL;
                        o.size = (unsigned long) a;
                        o.creator = (pid_t) b;
                } else {
                        o.role = strcmp(kind, "sem") == 0 ? T_LOCK : T_WAKE;
                }
                snprintf(o.name, sizeof(o.name), "0x%08x id %lld", (unsigned) k, id);
                r = fn(&o, arg);
        }
        fclose(f);
        return r;
}

static int sysv_each(t_object_fn fn, void *arg) {
        int r = each_of("shm", fn, arg);
        if (r == 0)
                r = each_of("sem", fn, arg);
        if (r == 0)
                r = each_of("msg", fn, arg);
        return r;
}

static int sysv_remove(const struct t_object *o) {
        int id = (int) o->id;
        if (strcmp(o->kind, "shm") == 0)
                return shmctl(id, IPC_RMID, NULL);
        if (strcmp(o->kind, "sem") == 0)
                return semctl(id, 0, IPC_RMID);
        if (strcmp(o->kind, "msg") == 0)
                return msgctl(id, IPC_RMID, NULL);
        errno = EINVAL;
        return -1;
}

static volatile void *sysv_map_control(key_t key, size_t *len) {
        struct shmid_ds ds;
        int id = shmget(key, 0, 0);
        if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0)
                return NULL;
        void *p = shmat(id, NULL, 0);
        if (p == (void *) -1)
                return NULL;
        *len = ds.shm_segsz;
        return p;
}

static void sysv_unmap_control(volatile void *p, size_t len) {
        (void) len;
        if (p)
                shmdt((const void *) p);
}

/* One queue for both sides: the total. */
static long sysv_wakeups_queued(key_t key, int side) {
        struct msqid_ds ds;
        int id = msgget(key, 0);
        (void) side;
        return id >= 0 && msgctl(id, IPC_STAT, &ds) == 0 ? (long) ds.msg_qnum : -1;
}

static int sysv_fill_wakeups(key_t key, int side) {
        struct {
                long mtype;
                char mtext[64];
        } junk = {.mtype = 99};
        int id = msgget(key, 0), n = 0;
        (void) side;
        if (id < 0)
                return -1;
        while (msgsnd(id, &junk, sizeof(junk.mtext), IPC_NOWAIT) == 0)
                n++;
        return errno == EAGAIN ? n : -1;
}

const struct t_backend_desc t_backend_sysv = {
        .name = "sysv",
        .nobjects = 4,
        .each = sysv_each,
        .probe = NULL,
        .remove = sysv_remove,
        .map_control = sysv_map_control,
        .unmap_control = sysv_unmap_control,
        .wakeups_queued = sysv_wakeups_queued,
        .fill_wakeups = sysv_fill_wakeups,
        .object_name = NULL,
        .files = NULL,
};
