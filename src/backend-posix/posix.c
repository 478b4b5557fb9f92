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
 * Anybody may create a name in /dev/shm, so every object is opened without
 * blocking and without following a link, and checked with fstat() before
 * use: a FIFO planted under a buffer's name must not hang anyone, and the
 * data block and queues must have the control block's owner. The control
 * block claims the key: it is made first and unlinked last, so that no set
 * of names is ever shared by two buffers, and its creator holds the
 * provider's presence lock on it from before the creation marker is
 * written, which tells listers whether a half-made buffer's creator is
 * still at work.
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
#include "config.h"

#define QUEUE_DEPTH 8
/* Past the end of the control block: the locks guard no data of it. */
#define PRESENCE_BASE 4096
#define NAME_MAX_LEN 32

struct posix {
        int ctl_fd, data_fd;
        mqd_t mq[2]; /* indexed by side: the queue that wakes that side */
        void *ctl, *data;
        size_t ctl_len, data_len;
        unsigned made; /* the objects this handle created, by 1 << enum object */
};

enum object { OBJ_CTL, OBJ_DATA, OBJ_MQ_PROVIDER, OBJ_MQ_CLIENT };

/* How every name a stranger can create is opened: never waiting for a
 * FIFO's writer, never through a link (glibc's shm_open adds O_NOFOLLOW
 * and O_CLOEXEC itself; musl adds O_NONBLOCK). */
#define SAFE_OPEN (O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)

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

static void unlink_object(key_t key, enum object o) {
        char name[NAME_MAX_LEN];
        object_name(name, key, o);
        if (o == OBJ_CTL || o == OBJ_DATA)
                shm_unlink(name);
        else
                mq_unlink(name);
}

/* Open the object under one of key's names for a look at it: not for use,
 * so read-only, and never blocking. A descriptor (a queue's is one on
 * Linux) or -errno. */
static int open_name(key_t key, enum object o) {
        char name[NAME_MAX_LEN];
        object_name(name, key, o);
        if (o == OBJ_CTL || o == OBJ_DATA) {
                int fd = shm_open(name, O_RDONLY | SAFE_OPEN, 0);
                return fd < 0 ? -errno : fd;
        }
        mqd_t q = mq_open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        return q == (mqd_t) -1 ? -errno : (int) q;
}

static void close_name(enum object o, int fd) {
        if (o == OBJ_CTL || o == OBJ_DATA)
                close(fd);
        else
                mq_close((mqd_t) fd);
}

/* Whether key's name for o still refers to the object open as fd. */
static bool name_is(key_t key, enum object o, int fd) {
        struct stat mine, named;
        int nfd = open_name(key, o);
        if (nfd < 0)
                return false;
        bool same = fstat(fd, &mine) == 0 && fstat(nfd, &named) == 0 && mine.st_dev == named.st_dev &&
                    mine.st_ino == named.st_ino;
        close_name(o, nfd);
        return same;
}

/*
 * Unlink the objects this handle made: the data block and the queues
 * first, the control block last, because its name claims the key. While it
 * is there no other creator can start (its O_EXCL fails), so nobody else's
 * objects can be under the other names; once it is gone, a new buffer may
 * be made at once, and none of its objects may go to an unlink of ours.
 * If the control block is not linked any more (somebody removed the buffer,
 * and the key may belong to a new one), only names that still refer to our
 * very objects are unlinked.
 */
static void unlink_made(key_t key, struct posix *p) {
        static const enum object last_ctl[] = {OBJ_DATA, OBJ_MQ_PROVIDER, OBJ_MQ_CLIENT, OBJ_CTL};
        struct stat st;
        bool key_ours = p->ctl_fd >= 0 && fstat(p->ctl_fd, &st) == 0 && st.st_nlink > 0;
        for (size_t i = 0; i < sizeof(last_ctl) / sizeof(last_ctl[0]); i++) {
                enum object o = last_ctl[i];
                int fd = o == OBJ_CTL    ? p->ctl_fd
                         : o == OBJ_DATA ? p->data_fd
                                         : (int) p->mq[o - OBJ_MQ_PROVIDER];
                if (!(p->made & (1u << o)))
                        continue;
                if (key_ours || (fd >= 0 && name_is(key, o, fd)))
                        unlink_object(key, o);
        }
        p->made = 0;
}

static void posix_detach(struct shbuf__map *m, bool remove) {
        struct posix *p = P(m);
        if (!p)
                return;
        if (p->ctl)
                munmap(p->ctl, p->ctl_len);
        if (p->data)
                munmap(p->data, p->data_len);
        /* Unlinked while the descriptors are open, to tell our objects
         * from a new buffer's. */
        if (remove)
                unlink_made(m->key, p);
        if (p->ctl_fd >= 0)
                close(p->ctl_fd);
        if (p->data_fd >= 0)
                close(p->data_fd);
        for (int i = 0; i < 2; i++)
                if (p->mq[i] != (mqd_t) -1)
                        mq_close(p->mq[i]);
        free(p);
        m->priv = NULL;
        m->control = NULL;
        m->data = NULL;
}

/* shm_open and mq_open apply the umask; the mode asked for is what counts. */
static int make_shm(key_t key, enum object o, int mode, uint64_t size, int *ret_fd) {
        char name[NAME_MAX_LEN];
        object_name(name, key, o);
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | SAFE_OPEN, (mode_t) mode);
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

static int posix_hold_presence(struct shbuf__map *m, int side);

/*
 * Make the control block, which claims the key (O_EXCL), and mark it as
 * being created before anything else is made. The provider's presence lock,
 * taken first and held for the handle's life (the core takes it again,
 * which changes nothing), tells a lister that the creator is still there,
 * whatever pid namespace either of them runs in; a creator killed later
 * leaves a marked block whose lock is free, which gc removes.
 */
static int claim_key(struct shbuf__map *m, struct posix *p, key_t key, int mode) {
        int r = make_shm(key, OBJ_CTL, mode, SHBUF__CONTROL_SIZE, &p->ctl_fd);
        if (p->ctl_fd < 0)
                return r;
        p->made |= 1u << OBJ_CTL;
        if (r < 0)
                return r;
        /* Nobody takes the lock of a block without a marker: one held now is
         * somebody's interference with a name that is ours. */
        r = posix_hold_presence(m, SHBUF__PROVIDER);
        if (r < 0)
                return r == -EBUSY ? -EEXIST : r;
        p->ctl_len = SHBUF__CONTROL_SIZE;
        r = map(p->ctl_fd, p->ctl_len, &p->ctl);
        if (r < 0)
                return r;
        shbuf__control_mark_creating(p->ctl, SHBUF_BACKEND_ID_posix, (int32_t) key, m->data_size);
        return 0;
}

static int posix_create(struct shbuf__map *m, key_t key, int mode) {
        struct posix *p = posix_new();
        int r;

        if (!p)
                return -ENOMEM;
        m->key = key;
        m->priv = p;
        /* The control block goes first: its O_EXCL claims the key. Every
         * other name is made with O_EXCL too: one that exists already is a
         * leftover of somebody else's (or a planted one), and the create is
         * refused with EEXIST rather than share it. */
        if ((r = claim_key(m, p, key, mode)) < 0)
                goto fail;
        r = make_shm(key, OBJ_DATA, mode, m->data_size, &p->data_fd);
        if (p->data_fd >= 0)
                p->made |= 1u << OBJ_DATA;
        if (r < 0)
                goto fail;
        for (int side = 0; side < 2; side++) {
                r = make_mq(key, queue_of(side), mode, &p->mq[side]);
                if (p->mq[side] != (mqd_t) -1)
                        p->made |= 1u << queue_of(side);
                if (r < 0)
                        goto fail;
        }
        p->data_len = m->data_size;
        if ((r = map(p->data_fd, p->data_len, &p->data)) < 0)
                goto fail;
        m->control = p->ctl;
        m->control_size = SHBUF__CONTROL_SIZE;
        m->data = p->data;
        return 0;

fail:
        /* Only what this call made goes, the control block last. */
        posix_detach(m, true);
        return r;
}

/* Open a shared memory object of key for use: a regular file, or -EPROTO
 * (a FIFO, a device, a link planted under the name). */
static int open_shm(key_t key, enum object o, int *ret_fd, struct stat *ret_st) {
        char name[NAME_MAX_LEN];
        object_name(name, key, o);
        int fd = shm_open(name, O_RDWR | SAFE_OPEN, 0);
        if (fd < 0)
                return errno == ELOOP ? -EPROTO : -errno;
        int r = fstat(fd, ret_st) < 0 ? -errno : S_ISREG(ret_st->st_mode) ? 0 : -EPROTO;
        if (r < 0) {
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
        if ((uint64_t) st.st_size < SHBUF__CONTROL_SIZE) {
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

/* The owner of our control block: the other objects must have it too. */
static int control_owner(struct posix *p, uid_t *ret_uid) {
        struct stat st;
        if (fstat(p->ctl_fd, &st) < 0)
                return -errno;
        *ret_uid = st.st_uid;
        return 0;
}

static int posix_attach_rest(struct shbuf__map *m) {
        struct posix *p = P(m);
        struct stat st;
        uid_t owner = (uid_t) -1;
        int r = control_owner(p, &owner);
        if (r < 0)
                return r;
        r = open_shm(m->key, OBJ_DATA, &p->data_fd, &st);
        if (r < 0)
                return r == -ENOENT ? -EPROTO : r;
        if ((uint64_t) st.st_size != m->data_size || st.st_uid != owner)
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
                if (fstat((int) p->mq[side], &st) < 0 || st.st_uid != owner)
                        return -EPROTO;
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

SHBUF__CANCELLED_HERE static int presence_lock(struct shbuf__map *m, int side, short type, int cmd,
                                                struct flock *ret) {
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

SHBUF__CANCELLED_HERE static int posix_await_absence(struct shbuf__map *m, int side) {
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

/* Whether the creator of a half-made buffer, whose control block is open
 * as fd, is still at work: it holds the provider's presence lock until it
 * frees the buffer, or dies. */
static bool creator_alive(int fd) {
        struct flock fl = {
                .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = PRESENCE_BASE + SHBUF__PROVIDER, .l_len = 1};
        /* Where the kernel cannot say, the buffer is spared. */
        return fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type != F_UNLCK;
}

static const char *not_regular(mode_t mode) {
        return S_ISFIFO(mode)  ? "a FIFO, not a shared memory object"
               : S_ISDIR(mode) ? "a directory, not a shared memory object"
                               : "not a regular file";
}

/*
 * Look at what is under key's control name without trusting it: open it
 * read-only without blocking or following a link, check it is a regular
 * file, map it and classify it (ret->kind, and for what is skipped, why).
 * On success the object stays open as *ret_fd (its fstat() in *ret_st),
 * for the caller to tell later whether the name still refers to it.
 * -ENOENT if there is nothing, -EACCES if it may not be read.
 */
static int peek_control(key_t key, struct shbuf__found *ret, struct stat *ret_st, int *ret_fd) {
        char name[NAME_MAX_LEN];
        memset(ret, 0, sizeof(*ret));
        ret->key = key;
        ret->attached = -1; /* POSIX shared memory does not count its mappings */
        object_name(name, key, OBJ_CTL);
        snprintf(ret->object, sizeof(ret->object), "/dev/shm%s", name);
        ret->kind = SHBUF__FOUND_SKIPPED;
        int fd = shm_open(name, O_RDONLY | SAFE_OPEN, 0);
        if (fd < 0) {
                if (errno != ELOOP)
                        return -errno;
                ret->reason = "a symbolic link";
                return 0;
        }
        if (fstat(fd, ret_st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        ret->uid = ret_st->st_uid;
        ret->mode = (int) (ret_st->st_mode & 0777);
        *ret_fd = fd;
        if (!S_ISREG(ret_st->st_mode)) {
                ret->reason = not_regular(ret_st->st_mode);
                return 0;
        }
        if ((uint64_t) ret_st->st_size < SHBUF__CONTROL_SIZE) {
                /* Also what a creator killed in its first few system calls
                 * leaves: nothing proves such a block ours. */
                ret->reason = "too small for a control block";
                return 0;
        }
        /* Read, not mapped: whoever may write the object may also shrink
         * it, and a mapping would then fault (SIGBUS) in the lister. */
        struct shbuf__control c;
        if (pread(fd, &c, sizeof(c), 0) != (ssize_t) sizeof(c)) {
                ret->reason = "cannot be read";
                return 0;
        }
        int kind = shbuf__control_classify(&c, (uint64_t) ret_st->st_size, SHBUF_BACKEND_ID_posix,
                                           (int32_t) key, &ret->creator, &ret->size);
        if (kind == SHBUF__CONTROL_BUFFER)
                ret->kind = SHBUF__FOUND_BUFFER;
        else if (kind == SHBUF__CONTROL_CREATING)
                ret->kind = creator_alive(fd) ? SHBUF__FOUND_CREATING : SHBUF__FOUND_ABANDONED;
        else
                ret->reason = "not a shbuf control block";
        return 0;
}

/* "shbuf-" + 8 lower-case hex digits + "-ctl" or "-data": a name this
 * backend makes in /dev/shm. */
static bool parse_name(const char *name, key_t *ret_key, enum object *ret_o) {
        uint32_t key = 0;
        if (strncmp(name, "shbuf-", 6) != 0)
                return false;
        for (int i = 6; i < 14; i++) {
                char ch = name[i];
                if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
                        return false;
                key = key << 4 | (uint32_t) (ch <= '9' ? ch - '0' : ch - 'a' + 10);
        }
        if (strcmp(name + 14, "-ctl") == 0)
                *ret_o = OBJ_CTL;
        else if (strcmp(name + 14, "-data") == 0)
                *ret_o = OBJ_DATA;
        else
                return false;
        *ret_key = (key_t) key;
        return true;
}

/* What listing one name found: a buffer, a half-made one, or something
 * skipped. 1 if fn should hear of it (in *ret). */
static int list_one(int dir, const char *entry, struct shbuf__found *ret) {
        struct stat st;
        enum object o;
        key_t key;
        int fd = -1;
        if (!parse_name(entry, &key, &o))
                return 0;
        if (o == OBJ_DATA) {
                /* A data block is part of a buffer while the control block
                 * that claims its key is there; alone, it is a leftover. */
                char ctl[NAME_MAX_LEN];
                object_name(ctl, key, OBJ_CTL);
                if (fstatat(dir, ctl + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
                        return 0;
                if (fstatat(dir, entry, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return 0;
                char data[NAME_MAX_LEN];
                object_name(data, key, OBJ_DATA);
                *ret = (struct shbuf__found){.key = key,
                                             .uid = st.st_uid,
                                             .mode = (int) (st.st_mode & 0777),
                                             .attached = -1,
                                             .kind = SHBUF__FOUND_SKIPPED,
                                             .reason = "a data object without a control object"};
                snprintf(ret->object, sizeof(ret->object), "/dev/shm%s", data);
                return 1;
        }
        int r = peek_control(key, ret, &st, &fd);
        if (fd >= 0)
                close(fd);
        if (r == -ENOENT)
                return 0; /* gone meanwhile */
        if (r < 0) {
                ret->kind = SHBUF__FOUND_SKIPPED;
                ret->reason = r == -EACCES ? "not readable by this user" : "cannot be opened";
        }
        return 1;
}

static int posix_list(int (*fn)(const struct shbuf__found *f, void *userdata), void *userdata) {
        DIR *d = opendir("/dev/shm");
        struct dirent *de;
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                struct shbuf__found f;
                if (list_one(dirfd(d), de->d_name, &f) == 0)
                        continue;
                int r = fn(&f, userdata);
                if (r != 0) {
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        return 0;
}

/*
 * Remove the objects of the buffer whose control block is open as ctl_fd
 * (owned by owner): the data block and the queues, if they have the same
 * owner, then the control block. Before each, the control name must still
 * refer to ctl_fd: if it does not, the buffer was freed meanwhile and the
 * names may belong to a new one.
 */
static void remove_objects(key_t key, int ctl_fd, uid_t owner) {
        static const enum object others[] = {OBJ_DATA, OBJ_MQ_PROVIDER, OBJ_MQ_CLIENT};
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
                enum object o = others[i];
                struct stat st;
                if (!name_is(key, OBJ_CTL, ctl_fd))
                        return;
                int fd = open_name(key, o);
                if (fd < 0)
                        continue; /* gone, or not ours to look at: left alone */
                bool ours =
                        fstat(fd, &st) == 0 && st.st_uid == owner && (o != OBJ_DATA || S_ISREG(st.st_mode));
                close_name(o, fd);
                if (ours)
                        unlink_object(key, o);
        }
        if (name_is(key, OBJ_CTL, ctl_fd))
                unlink_object(key, OBJ_CTL);
}

static int posix_remove_key(key_t key) {
        struct shbuf__found f;
        struct stat st;
        int fd = -1;
        int r = peek_control(key, &f, &st, &fd);
        if (r == 0) {
                if (f.kind == SHBUF__FOUND_BUFFER || f.kind == SHBUF__FOUND_ABANDONED)
                        remove_objects(key, fd, st.st_uid);
                else
                        r = f.kind == SHBUF__FOUND_CREATING ? -EBUSY : -EPROTO;
        }
        if (fd >= 0)
                close(fd);
        return r;
}

const struct shbuf__backend shbuf__backend_posix = {
        .name = "posix",
        .id = SHBUF_BACKEND_ID_posix,
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
