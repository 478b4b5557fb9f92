/*
 * The POSIX backend as the tests see it: shm_open objects
 * "/shbuf-KKKKKKKK-ctl" and "-data" (files in /dev/shm) and mq_open queues
 * "/shbuf-KKKKKKKK-p" (towards the provider) and "-c" (the client), with the
 * key in 8 hex digits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "backend-desc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where Linux shows shm_open objects. */
#define SHM_DIR "/dev/shm"

static const char *const suffix[] = {[T_CONTROL] = "ctl", [T_DATA] = "data"};
static const char *const queue_suffix[] = {"p", "c"};

static const char *posix_object_name(key_t key, enum t_role role, int side, char *buf, size_t len) {
        const char *s = role == T_WAKE && (side == 0 || side == 1) ? queue_suffix[side]
                        : role == T_CONTROL || role == T_DATA      ? suffix[role]
                                                                   : NULL;
        if (!s)
                return NULL;
        snprintf(buf, len, "/shbuf-%08x-%s", (unsigned) key, s);
        return buf;
}

/* "shbuf-KKKKKKKK-<suffix>": the key, and what the suffix makes it. */
static bool parse(const char *name, bool queue, struct t_object *o) {
        char *end;
        if (strncmp(name, "shbuf-", 6) != 0)
                return false;
        unsigned long k = strtoul(name + 6, &end, 16);
        if (end != name + 14 || *end != '-')
                return false;
        o->key = (key_t) (uint32_t) k;
        o->role = T_OTHER;
        o->side = -1;
        const char *s = end + 1;
        if (queue && (strcmp(s, "p") == 0 || strcmp(s, "c") == 0)) {
                o->role = T_WAKE;
                o->side = s[0] == 'c';
        } else if (!queue && strcmp(s, "ctl") == 0) {
                o->role = T_CONTROL;
        } else if (!queue && strcmp(s, "data") == 0) {
                o->role = T_DATA;
        }
        return true;
}

static int each_in(const char *dir, bool queue, t_object_fn fn, void *arg) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int r = 0;
        if (!d)
                return 0;
        while (r == 0 && (e = readdir(d))) {
                struct t_object o = {.kind = queue ? "queue" : "file", .id = -1};
                struct stat st;
                if (!parse(e->d_name, queue, &o) || fstatat(dirfd(d), e->d_name, &st, 0) < 0)
                        continue;
                /* Queues by their mq_open name, files by their path. */
                int len = queue ? snprintf(o.name, sizeof(o.name), "/%s", e->d_name)
                                : snprintf(o.name, sizeof(o.name), "%s/%s", dir, e->d_name);
                if (len < 0 || (size_t) len >= sizeof(o.name))
                        continue;
                o.mode = st.st_mode & 0777;
                o.size = queue ? 0 : (unsigned long) st.st_size;
                r = fn(&o, arg);
        }
        closedir(d);
        return r;
}

static bool mqueue_mounted(void) {
        struct stat st;
        return stat("/dev/mqueue", &st) == 0 && S_ISDIR(st.st_mode);
}

static int posix_each(t_object_fn fn, void *arg) {
        int r = each_in(SHM_DIR, false, fn, arg);
        if (r == 0 && mqueue_mounted())
                r = each_in("/dev/mqueue", true, fn, arg);
        return r;
}

/* Where /dev/mqueue is not mounted, only mq_open finds the queues. */
static int posix_probe(key_t key, t_object_fn fn, void *arg) {
        if (mqueue_mounted())
                return 0;
        for (int side = 0; side < 2; side++) {
                struct t_object o = {.kind = "queue", .role = T_WAKE, .side = side, .key = key, .id = -1};
                struct stat st;
                posix_object_name(key, T_WAKE, side, o.name, sizeof(o.name));
                mqd_t q = mq_open(o.name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (q == (mqd_t) -1 && errno == ENOENT)
                        continue;
                if (q != (mqd_t) -1) {
                        if (fstat((int) q, &st) == 0)
                                o.mode = st.st_mode & 0777;
                        mq_close(q);
                }
                int r = fn(&o, arg);
                if (r)
                        return r;
        }
        return 0;
}

static int posix_remove(const struct t_object *o) {
        if (strcmp(o->kind, "queue") == 0)
                return mq_unlink(o->name);
        if (strcmp(o->kind, "file") == 0)
                return unlink(o->name);
        errno = EINVAL;
        return -1;
}

static volatile void *posix_map_control(key_t key, size_t *len) {
        char name[64];
        struct stat st;
        void *p = MAP_FAILED;
        int fd = shm_open(posix_object_name(key, T_CONTROL, -1, name, sizeof(name)), O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) == 0 && st.st_size > 0)
                p = mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
                return NULL;
        *len = (size_t) st.st_size;
        return p;
}

static void posix_unmap_control(volatile void *p, size_t len) {
        if (p)
                munmap((void *) p, len);
}

static long posix_wakeups_queued(key_t key, int side) {
        char name[64];
        struct mq_attr attr;
        mqd_t q = mq_open(posix_object_name(key, T_WAKE, side, name, sizeof(name)), O_RDONLY | O_CLOEXEC);
        if (q == (mqd_t) -1)
                return -1;
        long n = mq_getattr(q, &attr) == 0 ? attr.mq_curmsgs : -1;
        mq_close(q);
        return n;
}

static int posix_fill_wakeups(key_t key, int side) {
        char name[64];
        int n = 0;
        mqd_t q = mq_open(posix_object_name(key, T_WAKE, side, name, sizeof(name)),
                          O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (q == (mqd_t) -1)
                return -1;
        while (mq_send(q, "j", 1, 0) == 0)
                n++;
        int e = errno;
        mq_close(q);
        return e == EAGAIN ? n : -1;
}

const struct t_backend_desc t_backend_posix = {
        .name = "posix",
        .nobjects = 4,
        .each = posix_each,
        .probe = posix_probe,
        .remove = posix_remove,
        .map_control = posix_map_control,
        .unmap_control = posix_unmap_control,
        .wakeups_queued = posix_wakeups_queued,
        .fill_wakeups = posix_fill_wakeups,
        .object_name = posix_object_name,
        .files = SHM_DIR,
};
