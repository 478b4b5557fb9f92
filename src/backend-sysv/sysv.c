/*
 * The SysV backend: the original libshbuf design, object for object.
 *
 *   control block  shmget segment under the buffer's key
 *   data block     shmget segment, IPC_PRIVATE (ipcs shows key 0)
 *   lock, presence semget set of three semaphores under the buffer's key:
 *                  0 is slept on by status-lock waiters (core/lock.c); 1
 *                  and 2 are the provider's and the client's presence,
 *                  raised with SEM_UNDO so that the kernel lowers them when
 *                  the process dies
 *   wake-ups       msgget queue under the buffer's key, message type 1 for
 *                  the provider and 2 for the client
 *   select source  a FIFO per side (fifo.c)
 *
 * SysV keys are separate namespaces per object kind, so the semaphore set and
 * the queue can carry the buffer's key too: `ipcs` shows the whole buffer
 * under one key. The ids of the data segment, semaphore and queue are
 * recorded in the control block, and every one is checked against what the
 * kernel says about it (key, size, and the control segment's owner and
 * creator) before it is used or removed, because the control block is
 * writable by the other process, and anybody can make a segment that looks
 * like one and names somebody else's objects.
 *
 * The control segment is made and marked as being created first; each other
 * object's id is recorded in it as soon as it exists, so that what a
 * creator killed half-way made can be found and removed. Whether such a
 * creator is still at work is the kernel's count of the control segment's
 * attachments: the creator keeps it attached.
 *
 * msgrcv() has no timeout, so this backend does not claim
 * SHBUF__CAP_RECV_TIMED: the core's helper thread ends a sleep at its
 * deadline or at the peer's death with send_self().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "../core/backend.h"
#include "config.h"
#include "fifo.h"

/* What this backend keeps in the control block's backend area. */
struct sysv_area {
        int32_t data_id;
        int32_t sem_id;
        int32_t msg_id;
        uint32_t reserved;
        _Atomic uint32_t fifo_gen[2]; /* bumped when a side makes its FIFO anew */
};
_Static_assert(sizeof(struct sysv_area) <= SHBUF__BACKEND_AREA, "backend area too small");

struct sysv {
        int ctl_id, data_id, sem_id, msg_id;
        void *ctl, *data;
        struct sysv_fifos fifos;
};

/* The semaphores of the set: the lock's, then a presence per side. */
#define SEMS 3
#define SEM_PRESENCE(side) (1 + (side))

struct wake_msg {
        long mtype;
        char mtext[1];
};

union semun {
        int val;
        struct semid_ds *buf;
};

static struct sysv *S(struct shbuf__map *m) {
        return m->priv;
}

static struct sysv_area *area(struct shbuf__map *m) {
        return (struct sysv_area *) (void *) m->control->header.backend_area;
}

static struct sysv *sysv_new(void) {
        struct sysv *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->ctl_id = s->data_id = s->sem_id = s->msg_id = -1;
        shbuf__sysv_fifos_init(&s->fifos);
        return s;
}

/* The kernel reports a removed id as EIDRM or, once it is reused or gone, as
 * EINVAL: for us both mean the buffer was taken away. */
static int gone(int e) {
        return e == EIDRM || e == EINVAL ? -EPIPE : -e;
}

static void sysv_detach(struct shbuf__map *m, bool remove) {
        struct sysv *s = S(m);
        if (!s)
                return;
        if (s->ctl && s->ctl != (void *) -1)
                shmdt(s->ctl);
        if (s->data && s->data != (void *) -1)
                shmdt(s->data);
        shbuf__sysv_fifos_close(&s->fifos);
        if (remove) {
                if (s->data_id >= 0)
                        shmctl(s->data_id, IPC_RMID, NULL);
                if (s->sem_id >= 0)
                        semctl(s->sem_id, 0, IPC_RMID);
                if (s->msg_id >= 0)
                        msgctl(s->msg_id, IPC_RMID, NULL);
                if (s->ctl_id >= 0)
                        shmctl(s->ctl_id, IPC_RMID, NULL);
                shbuf__sysv_fifo_remove_all(m->key);
        }
        free(s);
        m->priv = NULL;
        m->control = NULL;
        m->data = NULL;
}

/*
 * Attach the new control segment and mark it as being created, naming no
 * object yet (ids are -1: 0 is a valid id), before anything else is made.
 */
static int mark_creating(struct shbuf__map *m) {
        struct sysv *s = S(m);
        s->ctl = shmat(s->ctl_id, NULL, 0);
        if (s->ctl == (void *) -1)
                return -errno;
        m->control = s->ctl;
        m->control_size = SHBUF__CONTROL_SIZE;
        struct sysv_area *a = area(m);
        a->data_id = a->sem_id = a->msg_id = -1;
        shbuf__control_mark_creating(m->control, SHBUF_BACKEND_ID_sysv, (int32_t) m->key, m->data_size);
        return 0;
}

static int sysv_create(struct shbuf__map *m, key_t key, int mode) {
        struct sysv *s = sysv_new();
        int flags = IPC_CREAT | IPC_EXCL | (mode & 0777);
        int r;

        if (!s)
                return -ENOMEM;
        m->priv = s;
        m->key = key;

        /* Objects are made one by one; on any failure everything made so far
         * is removed again by sysv_detach(m, true). */
        s->ctl_id = shmget(key, SHBUF__CONTROL_SIZE, flags);
        if (s->ctl_id < 0)
                goto fail_errno;
        if (mark_creating(m) < 0)
                goto fail_errno;
        s->sem_id = semget(key, SEMS, flags);
        if (s->sem_id < 0)
                goto fail_errno;
        area(m)->sem_id = s->sem_id;
        s->msg_id = msgget(key, flags);
        if (s->msg_id < 0)
                goto fail_errno;
        area(m)->msg_id = s->msg_id;
        s->data_id = shmget(IPC_PRIVATE, m->data_size, flags);
        if (s->data_id < 0)
                goto fail_errno;
        area(m)->data_id = s->data_id;
        s->data = shmat(s->data_id, NULL, 0);
        if (s->data == (void *) -1)
                goto fail_errno;
        m->data = s->data;
        return 0;

fail_errno:
        r = -errno;
        sysv_detach(m, true);
        return r;
}

static int sysv_attach_control(struct shbuf__map *m, key_t key) {
        struct sysv *s;
        struct shmid_ds ds;
        int id, r;

        if (key == IPC_PRIVATE)
                return -ENOENT;
        id = shmget(key, 0, 0);
        if (id < 0)
                return -errno;
        if (shmctl(id, IPC_STAT, &ds) < 0)
                return -errno;
        if (ds.shm_segsz < SHBUF__CONTROL_SIZE)
                return -EPROTO;
        s = sysv_new();
        if (!s)
                return -ENOMEM;
        s->ctl_id = id;
        s->ctl = shmat(id, NULL, 0);
        if (s->ctl == (void *) -1) {
                r = -errno;
                shbuf__sysv_fifos_close(&s->fifos);
                free(s);
                return r;
        }
        m->priv = s;
        m->key = key;
        m->control = s->ctl;
        m->control_size = ds.shm_segsz;
        return 0;
}

/* Is id a semaphore set / queue / segment the buffer made? */
static int check_sem(int id, key_t key) {
        struct semid_ds ds;
        union semun arg = {.buf = &ds};
        if (id < 0 || semctl(id, 0, IPC_STAT, arg) < 0)
                return id < 0 ? -EPROTO : -errno;
        return ds.sem_perm.__key == key && ds.sem_nsems == SEMS ? 0 : -EPROTO;
}

static int check_msg(int id, key_t key) {
        struct msqid_ds ds;
        if (id < 0 || msgctl(id, IPC_STAT, &ds) < 0)
                return id < 0 ? -EPROTO : -errno;
        return ds.msg_perm.__key == key ? 0 : -EPROTO;
}

static int check_data(int id, uint64_t size) {
        struct shmid_ds ds;
        if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0)
                return id < 0 ? -EPROTO : -errno;
        return ds.shm_perm.__key == IPC_PRIVATE && ds.shm_segsz == size ? 0 : -EPROTO;
}

enum ipc_kind { KIND_SHM, KIND_SEM, KIND_MSG };

/*
 * Is the object with this id owned and created by the same user as the
 * control segment (ctl)? A control block may be forged by anybody; the
 * objects it names must be its owner's, or a client would write into, and
 * gc would remove, somebody else's. cuid cannot be changed after creation;
 * uid only by the owner, and both are compared.
 */
static int check_owner(enum ipc_kind kind, int id, const struct ipc_perm *ctl) {
        struct ipc_perm perm;
        if (id < 0)
                return -EPROTO;
        if (kind == KIND_SHM) {
                struct shmid_ds ds;
                if (shmctl(id, IPC_STAT, &ds) < 0)
                        return -errno;
                perm = ds.shm_perm;
        } else if (kind == KIND_SEM) {
                struct semid_ds ds;
                union semun arg = {.buf = &ds};
                if (semctl(id, 0, IPC_STAT, arg) < 0)
                        return -errno;
                perm = ds.sem_perm;
        } else {
                struct msqid_ds ds;
                if (msgctl(id, IPC_STAT, &ds) < 0)
                        return -errno;
                perm = ds.msg_perm;
        }
        return perm.cuid == ctl->cuid && perm.uid == ctl->uid ? 0 : -EPROTO;
}

/* The ids a control block names, read once. */
static void read_ids(const struct shbuf__control *c, int32_t *ret_data, int32_t *ret_sem, int32_t *ret_msg) {
        const volatile struct sysv_area *a = (const volatile struct sysv_area *) (const void *) c->header.backend_area;
        *ret_data = a->data_id;
        *ret_sem = a->sem_id;
        *ret_msg = a->msg_id;
}

static int sysv_attach_rest(struct shbuf__map *m) {
        struct sysv *s = S(m);
        int32_t data_id, sem_id, msg_id;
        int r;

        read_ids(m->control, &data_id, &sem_id, &msg_id);
        if ((r = check_data(data_id, m->data_size)) < 0 || (r = check_sem(sem_id, m->key)) < 0 ||
            (r = check_msg(msg_id, m->key)) < 0)
                return r == -EINVAL || r == -EIDRM ? -EPROTO : r;
        struct shmid_ds ctl;
        if (shmctl(s->ctl_id, IPC_STAT, &ctl) < 0)
                return gone(errno);
        if ((r = check_owner(KIND_SHM, data_id, &ctl.shm_perm)) < 0 ||
            (r = check_owner(KIND_SEM, sem_id, &ctl.shm_perm)) < 0 ||
            (r = check_owner(KIND_MSG, msg_id, &ctl.shm_perm)) < 0)
                return r == -EINVAL || r == -EIDRM ? -EPROTO : r;
        s->data_id = data_id;
        s->sem_id = sem_id;
        s->msg_id = msg_id;
        s->data = shmat(s->data_id, NULL, 0);
        if (s->data == (void *) -1) {
                s->data = NULL;
                return -errno;
        }
        m->data = s->data;
        return 0;
}

static int sysv_set_mode(struct shbuf__map *m, int mode) {
        struct sysv *s = S(m);
        struct shmid_ds shm;
        struct semid_ds sem;
        struct msqid_ds msg;
        union semun arg = {.buf = &sem};

        for (int i = 0; i < 2; i++) {
                int id = i == 0 ? s->ctl_id : s->data_id;
                if (shmctl(id, IPC_STAT, &shm) < 0)
                        return gone(errno) == -EPIPE ? -EIDRM : -errno;
                shm.shm_perm.mode = (shm.shm_perm.mode & ~0777u) | (unsigned) mode;
                if (shmctl(id, IPC_SET, &shm) < 0)
                        return -errno;
        }
        if (semctl(s->sem_id, 0, IPC_STAT, arg) < 0)
                return -errno;
        sem.sem_perm.mode = (unsigned short) mode;
        if (semctl(s->sem_id, 0, IPC_SET, arg) < 0)
                return -errno;
        if (msgctl(s->msg_id, IPC_STAT, &msg) < 0)
                return -errno;
        msg.msg_perm.mode = (unsigned short) mode;
        if (msgctl(s->msg_id, IPC_SET, &msg) < 0)
                return -errno;
        return shbuf__sysv_fifo_chmod(&s->fifos, mode);
}

static int sysv_get_mode(struct shbuf__map *m) {
        struct shmid_ds ds;
        if (shmctl(S(m)->ctl_id, IPC_STAT, &ds) < 0)
                return gone(errno);
        return (int) (ds.shm_perm.mode & 0777);
}

static int sysv_check_alive(struct shbuf__map *m) {
        struct sysv *s = S(m);
        struct shmid_ds ds;
        struct msqid_ds q;

        /* ipcrm -m only marks an attached segment for destruction. */
        if (shmctl(s->ctl_id, IPC_STAT, &ds) < 0 || (ds.shm_perm.mode & SHM_DEST))
                return -EPIPE;
        if (msgctl(s->msg_id, IPC_STAT, &q) < 0)
                return -EPIPE;
        return 0;
}

static int sysv_lock_sleep(struct shbuf__map *m, _Atomic uint32_t *word, uint32_t expected, int timeout_ms) {
        struct sembuf op = {.sem_num = 0, .sem_op = -1, .sem_flg = 0};
        struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long) (timeout_ms % 1000) * 1000000};
        /* The semaphore counts wake-ups, not the word: a stale one only
         * makes the waiter look again. */
        if (atomic_load(word) != expected)
                return 0;
        if (semtimedop(S(m)->sem_id, &op, 1, timeout_ms < 0 ? NULL : &ts) == 0)
                return 0;
        if (errno == EAGAIN)
                return -ETIMEDOUT;
        return errno == EINTR ? -EINTR : gone(errno);
}

static void sysv_lock_wake(struct shbuf__map *m, _Atomic uint32_t *word) {
        struct sembuf op = {.sem_num = 0, .sem_op = 1, .sem_flg = 0};
        (void) word;
        /* ERANGE: the count is at its maximum, sleepers will wake anyway. */
        (void) semop(S(m)->sem_id, &op, 1);
}

static int sysv_hold_presence(struct shbuf__map *m, int side) {
        /* Zero, then one, in one atomic step: of two processes racing for
         * a side, one gets it and the other EBUSY. */
        struct sembuf ops[2] = {
                {.sem_num = SEM_PRESENCE(side), .sem_op = 0, .sem_flg = IPC_NOWAIT},
                {.sem_num = SEM_PRESENCE(side), .sem_op = 1, .sem_flg = SEM_UNDO},
        };
        if (semop(S(m)->sem_id, ops, 2) == 0)
                return 0;
        return errno == EAGAIN ? -EBUSY : gone(errno);
}

static void sysv_drop_presence(struct shbuf__map *m, int side) {
        struct sembuf op = {.sem_num = SEM_PRESENCE(side), .sem_op = -1, .sem_flg = SEM_UNDO | IPC_NOWAIT};
        (void) semop(S(m)->sem_id, &op, 1);
}

static int sysv_presence(struct shbuf__map *m, int side) {
        struct sysv *s = S(m);
        int id = s->sem_id;
        if (id < 0) {
                /* Only the control block is attached (the tools): the set
                 * is found by key, not by the id in the block, which a peer
                 * can scribble. */
                id = semget(m->key, 0, 0);
                int r = check_sem(id, m->key);
                if (r < 0)
                        return r;
        }
        int v = semctl(id, SEM_PRESENCE(side), GETVAL);
        return v < 0 ? gone(errno) : v > 0;
}

SHBUF__CANCELLED_HERE static int sysv_await_absence(struct shbuf__map *m, int side) {
        /* Wait for zero: the kernel lowers the side's presence when its
         * process dies, and wakes us. semop() is no cancellation point, so
         * the thread takes cancellation at any instruction while it waits
         * (what the C library does around the waits that are): a wait for
         * zero takes nothing that an early end would leave taken. */
        struct sembuf op = {.sem_num = SEM_PRESENCE(side), .sem_op = 0, .sem_flg = 0};
        int type, r;
        pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
        while ((r = semop(S(m)->sem_id, &op, 1)) < 0 && errno == EINTR)
                ;
        int err = errno;
        pthread_setcanceltype(type, NULL);
        return r == 0 ? 0 : gone(err);
}

static int msg_send(struct shbuf__map *m, int side) {
        struct wake_msg msg = {.mtype = side + 1, .mtext = {0}};
        if (msgsnd(S(m)->msg_id, &msg, sizeof(msg.mtext), IPC_NOWAIT) == 0)
                return 0;
        return errno == EAGAIN ? -EAGAIN : gone(errno);
}

/*
 * The queue is full. A pair never makes it so (at most one wake-up per side
 * is in flight): a neighbour filled it. Drop one of its messages, any whose
 * type is no side's; the sides' own wake-ups met on the way go back to the
 * end of the queue. So a deadline, the peer's death and the other
 * direction's wake-ups get through whatever the neighbour does.
 */
static int make_room(struct shbuf__map *m) {
        for (int attempt = 0; attempt < 8; attempt++) {
                struct {
                        long mtype;
                        char mtext[64];
                } msg;
                if (msgrcv(S(m)->msg_id, &msg, sizeof(msg.mtext), 0, IPC_NOWAIT | MSG_NOERROR) < 0)
                        return errno == ENOMSG ? 0 : gone(errno);
                if (msg.mtype != 1 && msg.mtype != 2)
                        return 0;
                (void) msgsnd(S(m)->msg_id, &msg, 1, IPC_NOWAIT);
        }
        return -EAGAIN;
}

/* One wake-up to side through the queue, making room if a neighbour
 * filled it. */
static int queue_wakeup(struct shbuf__map *m, int side) {
        int r = msg_send(m, side);
        for (int attempt = 0; r == -EAGAIN && attempt < 4; attempt++) {
                int e = make_room(m);
                if (e < 0 && e != -EAGAIN)
                        return e;
                r = msg_send(m, side);
        }
        return r;
}

/*
 * Who may own the peer's FIFO: this process's user, root, the buffer's
 * owner or creator, or anybody if the buffer's mode lets other users in
 * (then the peer may be any of them). A FIFO of anybody else was planted
 * under the peer's name by somebody the buffer does not admit.
 */
static bool peer_fifo_owner_ok(uid_t uid, void *arg) {
        struct shbuf__map *m = arg;
        struct shmid_ds ds;
        if (uid == geteuid() || uid == 0)
                return true;
        if (shmctl(S(m)->ctl_id, IPC_STAT, &ds) < 0)
                return false;
        return uid == ds.shm_perm.uid || uid == ds.shm_perm.cuid || (ds.shm_perm.mode & 0066) != 0;
}

static int sysv_send(struct shbuf__map *m, int side, bool via_select) {
        if (via_select)
                return shbuf__sysv_fifo_kick(&S(m)->fifos, m->key, side,
                                             atomic_load(&area(m)->fifo_gen[side]), peer_fifo_owner_ok, m);
        int r = queue_wakeup(m, side);
        /* Still full: the neighbour keeps filling it, and the sleeper
         * wakes from one of ours, sooner or later. */
        return r == -EAGAIN ? 0 : r;
}

static int sysv_recv(struct shbuf__map *m, int side, int timeout_ms, int watch_fd) {
        struct wake_msg msg;
        (void) timeout_ms;
        (void) watch_fd;
        if (msgrcv(S(m)->msg_id, &msg, sizeof(msg.mtext), side + 1, MSG_NOERROR) >= 0)
                return 1;
        return errno == EINTR ? -EINTR : gone(errno);
}

static int sysv_send_self(struct shbuf__map *m, int side) {
        return queue_wakeup(m, side);
}

static int sysv_drain(struct shbuf__map *m, int side) {
        struct wake_msg msg;
        int n = 0;
        while (msgrcv(S(m)->msg_id, &msg, sizeof(msg.mtext), side + 1, IPC_NOWAIT | MSG_NOERROR) >= 0)
                n++;
        return errno == ENOMSG ? n : gone(errno);
}

static int sysv_open_select(struct shbuf__map *m, int side, int mode) {
        return shbuf__sysv_fifo_open(&S(m)->fifos, m->key, side, mode, &area(m)->fifo_gen[side]);
}

static int sysv_drain_select(struct shbuf__map *m, int side) {
        (void) side;
        return shbuf__sysv_fifo_drain(&S(m)->fifos);
}

static void sysv_close_select(struct shbuf__map *m, int side) {
        shbuf__sysv_fifo_close(&S(m)->fifos, m->key, side);
}

/* What peek_control() found in a control segment. */
struct peek {
        struct shmid_ds ds; /* as it was before the peek attached it */
        int kind;           /* enum shbuf__control_kind */
        int32_t ids[3];     /* data, semaphore, queue: -1 for none yet */
        uint64_t data_size;
        uint32_t creator;
};

/* Attach read-only to the segment with this id and see whether it is a
 * SysV shbuf control block under key, or the creation marker of one: the
 * ids it names and its data size. -EPROTO for anything else. */
static int peek_control(int shmid, key_t key, struct peek *ret) {
        if (shmctl(shmid, IPC_STAT, &ret->ds) < 0)
                return -errno;
        if (ret->ds.shm_segsz < SHBUF__CONTROL_SIZE)
                return -EPROTO;
        const struct shbuf__control *c = shmat(shmid, NULL, SHM_RDONLY);
        if (c == (void *) -1)
                return -errno;
        int r = shbuf__control_classify(c, ret->ds.shm_segsz, SHBUF_BACKEND_ID_sysv, (int32_t) key,
                                        &ret->creator, &ret->data_size);
        if (r >= 0) {
                ret->kind = r;
                read_ids(c, &ret->ids[0], &ret->ids[1], &ret->ids[2]);
                r = 0;
        }
        shmdt(c);
        return r;
}

/* What one segment of /proc/sysvipc/shm is, for the listing; 1 if fn
 * should hear of it. */
static int list_one(int shmid, key_t key, long nattch, pid_t cpid, struct shbuf__found *ret) {
        struct peek pk;
        int r = peek_control(shmid, key, &pk);
        if (r == -EINVAL || r == -EIDRM)
                return 0; /* gone meanwhile */
        snprintf(ret->object, sizeof(ret->object), "SysV segment %d", shmid);
        /* nattch as the kernel counted it before peek_control()'s own,
         * short attach. */
        ret->attached = nattch;
        if (r < 0) {
                ret->kind = SHBUF__FOUND_SKIPPED;
                ret->reason = r == -EPROTO   ? "not a shbuf control block"
                              : r == -EACCES ? "not readable by this user"
                                             : "cannot be attached";
        } else if (pk.kind == SHBUF__CONTROL_BUFFER) {
                ret->kind = SHBUF__FOUND_BUFFER;
        } else {
                /* The creator keeps its control segment attached. Its pid
                 * as the kernel shows it to us is right in any pid
                 * namespace; the one it wrote down, only in its own. */
                ret->kind = nattch > 0 ? SHBUF__FOUND_CREATING : SHBUF__FOUND_ABANDONED;
                ret->creator = cpid > 0 ? (uint32_t) cpid : pk.creator;
                ret->size = pk.data_size;
        }
        return 1;
}

static int sysv_list(int (*fn)(const struct shbuf__found *f, void *userdata), void *userdata) {
        FILE *f = fopen("/proc/sysvipc/shm", "re");
        char line[512];
        if (!f)
                return -errno;
        /* Columns: key shmid perms size cpid lpid nattch uid ... */
        if (!fgets(line, sizeof(line), f)) {
                fclose(f);
                return 0;
        }
        while (fgets(line, sizeof(line), f)) {
                long long key, shmid, size;
                unsigned long long perms;
                unsigned long uid;
                long long cpid, lpid, nattch;
                if (sscanf(line, "%lld %lld %llo %lld %lld %lld %lld %lu", &key, &shmid, &perms, &size, &cpid, &lpid,
                           &nattch, &uid) != 8)
                        continue;
                if (key == IPC_PRIVATE || size != SHBUF__CONTROL_SIZE)
                        continue;
                struct shbuf__found found = {
                        .key = (key_t) key, .uid = (uid_t) uid, .mode = (int) (perms & 0777)};
                if (!list_one((int) shmid, (key_t) key, (long) nattch, (pid_t) cpid, &found))
                        continue;
                int r = fn(&found, userdata);
                if (r != 0) {
                        fclose(f);
                        return r;
                }
        }
        fclose(f);
        return 0;
}

static int sysv_remove_key(key_t key) {
        struct peek pk;
        int id, r;
        if (key == IPC_PRIVATE)
                return -ENOENT;
        id = shmget(key, 0, 0);
        if (id < 0)
                return -errno;
        r = peek_control(id, key, &pk);
        if (r < 0)
                return r;
        /* A half-made buffer whose creator still has it attached is still
         * being made: removing it would make the creator finish a buffer
         * without objects, or remake them under a key nobody claims. */
        if (pk.kind == SHBUF__CONTROL_CREATING && pk.ds.shm_nattch > 0)
                return -EBUSY;
        /* Only what checks out as the buffer's own is removed. */
        const struct ipc_perm *owner = &pk.ds.shm_perm;
        if (check_data(pk.ids[0], pk.data_size) == 0 && check_owner(KIND_SHM, pk.ids[0], owner) == 0)
                shmctl(pk.ids[0], IPC_RMID, NULL);
        if (check_sem(pk.ids[1], key) == 0 && check_owner(KIND_SEM, pk.ids[1], owner) == 0)
                semctl(pk.ids[1], 0, IPC_RMID);
        if (check_msg(pk.ids[2], key) == 0 && check_owner(KIND_MSG, pk.ids[2], owner) == 0)
                msgctl(pk.ids[2], IPC_RMID, NULL);
        shbuf__sysv_fifo_remove_all(key);
        /* A provider woken by the eviction may have removed it already. */
        if (shmctl(id, IPC_RMID, NULL) < 0 && errno != EINVAL && errno != EIDRM)
                return -errno;
        return 0;
}

const struct shbuf__backend shbuf__backend_sysv = {
        .name = "sysv",
        .id = SHBUF_BACKEND_ID_sysv,
        .caps = 0,
        .create = sysv_create,
        .attach_control = sysv_attach_control,
        .attach_rest = sysv_attach_rest,
        .detach = sysv_detach,
        .set_mode = sysv_set_mode,
        .get_mode = sysv_get_mode,
        .check_alive = sysv_check_alive,
        .hold_presence = sysv_hold_presence,
        .drop_presence = sysv_drop_presence,
        .presence = sysv_presence,
        .await_absence = sysv_await_absence,
        .lock_sleep = sysv_lock_sleep,
        .lock_wake = sysv_lock_wake,
        .send = sysv_send,
        .recv = sysv_recv,
        .send_self = sysv_send_self,
        .drain = sysv_drain,
        .open_select = sysv_open_select,
        .drain_select = sysv_drain_select,
        .close_select = sysv_close_select,
        .list = sysv_list,
        .remove_key = sysv_remove_key,
};
