/*
 * The POSIX backend, for systems where SysV IPC is weak or disabled.
 *
 *   control block  shm_open object "/shbuf-KKKKKKKK-ctl"
 *   data block     shm_open object "/shbuf-KKKKKKKK-data"
 *   lock           the lock word in the control block itself, slept on by
 *                  the core (a futex on Linux) when it is contended
 *   presence       an open-file-description lock per side on the control
 *                  object (bytes PRESENCE_BASE + side), released by the
 *                  kernel when the process that holds it dies
 *   wake-ups       one POSIX message queue per direction: "/shbuf-KKKKKKKK-p"
 *                  carries wake-ups to the provider, "/shbuf-KKKKKKKK-c" to
 *                  the client
 *
 * KKKKKKKK is the key as eight lower-case hex digits, so every buffer has its
 * own names and `ls /dev/shm` shows which key they belong to. Queues hold at
 * most 8 one-byte messages, inside the default fs.mqueue.msg_max of 10, so
 * an unprivileged user can create buffers; wake-ups coalesce anyway.
 *
 * On Linux a message queue descriptor can be polled, so a wait polls the
 * queue together with the peer's pidfd and its deadline (timed receives),
 * and the select descriptor polls the queue itself: no thread anywhere.
 *
 * The client derives every name from the key, so nothing in the (untrusted)
 * control block tells it what to open; sizes are checked with fstat().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/backend.h"

#define QUEUE_DEPTH 8
/* Past the end of the control block: the locks guard no data of it. */
#define PRESENCE_BASE 4096
#define NAME_MAX_LEN 32

struct posix {
        int ctl_fd, data_fd;
        mqd_t mq[2]; /* indexed by side: the queue that wakes that side */
        void *ctl, *data;
        size_t ctl_len, data_len;
};

enum object { OBJ_CTL, OBJ_DATA, OBJ_MQ_PROVIDER, OBJ_MQ_CLIENT };

static void object_name(char *buf, key_t key, enum object o) {
        static const char *const suffix[] = {"ctl", "data", "p", "c"};
        snprintf(buf, NAME_MAX_LEN, "/shbuf-%08x-%s", (unsigned) key, suffix[o]);
}

static enum object queue_of(int side) {
        return side == SHBUF__PROVIDER ? OBJ_MQ_PROVIDER : OBJ_MQ_CLIENT;
}

static struct posix *P(struct shbuf__map *m) {
        return m->priv;
}

static struct posix *posix_new(void) {
        struct posix *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->ctl_fd = p->data_fd = -1;
        p->mq[0] = p->mq[1] = (mqd_t) -1;
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

static void posix_detach(struct shbuf__map *m, bool remove) {
        struct posix *p = P(m);
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
        if (remove)
                unlink_all(m->key);
        free(p);
        m->priv = NULL;
        m->control = NULL;
        m->data = NULL;
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

static int map(int fd, size_t len, void **ret) {
        void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mem == MAP_FAILED)
                return -errno;
        *ret = mem;
        return 0;
}

static int posix_create(struct shbuf__map *m, key_t key, int mode) {
        struct posix *p = posix_new();
        int r;

        if (!p)
                return -ENOMEM;
        m->key = key;
        /* The control block goes first: its O_EXCL claims the key, so that
         * a failure below never unlinks somebody else's objects. */
        r = make_shm(key, OBJ_CTL, mode, SHBUF__CONTROL_SIZE, &p->ctl_fd);
        if (p->ctl_fd < 0) {
                free(p); /* nothing was made */
                return r;
        }
        m->priv = p;
        if (r < 0)
                goto fail;
        if ((r = make_shm(key, OBJ_DATA, mode, m->data_size, &p->data_fd)) < 0 ||
            (r = make_mq(key, OBJ_MQ_PROVIDER, mode, &p->mq[SHBUF__PROVIDER])) < 0 ||
            (r = make_mq(key, OBJ_MQ_CLIENT, mode, &p->mq[SHBUF__CLIENT])) < 0)
                goto fail;
        p->ctl_len = SHBUF__CONTROL_SIZE;
        p->data_len = m->data_size;
        if ((r = map(p->ctl_fd, p->ctl_len, &p->ctl)) < 0 || (r = map(p->data_fd, p->data_len, &p->data)) < 0)
                goto fail;
        m->control = p->ctl;
        m->control_size = SHBUF__CONTROL_SIZE;
        m->data = p->data;
        return 0;

fail:
        /* The key is ours (the control block's O_EXCL said so): remove all
         * names under it, including ones a failed call made half-way. */
        posix_detach(m, true);
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

static int posix_attach_control(struct shbuf__map *m, key_t key) {
        struct posix *p = posix_new();
        struct stat st;
        int r;

        if (!p)
                return -ENOMEM;
        m->priv = p;
        m->key = key;
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
        m->control = p->ctl;
        m->control_size = p->ctl_len;
        return 0;
fail:
        posix_detach(m, false);
        return r;
}

static int posix_attach_rest(struct shbuf__map *m) {
        struct posix *p = P(m);
        struct stat st;
        int r = open_shm(m->key, OBJ_DATA, &p->data_fd, &st);
        if (r < 0)
                return r == -ENOENT ? -EPROTO : r;
        if ((uint64_t) st.st_size != m->data_size)
                return -EPROTO;
        p->data_len = m->data_size;
        r = map(p->data_fd, p->data_len, &p->data);
        if (r < 0)
                return r;
        for (int side = 0; side < 2; side++) {
                char name[NAME_MAX_LEN];
                object_name(name, m->key, queue_of(side));
                p->mq[side] = mq_open(name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
                if (p->mq[side] == (mqd_t) -1)
                        return errno == ENOENT ? -EPROTO : -errno;
        }
        m->data = p->data;
        return 0;
}

static int posix_set_mode(struct shbuf__map *m, int mode) {
        struct posix *p = P(m);
        if (fchmod(p->ctl_fd, (mode_t) mode) < 0 || fchmod(p->data_fd, (mode_t) mode) < 0 ||
            fchmod((int) p->mq[0], (mode_t) mode) < 0 || fchmod((int) p->mq[1], (mode_t) mode) < 0)
                return -errno;
        return 0;
}

static int posix_get_mode(struct shbuf__map *m) {
        struct stat st;
        if (fstat(P(m)->ctl_fd, &st) < 0)
                return -errno;
        return (int) (st.st_mode & 0777);
}

static int posix_check_alive(struct shbuf__map *m) {
        struct stat st;
        /* After shm_unlink the object keeps living for us, with no link. */
        if (fstat(P(m)->ctl_fd, &st) < 0 || st.st_nlink == 0)
                return -EPIPE;
        return 0;
}

static int presence_lock(struct shbuf__map *m, int side, short type, int cmd, struct flock *ret) {
        *ret = (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = PRESENCE_BASE + side, .l_len = 1};
        return fcntl(P(m)->ctl_fd, cmd, ret) == 0 ? 0 : -errno;
}

static int posix_hold_presence(struct shbuf__map *m, int side) {
        struct flock fl;
        int r = presence_lock(m, side, F_WRLCK, F_OFD_SETLK, &fl);
        /* Held by another: that side has a live process already. */
        return r == -EAGAIN || r == -EACCES ? -EBUSY : r;
}

static void posix_drop_presence(struct shbuf__map *m, int side) {
        struct flock fl;
        (void) presence_lock(m, side, F_UNLCK, F_OFD_SETLK, &fl);
}

static int posix_presence(struct shbuf__map *m, int side) {
        struct flock fl;
        int r = presence_lock(m, side, F_WRLCK, F_OFD_GETLK, &fl);
        return r < 0 ? r : fl.l_type != F_UNLCK;
}

static int posix_await_absence(struct shbuf__map *m, int side) {
        /* Taking the side's lock waits until its holder lets go, or dies;
         * it is let go at once, for the side's next process to take. The
         * wait is a cancellation point of fcntl(). */
        struct flock fl;
        int r;
        while ((r = presence_lock(m, side, F_WRLCK, F_OFD_SETLKW, &fl)) == -EINTR)
                ;
        if (r < 0)
                return r;
        (void) presence_lock(m, side, F_UNLCK, F_OFD_SETLK, &fl);
        return 0;
}

static int posix_send(struct shbuf__map *m, int side, bool via_select) {
        /* The queue is the select source too. */
        (void) via_select;
        if (mq_send(P(m)->mq[side], "", 1, 0) == 0)
                return 0;
        /* At most one wake-up per side is in flight, so a full queue was
         * filled by somebody else; the sleeper will wake from that too. */
        return errno == EAGAIN ? 0 : -errno;
}

static int take_one(mqd_t q) {
        char c[1];
        if (mq_receive(q, c, sizeof(c), NULL) >= 0)
                return 1;
        return errno == EAGAIN ? 0 : errno == EBADMSG || errno == EMSGSIZE ? 1 : -EPIPE;
}

/* One poll() on the queue, the peer's pidfd and the deadline, then a
 * non-blocking receive: a wait costs two system calls, and a deadline or
 * the peer's death ends it without any thread. */
static int posix_recv(struct shbuf__map *m, int side, int timeout_ms, int watch_fd) {
        mqd_t q = P(m)->mq[side];
        struct pollfd p[2] = {{.fd = (int) q, .events = POLLIN}, {.fd = watch_fd, .events = POLLIN}};
        int n = poll(p, 2, timeout_ms);
        if (n < 0)
                return errno == EINTR ? -EINTR : -errno;
        if (p[0].revents & POLLIN)
                return take_one(q);
        if (p[0].revents & (POLLERR | POLLNVAL))
                return -EPIPE;
        return 0;
}

static int posix_drain(struct shbuf__map *m, int side) {
        int n = 0, r;
        while ((r = take_one(P(m)->mq[side])) > 0)
                n++;
        return r < 0 ? r : n;
}

static int posix_open_select(struct shbuf__map *m, int side, int mode) {
        (void) mode;
        return (int) P(m)->mq[side];
}

static void posix_close_select(struct shbuf__map *m, int side) {
        (void) m;
        (void) side;
}

/*
 * Open the control object under key read-only and check it is ours. It is
 * read, not mapped: its owner may truncate it at any moment, and a read of
 * a truncated object comes back short where an access to a mapping of it
 * raises SIGBUS (the tools look at everybody's buffers).
 */
static int peek_control(key_t key, struct stat *ret_st) {
        char name[NAME_MAX_LEN];
        struct shbuf__control c;
        int r = -EPROTO;
        object_name(name, key, OBJ_CTL);
        int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) == 0 && (uint64_t) ret_st->st_size >= SHBUF__CONTROL_SIZE) {
                ssize_t n = pread(fd, &c, sizeof(c), 0);
                if (n < 0)
                        r = -errno;
                else if (n == (ssize_t) sizeof(c) && c.header.key == (int32_t) key)
                        r = shbuf__control_validate(&c, (uint64_t) ret_st->st_size, SHBUF__BACKEND_POSIX);
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
        .caps = SHBUF__CAP_RECV_TIMED | SHBUF__CAP_SHRINKS,
        .create = posix_create,
        .attach_control = posix_attach_control,
        .attach_rest = posix_attach_rest,
        .detach = posix_detach,
        .set_mode = posix_set_mode,
        .get_mode = posix_get_mode,
        .check_alive = posix_check_alive,
        .hold_presence = posix_hold_presence,
        .drop_presence = posix_drop_presence,
        .presence = posix_presence,
        .await_absence = posix_await_absence,
        .send = posix_send,
        .recv = posix_recv,
        .drain = posix_drain,
        .open_select = posix_open_select,
        .drain_select = posix_drain,
        .close_select = posix_close_select,
        .list = posix_list,
        .remove_key = posix_remove_key,
};
