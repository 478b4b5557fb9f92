/*
 * The POSIX backend, for systems where SysV IPC is weak or disabled.
 *
 *   control block  shm_open object "/shbuf-KKKKKKKK-ctl"
 *   data block     shm_open object "/shbuf-KKKKKKKK-data"
 *   lock           a futex word in the control block's backend area, slept
 *                  on only when the status lock is contended (core/lock.c)
 *   wake-ups       one POSIX message queue per direction: "/shbuf-KKKKKKKK-p"
 *                  carries wake-ups to the provider, "/shbuf-KKKKKKKK-c" to
 *                  the client
 *
 * KKKKKKKK is the key as eight lower-case hex digits, so every buffer has its
 * own names and `ls /dev/shm` shows which key they belong to. Queues hold at
 * most 8 one-byte messages, inside the default fs.mqueue.msg_max of 10, so
 * an unprivileged user can create buffers; wake-ups coalesce anyway.
 *
 * On Linux a message queue descriptor can be polled, so the select
 * descriptor polls the queue itself, with no notifier thread. Waits block in
 * mq_receive() on a second, blocking descriptor of the same queue.
 *
 * The client derives every name from the key, so nothing in the (untrusted)
 * control block tells it what to open; sizes are checked with fstat().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../core/handle.h"

#define QUEUE_DEPTH 8
#define NAME_MAX_LEN 32

/*
 * What this backend keeps in the control block's backend area: the lock's
 * wait object, a count of wake-ups slept on with futex(2). Not a sem_t: the
 * area is writable by the other process, and glibc aborts the process when a
 * scribbled sem_t makes the kernel answer EINVAL; with our own word we see
 * the error and report it.
 */
struct posix_area {
        _Atomic uint32_t lock_wakeups;
};
_Static_assert(sizeof(struct posix_area) <= SHBUF__BACKEND_AREA, "backend area too small");

struct posix {
        int ctl_fd, data_fd;
        mqd_t mq[2];   /* indexed by side: the queue that wakes that side */
        mqd_t mq_wait; /* our own queue again, blocking, for recv() */
        void *ctl, *data;
        size_t ctl_len, data_len;
        key_t key;
        bool created; /* names exist because we made them (for rollback) */
};

enum object { OBJ_CTL, OBJ_DATA, OBJ_MQ_PROVIDER, OBJ_MQ_CLIENT };

static void object_name(char *buf, key_t key, enum object o) {
        static const char *const suffix[] = {"ctl", "data", "p", "c"};
        snprintf(buf, NAME_MAX_LEN, "/shbuf-%08x-%s", (unsigned) key, suffix[o]);
}

static struct posix *P(shbuf *sb) {
        return sb->priv;
}

static _Atomic uint32_t *lock_word(shbuf *sb) {
        return &((struct posix_area *) (void *) sb->control->backend_area)->lock_wakeups;
}

static int futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *timeout) {
        /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
        return (int) syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

static struct posix *posix_new(key_t key) {
        struct posix *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->ctl_fd = p->data_fd = -1;
        p->mq[0] = p->mq[1] = p->mq_wait = (mqd_t) -1;
        p->key = key;
        return p;
}

static void unlink_all(key_t key) {
        char name[NAME_MAX_LEN];
        object_name(name, key, OBJ_CTL);
        shm_unlink(name);
        object_name(name, key, OBJ_DATA);
        shm_unlink(name);
        object_name(name, key, OBJ_MQ_PROVIDER);
        mq_unlink(name);
        object_name(name, key, OBJ_MQ_CLIENT);
        mq_unlink(name);
}

static void posix_detach(shbuf *sb, bool remove) {
        struct posix *p = P(sb);
        if (!p)
                return;
        if (p->ctl)
                munmap(p->ctl, p->ctl_len);
        if (p->data)
                munmap(p->data, p->data_len);
        if (p->ctl_fd >= 0)
                close(p->ctl_fd);
        if (p->data_fd >= 0)
                close(p->data_fd);
        for (int i = 0; i < 2; i++)
                if (p->mq[i] != (mqd_t) -1)
                        mq_close(p->mq[i]);
        if (p->mq_wait != (mqd_t) -1)
                mq_close(p->mq_wait);
        if (remove)
                unlink_all(p->key);
        free(p);
        sb->priv = NULL;
        sb->control = NULL;
        sb->data = NULL;
}

/* shm_open and mq_open apply the umask; the mode asked for is what counts. */
static int make_shm(key_t key, enum object o, int mode, uint64_t size, int *ret_fd) {
        char name[NAME_MAX_LEN];
        object_name(name, key, o);
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t) mode);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        if (fchmod(fd, (mode_t) mode) < 0)
                return -errno;
        /* Reserve the memory now: tmpfs would otherwise accept any size and
         * answer a write beyond its space with SIGBUS much later. */
        int r = posix_fallocate(fd, 0, (off_t) size);
        if (r != 0)
                return -r;
        return 0;
}

static int make_mq(key_t key, enum object o, int mode, mqd_t *ret) {
        char name[NAME_MAX_LEN];
        struct mq_attr attr = {.mq_maxmsg = QUEUE_DEPTH, .mq_msgsize = 1};
        object_name(name, key, o);
        mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, (mode_t) mode, &attr);
        if (q == (mqd_t) -1)
                return -errno;
        *ret = q;
        /* On Linux a queue descriptor is a file descriptor. */
        if (fchmod((int) q, (mode_t) mode) < 0)
                return -errno;
        return 0;
}

/*
 * A second, blocking descriptor of this side's queue: a wait then costs one
 * mq_receive() like a pipe's read(), where the non-blocking one (kept for
 * polling and draining) would cost a poll() and a receive.
 */
static int open_wait_queue(struct posix *p, int side) {
        char name[NAME_MAX_LEN];
        object_name(name, p->key, side == SHBUF__PROVIDER ? OBJ_MQ_PROVIDER : OBJ_MQ_CLIENT);
        p->mq_wait = mq_open(name, O_RDONLY | O_CLOEXEC);
        return p->mq_wait == (mqd_t) -1 ? -errno : 0;
}

static int map(int fd, size_t len, void **ret) {
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
                return -errno;
        *ret = m;
        return 0;
}

static int posix_create(shbuf *sb, key_t key, int mode) {
        struct posix *p = posix_new(key);
        int r;

        if (!p)
                return -ENOMEM;
        /* The control block goes first: its O_EXCL claims the key, so that
         * a failure below never unlinks somebody else's objects. */
        r = make_shm(key, OBJ_CTL, mode, SHBUF__CONTROL_SIZE, &p->ctl_fd);
        if (p->ctl_fd < 0) {
                free(p); /* nothing was made */
                return r;
        }
        sb->priv = p;
        if (r < 0)
                goto fail;
        if ((r = make_shm(key, OBJ_DATA, mode, sb->size, &p->data_fd)) < 0 ||
            (r = make_mq(key, OBJ_MQ_PROVIDER, mode, &p->mq[SHBUF__PROVIDER])) < 0 ||
            (r = make_mq(key, OBJ_MQ_CLIENT, mode, &p->mq[SHBUF__CLIENT])) < 0 ||
            (r = open_wait_queue(p, SHBUF__PROVIDER)) < 0)
                goto fail;
        p->ctl_len = SHBUF__CONTROL_SIZE;
        p->data_len = sb->size;
        if ((r = map(p->ctl_fd, p->ctl_len, &p->ctl)) < 0 ||
            (r = map(p->data_fd, p->data_len, &p->data)) < 0)
                goto fail;

        sb->key = key;
        sb->control = p->ctl;
        sb->control_size = SHBUF__CONTROL_SIZE;
        sb->data = p->data;
        atomic_store(lock_word(sb), 0);
        return 0;

fail:
        /* The key is ours (the control block's O_EXCL said so): remove all
         * names under it, including ones a failed call made half-way. */
        posix_detach(sb, true);
        return r;
}

static int open_shm(key_t key, enum object o, int *ret_fd, struct stat *ret_st) {
        char name[NAME_MAX_LEN];
        object_name(name, key, o);
        int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int posix_attach_control(shbuf *sb, key_t key) {
        struct posix *p = posix_new(key);
        struct stat st;
        int r;

        if (!p)
                return -ENOMEM;
        sb->priv = p;
        r = open_shm(key, OBJ_CTL, &p->ctl_fd, &st);
        if (r < 0)
                goto fail;
        if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size < SHBUF__CONTROL_SIZE) {
                r = -EPROTO;
                goto fail;
        }
        p->ctl_len = (size_t) st.st_size;
        r = map(p->ctl_fd, p->ctl_len, &p->ctl);
        if (r < 0)
                goto fail;
        sb->control = p->ctl;
        sb->control_size = p->ctl_len;
        return 0;
fail:
        posix_detach(sb, false);
        return r;
}

static int posix_attach_rest(shbuf *sb) {
        struct posix *p = P(sb);
        struct stat st;
        int r = open_shm(p->key, OBJ_DATA, &p->data_fd, &st);
        if (r < 0)
                return r == -ENOENT ? -EPROTO : r;
        if ((uint64_t) st.st_size != sb->size)
                return -EPROTO;
        p->data_len = sb->size;
        r = map(p->data_fd, p->data_len, &p->data);
        if (r < 0)
                return r;
        for (int side = 0; side < 2; side++) {
                char name[NAME_MAX_LEN];
                object_name(name, p->key, side == SHBUF__PROVIDER ? OBJ_MQ_PROVIDER : OBJ_MQ_CLIENT);
                p->mq[side] = mq_open(name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
                if (p->mq[side] == (mqd_t) -1)
                        return errno == ENOENT ? -EPROTO : -errno;
        }
        r = open_wait_queue(p, SHBUF__CLIENT);
        if (r < 0)
                return r == -ENOENT ? -EPROTO : r;
        sb->data = p->data;
        return 0;
}

static int posix_set_mode(shbuf *sb, int mode) {
        struct posix *p = P(sb);
        if (fchmod(p->ctl_fd, (mode_t) mode) < 0 || fchmod(p->data_fd, (mode_t) mode) < 0 ||
            fchmod((int) p->mq[0], (mode_t) mode) < 0 || fchmod((int) p->mq[1], (mode_t) mode) < 0)
                return -errno;
        return 0;
}

static int posix_get_mode(shbuf *sb) {
        struct stat st;
        if (fstat(P(sb)->ctl_fd, &st) < 0)
                return -errno;
        return (int) (st.st_mode & 0777);
}

static int posix_check_alive(shbuf *sb) {
        struct stat st;
        /* After shm_unlink the object keeps living for us, with no link. */
        if (fstat(P(sb)->ctl_fd, &st) < 0 || st.st_nlink == 0)
                return -EPIPE;
        return 0;
}

static int posix_lock_sleep(shbuf *sb, int timeout_ms) {
        _Atomic uint32_t *w = lock_word(sb);
        struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long) (timeout_ms % 1000) * 1000000};
        uint32_t v = atomic_load(w);

        /* Take a pending wake-up, or sleep until one is posted. Any value is
         * possible here (the other side may scribble), and any is safe: the
         * caller only treats a return as "try the lock again". */
        if (v > 0) {
                (void) atomic_compare_exchange_strong(w, &v, v - 1);
                return 0;
        }
        if (futex(w, FUTEX_WAIT, 0, &ts) == 0 || errno == EAGAIN)
                return 0;
        return errno == ETIMEDOUT ? -ETIMEDOUT : errno == EINTR ? -EINTR : -EPROTO;
}

static int posix_lock_wake(shbuf *sb) {
        _Atomic uint32_t *w = lock_word(sb);
        atomic_fetch_add(w, 1);
        if (futex(w, FUTEX_WAKE, 1, NULL) < 0)
                return -errno;
        return 0;
}

static int posix_send(shbuf *sb, int side) {
        if (mq_send(P(sb)->mq[side], "", 1, 0) == 0)
                return 0;
        /* A full queue holds wake-ups already: coalescing, not an error. */
        return errno == EAGAIN ? 0 : -errno;
}

static int posix_recv(shbuf *sb) {
        char c[1];
        if (mq_receive(P(sb)->mq_wait, c, sizeof(c), NULL) >= 0)
                return 0;
        return errno == EINTR ? -EINTR : -EPIPE;
}

static int posix_recv_fd(shbuf *sb) {
        return (int) P(sb)->mq[sb->side];
}

static int posix_drain(shbuf *sb, int max) {
        char c[1];
        int n = 0;
        while (n < max) {
                if (mq_receive(P(sb)->mq[sb->side], c, sizeof(c), NULL) < 0)
                        return errno == EAGAIN ? n : -errno;
                n++;
        }
        return n;
}

/* Open the control object under key read-only and check it is ours. */
static int peek_control(key_t key, struct stat *ret_st) {
        char name[NAME_MAX_LEN];
        int r = -EPROTO;
        object_name(name, key, OBJ_CTL);
        int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) == 0 && (uint64_t) ret_st->st_size >= SHBUF__CONTROL_SIZE) {
                const struct shbuf__control *c =
                        mmap(NULL, SHBUF__CONTROL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
                if (c != MAP_FAILED) {
                        if (shbuf__control_validate(c, (uint64_t) ret_st->st_size, SHBUF__BACKEND_POSIX) ==
                                    0 &&
                            c->key == (int32_t) key)
                                r = 0;
                        munmap((void *) c, SHBUF__CONTROL_SIZE);
                } else {
                        r = -errno;
                }
        }
        close(fd);
        return r;
}

static int posix_list(int (*fn)(const struct shbuf__found *f, void *userdata), void *userdata) {
        DIR *d = opendir("/dev/shm");
        struct dirent *de;
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                unsigned key;
                char tail[8];
                struct stat st;
                /* Exactly "shbuf-" + 8 hex digits + "-ctl". */
                if (strlen(de->d_name) != 18 || sscanf(de->d_name, "shbuf-%8x-%7s", &key, tail) != 2 ||
                    strcmp(tail, "ctl") != 0)
                        continue;
                if (peek_control((key_t) key, &st) < 0)
                        continue;
                /* POSIX shared memory does not count its mappings. */
                struct shbuf__found f = {.key = (key_t) key,
                                         .uid = st.st_uid,
                                         .mode = (int) (st.st_mode & 0777),
                                         .attached = -1};
                int r = fn(&f, userdata);
                if (r != 0) {
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        return 0;
}

static int posix_remove_key(key_t key) {
        struct stat st;
        int r = peek_control(key, &st);
        if (r < 0)
                return r;
        unlink_all(key);
        return 0;
}

const struct shbuf__backend shbuf__backend_posix = {
        .name = "posix",
        .id = SHBUF__BACKEND_POSIX,
        .caps = SHBUF__CAP_POLLABLE,
        .create = posix_create,
        .attach_control = posix_attach_control,
        .attach_rest = posix_attach_rest,
        .detach = posix_detach,
        .set_mode = posix_set_mode,
        .get_mode = posix_get_mode,
        .check_alive = posix_check_alive,
        .lock_sleep = posix_lock_sleep,
        .lock_wake = posix_lock_wake,
        .send = posix_send,
        .recv = posix_recv,
        .recv_fd = posix_recv_fd,
        .drain = posix_drain,
        .list = posix_list,
        .remove_key = posix_remove_key,
};
