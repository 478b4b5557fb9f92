/*
 * The SysV backend: the original libshbuf design, object for object.
 *
 *   control block  shmget segment under the buffer's key
 *   data block     shmget segment, IPC_PRIVATE (ipcs shows key 0)
 *   lock           semget set of one semaphore under the buffer's key
 *   wake-ups       msgget queue under the buffer's key, message type 1 for
 *                  the provider and 2 for the client
 *
 * SysV keys are separate namespaces per object kind, so the semaphore set and
 * the queue can carry the buffer's key too: `ipcs` shows the whole buffer
 * under one key. The ids of the data segment, semaphore and queue are
 * recorded in the control block, and every one is checked against what the
 * kernel says about it (key, size) before it is used, because the control
 * block is writable by the other process.
 *
 * The semaphore is only slept on when the status lock is contended (see
 * core/lock.c), so it is not touched at all on the uncontended data path.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>

#include "../core/handle.h"

/* What this backend keeps in the control block's backend area. */
struct sysv_area {
        int32_t data_id;
        int32_t sem_id;
        int32_t msg_id;
        uint32_t reserved;
};
_Static_assert(sizeof(struct sysv_area) <= SHBUF__BACKEND_AREA, "backend area too small");

struct sysv {
        int ctl_id, data_id, sem_id, msg_id;
        void *ctl, *data;
};

struct wake_msg {
        long mtype;
        char mtext[1];
};

static struct sysv *S(shbuf *sb) {
        return sb->priv;
}

static struct sysv *sysv_new(void) {
        struct sysv *s = calloc(1, sizeof(*s));
        if (s)
                s->ctl_id = s->data_id = s->sem_id = s->msg_id = -1;
        return s;
}

/* The kernel reports a removed id as EIDRM or, once it is reused or gone, as
 * EINVAL: for us both mean the buffer was taken away. */
static int gone(int e) {
        return e == EIDRM || e == EINVAL ? -EPIPE : -e;
}

static void sysv_detach(shbuf *sb, bool remove) {
        struct sysv *s = S(sb);
        if (!s)
                return;
        if (s->ctl && s->ctl != (void *) -1)
                shmdt(s->ctl);
        if (s->data && s->data != (void *) -1)
                shmdt(s->data);
        if (remove) {
                if (s->data_id >= 0)
                        shmctl(s->data_id, IPC_RMID, NULL);
                if (s->sem_id >= 0)
                        semctl(s->sem_id, 0, IPC_RMID);
                if (s->msg_id >= 0)
                        msgctl(s->msg_id, IPC_RMID, NULL);
                if (s->ctl_id >= 0)
                        shmctl(s->ctl_id, IPC_RMID, NULL);
        }
        free(s);
        sb->priv = NULL;
        sb->control = NULL;
        sb->data = NULL;
}

static int sysv_create(shbuf *sb, key_t key, int mode) {
        struct sysv *s = sysv_new();
        int flags = IPC_CREAT | IPC_EXCL | (mode & 0777);
        int r;

        if (!s)
                return -ENOMEM;
        sb->priv = s;

        /* Objects are made one by one; on any failure everything made so far
         * is removed again by sysv_detach(sb, true). */
        s->ctl_id = shmget(key, SHBUF__CONTROL_SIZE, flags);
        if (s->ctl_id < 0)
                goto fail_errno;
        s->sem_id = semget(key, 1, flags);
        if (s->sem_id < 0)
                goto fail_errno;
        s->msg_id = msgget(key, flags);
        if (s->msg_id < 0)
                goto fail_errno;
        s->data_id = shmget(IPC_PRIVATE, sb->size, flags);
        if (s->data_id < 0)
                goto fail_errno;
        s->ctl = shmat(s->ctl_id, NULL, 0);
        if (s->ctl == (void *) -1)
                goto fail_errno;
        s->data = shmat(s->data_id, NULL, 0);
        if (s->data == (void *) -1)
                goto fail_errno;

        sb->key = key;
        sb->control = s->ctl;
        sb->control_size = SHBUF__CONTROL_SIZE;
        sb->data = s->data;
        struct sysv_area area = {.data_id = s->data_id, .sem_id = s->sem_id, .msg_id = s->msg_id};
        memcpy(sb->control->backend_area, &area, sizeof(area));
        return 0;

fail_errno:
        r = -errno;
        sysv_detach(sb, true);
        return r;
}

static int sysv_attach_control(shbuf *sb, key_t key) {
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
                free(s);
                return r;
        }
        sb->priv = s;
        sb->control = s->ctl;
        sb->control_size = ds.shm_segsz;
        return 0;
}

/* Is id a semaphore set / queue / segment the buffer made? */
static int check_sem(int id, key_t key) {
        struct semid_ds ds;
        union semun {
                int val;
                struct semid_ds *buf;
        } arg = {.buf = &ds};
        if (id < 0 || semctl(id, 0, IPC_STAT, arg) < 0)
                return id < 0 ? -EPROTO : -errno;
        return ds.sem_perm.__key == key && ds.sem_nsems == 1 ? 0 : -EPROTO;
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

static struct sysv_area read_area(const struct shbuf__control *c) {
        struct sysv_area a;
        memcpy(&a, c->backend_area, sizeof(a));
        return a;
}

static int sysv_attach_rest(shbuf *sb) {
        struct sysv *s = S(sb);
        struct sysv_area a = read_area(sb->control);
        int r;

        if ((r = check_data(a.data_id, sb->size)) < 0 || (r = check_sem(a.sem_id, sb->key)) < 0 ||
            (r = check_msg(a.msg_id, sb->key)) < 0)
                return r == -EINVAL || r == -EIDRM ? -EPROTO : r;
        s->data_id = a.data_id;
        s->sem_id = a.sem_id;
        s->msg_id = a.msg_id;
        s->data = shmat(s->data_id, NULL, 0);
        if (s->data == (void *) -1) {
                s->data = NULL;
                return -errno;
        }
        sb->data = s->data;
        return 0;
}

static int sysv_set_mode(shbuf *sb, int mode) {
        struct sysv *s = S(sb);
        struct shmid_ds shm;
        struct semid_ds sem;
        struct msqid_ds msg;
        union semun {
                int val;
                struct semid_ds *buf;
        } arg = {.buf = &sem};

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
        return 0;
}

static int sysv_get_mode(shbuf *sb) {
        struct shmid_ds ds;
        if (shmctl(S(sb)->ctl_id, IPC_STAT, &ds) < 0)
                return gone(errno);
        return (int) (ds.shm_perm.mode & 0777);
}

static int sysv_check_alive(shbuf *sb) {
        struct sysv *s = S(sb);
        struct shmid_ds ds;
        struct msqid_ds q;

        /* ipcrm -m only marks an attached segment for destruction. */
        if (shmctl(s->ctl_id, IPC_STAT, &ds) < 0 || (ds.shm_perm.mode & SHM_DEST))
                return -EPIPE;
        if (msgctl(s->msg_id, IPC_STAT, &q) < 0)
                return -EPIPE;
        return 0;
}

static int sysv_lock_sleep(shbuf *sb, int timeout_ms) {
        struct sembuf op = {.sem_num = 0, .sem_op = -1, .sem_flg = 0};
        struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long) (timeout_ms % 1000) * 1000000};
        if (semtimedop(S(sb)->sem_id, &op, 1, &ts) == 0)
                return 0;
        if (errno == EAGAIN)
                return -ETIMEDOUT;
        return errno == EINTR ? -EINTR : gone(errno);
}

static int sysv_lock_wake(shbuf *sb) {
        struct sembuf op = {.sem_num = 0, .sem_op = 1, .sem_flg = 0};
        /* ERANGE: the count is at its maximum, sleepers will wake anyway. */
        if (semop(S(sb)->sem_id, &op, 1) < 0 && errno != ERANGE)
                return gone(errno);
        return 0;
}

static int sysv_send(shbuf *sb, int side) {
        struct wake_msg m = {.mtype = side + 1, .mtext = {0}};
        if (msgsnd(S(sb)->msg_id, &m, sizeof(m.mtext), IPC_NOWAIT) == 0)
                return 0;
        /* A full queue holds wake-ups already: coalescing, not an error. */
        return errno == EAGAIN ? 0 : gone(errno);
}

static int sysv_recv(shbuf *sb) {
        struct wake_msg m;
        if (msgrcv(S(sb)->msg_id, &m, sizeof(m.mtext), sb->side + 1, 0) >= 0)
                return 0;
        return errno == EINTR ? -EINTR : gone(errno);
}

/* Attach read-only to the segment with this id and check it is a SysV shbuf
 * control block; fills *ret_area. */
static int peek_control(int shmid, key_t key, struct sysv_area *ret_area, uint64_t *ret_data_size) {
        struct shmid_ds ds;
        int r = -EPROTO;
        if (shmctl(shmid, IPC_STAT, &ds) < 0)
                return -errno;
        if (ds.shm_segsz < SHBUF__CONTROL_SIZE)
                return -EPROTO;
        const struct shbuf__control *c = shmat(shmid, NULL, SHM_RDONLY);
        if (c == (void *) -1)
                return -errno;
        if (shbuf__control_validate(c, ds.shm_segsz, SHBUF__BACKEND_SYSV) == 0 && c->key == (int32_t) key) {
                *ret_area = read_area(c);
                *ret_data_size = c->data_size;
                r = 0;
        }
        shmdt(c);
        return r;
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
                struct sysv_area a;
                uint64_t data_size;
                if (sscanf(line, "%lld %lld %llo %lld %lld %lld %lld %lu", &key, &shmid, &perms, &size,
                           &cpid, &lpid, &nattch, &uid) != 8)
                        continue;
                if (key == IPC_PRIVATE || size != SHBUF__CONTROL_SIZE)
                        continue;
                if (peek_control((int) shmid, (key_t) key, &a, &data_size) < 0)
                        continue;
                /* nattch as the kernel counted it before peek_control()'s
                 * own, short attach. */
                struct shbuf__found found = {.key = (key_t) key,
                                             .uid = (uid_t) uid,
                                             .mode = (int) (perms & 0777),
                                             .attached = (long) nattch};
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
        struct sysv_area a;
        uint64_t data_size;
        int id, r;
        if (key == IPC_PRIVATE)
                return -ENOENT;
        id = shmget(key, 0, 0);
        if (id < 0)
                return -errno;
        r = peek_control(id, key, &a, &data_size);
        if (r < 0)
                return r;
        /* Only what checks out as the buffer's own is removed. */
        if (check_data(a.data_id, data_size) == 0)
                shmctl(a.data_id, IPC_RMID, NULL);
        if (check_sem(a.sem_id, key) == 0)
                semctl(a.sem_id, 0, IPC_RMID);
        if (check_msg(a.msg_id, key) == 0)
                msgctl(a.msg_id, IPC_RMID, NULL);
        /* A provider woken by the eviction may have removed it already. */
        if (shmctl(id, IPC_RMID, NULL) < 0 && errno != EINVAL && errno != EIDRM)
                return -errno;
        return 0;
}

const struct shbuf__backend shbuf__backend_sysv = {
        .name = "sysv",
        .id = SHBUF__BACKEND_SYSV,
        .caps = 0,
        .create = sysv_create,
        .attach_control = sysv_attach_control,
        .attach_rest = sysv_attach_rest,
        .detach = sysv_detach,
        .set_mode = sysv_set_mode,
        .get_mode = sysv_get_mode,
        .check_alive = sysv_check_alive,
        .lock_sleep = sysv_lock_sleep,
        .lock_wake = sysv_lock_wake,
        .send = sysv_send,
        .recv = sysv_recv,
        .list = sysv_list,
        .remove_key = sysv_remove_key,
};
