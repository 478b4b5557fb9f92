/*
 * Hostile neighbours and unlucky moments: what another local user can plant
 * under a buffer's names, and what a creator or a provider leaves when it is
 * cut short.
 *
 *   - a forged SysV control block (made by uid 65534) that names another
 *     user's data segment, semaphore set or queue: nobody attaches to them,
 *     and neither shbuf_remove() nor shbuf_gc() removes them;
 *   - a FIFO planted as /dev/shm/shbuf-KKKKKKKK-ctl: listing, inspecting,
 *     removing, collecting, opening and creating return at once, and the
 *     FIFO is reported, never touched;
 *   - freeing a POSIX buffer: the control object, which claims the key, is
 *     unlinked last; a provider whose buffer was removed under it leaves a
 *     new buffer under the same key alone; a create that finds somebody
 *     else's leftover refuses and leaves it alone;
 *   - a creator stopped, then killed, half-way through a create: the buffer
 *     is listed as being created (gc and rm leave it), then as
 *     half-created, removed by gc or rm, and the key is free again.
 *
 * The creator is stopped at a chosen call with this program's own
 * definitions of the library's system calls: an executable's symbols come
 * before the C library's, so libshbuf's calls land here first, and pass on
 * to the real ones unless a test armed a stop.
 *
 * Registered once per compiled backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "check-run.h"
#include "test-util.h"

#define RING 4096
#define BIG_RING (1024 * 1024) /* the size of the creates that are stopped */
#define NOBODY 65534

static bool is_sysv(void) {
        return strcmp(t_backend(), "sysv") == 0;
}

/* ---- the library's system calls, interposed ------------------------------ */

/* Where a creator stops, in the order the backends make their objects. */
enum stop {
        STOP_NONE,
        STOP_POSIX_DATA,  /* reserving the POSIX data object's memory (the long part) */
        STOP_POSIX_QUEUE, /* making the first POSIX queue */
        STOP_SYSV_QUEUE,  /* making the SysV queue (control and semaphore made) */
        STOP_SYSV_DATA,   /* making the SysV data segment (all but it made) */
};

static enum stop stop_at;
static int stop_fd = -1; /* says 'p' there, then waits to be killed */

static void maybe_stop(enum stop here) {
        if (stop_at != here)
                return;
        t_put(stop_fd, 'p');
        for (;;)
                pause();
}

/* The names shm_unlink() and mq_unlink() were called with, while recording. */
static bool recording;
static char unlinked[16][64];
static int nunlinked;

static void *real(const char *name) {
        void *f = dlsym(RTLD_NEXT, name);
        if (!f) {
                fprintf(stderr, "check_neighbours: no %s after this program\n", name);
                abort();
        }
        return f;
}

static void record_unlink(const char *name) {
        if (recording && nunlinked < 16)
                snprintf(unlinked[nunlinked++], sizeof(unlinked[0]), "%s", name);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
        static int (*next)(int, off_t, off_t);
        if (!next)
                *(void **) &next = real("posix_fallocate"); /* as dlsym(3) shows */
        if (len == BIG_RING)
                maybe_stop(STOP_POSIX_DATA);
        return next(fd, offset, len);
}

mqd_t mq_open(const char *name, int oflag, ...) {
        static mqd_t (*next)(const char *, int, ...);
        if (!next)
                *(void **) &next = real("mq_open"); /* as dlsym(3) shows */
        if (!(oflag & O_CREAT))
                return next(name, oflag);
        va_list ap;
        va_start(ap, oflag);
        mode_t mode = (mode_t) va_arg(ap, int);
        struct mq_attr *attr = va_arg(ap, struct mq_attr *);
        va_end(ap);
        maybe_stop(STOP_POSIX_QUEUE);
        return next(name, oflag, mode, attr);
}

int msgget(key_t key, int msgflg) {
        static int (*next)(key_t, int);
        if (!next)
                *(void **) &next = real("msgget"); /* as dlsym(3) shows */
        if (msgflg & IPC_CREAT)
                maybe_stop(STOP_SYSV_QUEUE);
        return next(key, msgflg);
}

int shmget(key_t key, size_t size, int shmflg) {
        static int (*next)(key_t, size_t, int);
        if (!next)
                *(void **) &next = real("shmget"); /* as dlsym(3) shows */
        if (key == IPC_PRIVATE && (shmflg & IPC_CREAT))
                maybe_stop(STOP_SYSV_DATA);
        return next(key, size, shmflg);
}

int shm_unlink(const char *name) {
        static int (*next)(const char *);
        if (!next)
                *(void **) &next = real("shm_unlink"); /* as dlsym(3) shows */
        record_unlink(name);
        return next(name);
}

int mq_unlink(const char *name) {
        static int (*next)(const char *);
        if (!next)
                *(void **) &next = real("mq_unlink"); /* as dlsym(3) shows */
        record_unlink(name);
        return next(name);
}

/* ---- helpers ------------------------------------------------------------- */

/* What shbuf_list_other() says is under key (0 if nothing); *ret if found. */
static int other_state(key_t key, shbuf_other *ret) {
        shbuf_other *all = NULL;
        size_t n = 0;
        int state = 0;
        ck_assert_int_eq(shbuf_list_other(&all, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (all[i].key == key && strcmp(all[i].backend, t_backend()) == 0) {
                        state = all[i].state;
                        if (ret)
                                *ret = all[i];
                }
        free(all);
        return state;
}

/* The forgery tests: SysV, and root to start a process of another user. */
static bool forging_possible(void) {
        if (!is_sysv())
                return false;
        if (geteuid() != 0)
                fprintf(stderr, "forged: not root, cannot start a process of another user; skipped\n");
        return geteuid() == 0;
}

static bool drop_to_nobody(void) {
        return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0;
}

/* The ids a SysV control block names, where src/backend-sysv/sysv.c keeps
 * them: at the start of the header's backend area. */
struct sysv_ids {
        int32_t data_id, sem_id, msg_id;
};

static volatile struct sysv_ids *ids_in(volatile void *control) {
        return (volatile struct sysv_ids *) ((volatile char *) control +
                                             offsetof(struct shbuf__control, header.backend_area));
}

static bool shm_exists(int id) {
        struct shmid_ds ds;
        return shmctl(id, IPC_STAT, &ds) == 0 && !(ds.shm_perm.mode & SHM_DEST);
}

static bool sem_exists(int id) {
        struct semid_ds ds;
        union {
                int val;
                struct semid_ds *buf;
        } arg = {.buf = &ds};
        return semctl(id, 0, IPC_STAT, arg) == 0;
}

static bool msg_exists(int id) {
        struct msqid_ds ds;
        return msgctl(id, IPC_STAT, &ds) == 0;
}

/* ---- a forged SysV control block ----------------------------------------- */

/*
 * As uid 65534: make a buffer under key, then make its control block name
 * the data segment id given in arg instead of its own, and leave as a
 * crashed provider would (the buffer stays, with a dead provider). Answers
 * with its own data segment's id, for the test to remove.
 */
static int p_forge_data(key_t key, int in, int out, void *arg) {
        (void) in;
        if (!drop_to_nobody())
                return 100;
        shbuf *sb = shbuf_create_with(key, RING, &(shbuf_options){.backend = "sysv"});
        if (!sb)
                return errno;
        volatile void *c = t_map_control_in("sysv", key);
        if (!c)
                return 101;
        int32_t own = ids_in(c)->data_id;
        ids_in(c)->data_id = (int32_t) (intptr_t) arg;
        if (t_write_all(out, &own, sizeof(own)) < 0)
                return 102;
        _exit(0); /* no shbuf_free(): a crashed provider */
}

/* A root segment of RING bytes, filled with a pattern: the victim. */
static int victim_segment(void) {
        int id = shmget(IPC_PRIVATE, RING, IPC_CREAT | 0600);
        ck_assert_int_ge(id, 0);
        unsigned char *p = shmat(id, NULL, 0);
        ck_assert_ptr_ne(p, (void *) -1);
        memset(p, 0x5a, RING);
        shmdt(p);
        return id;
}

static bool victim_intact(int id) {
        if (!shm_exists(id))
                return false;
        unsigned char *p = shmat(id, NULL, SHM_RDONLY);
        if (p == (void *) -1)
                return false;
        bool same = true;
        for (size_t i = 0; i < RING; i++)
                same = same && p[i] == 0x5a;
        shmdt(p);
        return same;
}

/*
 * uid 65534 forges a control block naming root's data segment. A client
 * must not attach to it (it would write into root's memory), and gc or rm
 * (by _i) must remove the forged block and its maker's own objects but
 * never root's segment.
 */
START_TEST(test_forged_data_segment) {
        if (!forging_possible())
                return;
        const key_t key = t_key(10);
        int victim = victim_segment();
        struct t_child c = t_fork(p_forge_data, key, (void *) (intptr_t) victim);
        int32_t forger_data = -1;
        int got = t_get_n(c.from, &forger_data, sizeof(forger_data), 10000);
        int code = t_finish(&c, 10000);
        /* Its own data segment, which the forged block no longer names. */
        if (forger_data >= 0)
                shmctl(forger_data, IPC_RMID, NULL);
        if (got < 0 || code != 0) {
                shmctl(victim, IPC_RMID, NULL);
                ck_abort_msg("the forger failed (%d)", code);
        }

        shbuf *sb = shbuf_open(key);
        int open_errno = errno;
        bool wrote = sb && shbuf_write(sb, (const unsigned char *) "evil", 4) == 4;
        shbuf_free(sb);
        bool intact_after_open = victim_intact(victim);
        int removed = _i == 0 ? t_gc_removes(key) : shbuf_remove(key, NULL) == 0;
        bool intact = victim_intact(victim);
        char desc[512];
        int left = t_objects(key, 0, desc, sizeof(desc));
        shmctl(victim, IPC_RMID, NULL);

        ck_assert_msg(sb == NULL, "a client attached to a block naming another user's segment%s",
                      wrote ? ", and wrote into it" : "");
        ck_assert_int_eq(open_errno, EPROTO);
        ck_assert(intact_after_open);
        ck_assert_msg(intact, "%s removed (or changed) another user's segment", _i == 0 ? "gc" : "rm");
        ck_assert_msg(removed == 1, "%s did not remove the forged block (%d)", _i == 0 ? "gc" : "rm",
                      removed);
        ck_assert_msg(left == 0, "left behind: %s", desc);
}
END_TEST

/*
 * As uid 65534: make a buffer under the key of arg's pair, copy its control
 * block into a segment of its own under key, naming the semaphore set and
 * queue root made under key; then wait for 'q' and free the buffer.
 */
struct forge_ipc {
        key_t own_key;
        int sem_id, msg_id;
};

static int p_forge_ipc(key_t key, int in, int out, void *arg) {
        const struct forge_ipc *f = arg;
        if (!drop_to_nobody())
                return 100;
        shbuf *sb = shbuf_create_with(f->own_key, RING, &(shbuf_options){.backend = "sysv"});
        if (!sb)
                return errno;
        volatile void *real_c = t_map_control_in("sysv", f->own_key);
        int id = shmget(key, SHBUF__CONTROL_SIZE, IPC_CREAT | IPC_EXCL | 0600);
        if (!real_c || id < 0)
                return 101;
        void *forged = shmat(id, NULL, 0);
        if (forged == (void *) -1)
                return 102;
        memcpy(forged, (const void *) real_c, SHBUF__CONTROL_SIZE);
        ((struct shbuf__control *) forged)->header.key = (int32_t) key;
        ids_in(forged)->sem_id = f->sem_id;
        ids_in(forged)->msg_id = f->msg_id;
        shmdt(forged);
        t_put(out, 'r');
        if (t_get(in, 30000) != 'q')
                return 103;
        shbuf_free(sb);
        return 0;
}

/*
 * uid 65534 forges a control block under a key whose semaphore set and
 * queue are root's (its data segment is its own, of the right size). A
 * client must not take them for the buffer's, and rm must not remove them.
 */
START_TEST(test_forged_sem_and_queue) {
        if (!forging_possible())
                return;
        const key_t key = t_key(11);
        /* The victim's set has as many semaphores as a buffer's, whatever
         * that number is: only the owner may tell them apart. */
        shbuf *probe = t_create(t_key(12), RING);
        ck_assert_ptr_nonnull(probe);
        volatile void *pc = t_map_control_in("sysv", t_key(12));
        ck_assert_ptr_nonnull((void *) pc);
        struct semid_ds sds;
        union {
                int val;
                struct semid_ds *buf;
        } arg = {.buf = &sds};
        ck_assert_int_eq(semctl(ids_in(pc)->sem_id, 0, IPC_STAT, arg), 0);
        t_unmap_control(pc);
        shbuf_free(probe);

        struct forge_ipc f = {.own_key = t_key(13)};
        f.sem_id = semget(key, (int) sds.sem_nsems, IPC_CREAT | IPC_EXCL | 0600);
        f.msg_id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
        ck_assert_int_ge(f.sem_id, 0);
        ck_assert_int_ge(f.msg_id, 0);
        struct t_child c = t_fork(p_forge_ipc, key, &f);
        bool ready = t_get(c.from, 10000) == 'r';

        shbuf *sb = ready ? shbuf_open(key) : NULL;
        int open_errno = errno;
        shbuf_free(sb);
        int removed = ready ? shbuf_remove(key, NULL) : -1;
        bool sem_kept = sem_exists(f.sem_id), msg_kept = msg_exists(f.msg_id);
        t_put(c.to, 'q');
        int code = t_finish(&c, 10000);
        semctl(f.sem_id, 0, IPC_RMID);
        msgctl(f.msg_id, IPC_RMID, NULL);

        ck_assert_msg(ready, "the forger failed (%d)", code);
        ck_assert_msg(sb == NULL, "a client attached to a block naming another user's semaphore and queue");
        ck_assert_int_eq(open_errno, EPROTO);
        ck_assert_int_eq(removed, 0);
        ck_assert_msg(sem_kept && msg_kept, "rm removed another user's %s",
                      sem_kept ? "queue" : "semaphore set");
        ck_assert_int_eq(code, 0);
}
END_TEST

/* ---- a FIFO planted under a buffer's name -------------------------------- */

/* Everything that looks under key, in a child that may hang (and is then
 * killed): the exit code says which call misbehaved. */
static int p_look_at_fifo(key_t key, int in, int out, void *arg) {
        shbuf_info *all = NULL, info;
        shbuf_other *others = NULL;
        size_t n = 0;
        (void) in;
        (void) out;
        (void) arg;
        if (shbuf_list(&all, &n) < 0)
                return 10;
        for (size_t i = 0; i < n; i++)
                if (all[i].key == key)
                        return 11;
        free(all);
        if (shbuf_list_other(&others, &n) < 0)
                return 12;
        bool reported = false;
        for (size_t i = 0; i < n; i++)
                reported = reported || (others[i].key == key && others[i].state == SHBUF_OTHER_SKIPPED &&
                                        strstr(others[i].reason, "FIFO"));
        free(others);
        if (!reported)
                return 13;
        if (shbuf_inspect(key, NULL, &info) == 0 || errno != EPROTO)
                return 14;
        if (shbuf_remove(key, NULL) == 0 || errno != EPROTO)
                return 15;
        if (shbuf_gc(1, &all, &n) < 0)
                return 16;
        free(all);
        if (shbuf_open_with(key, &(shbuf_options){.backend = "posix"}) || errno != EPROTO)
                return 17;
        if (shbuf_create_with(key, RING, &(shbuf_options){.backend = "posix"}) || errno != EEXIST)
                return 18;
        return 0;
}

START_TEST(test_planted_fifo) {
        if (!t_have_backend("posix"))
                return;
        const key_t key = t_key(20);
        char path[64];
        char name[64];
        ck_assert_ptr_nonnull(t_desc_of("posix")->object_name(key, T_CONTROL, -1, name, sizeof(name)));
        snprintf(path, sizeof(path), "%s%s", t_desc_of("posix")->files, name);
        ck_assert_int_eq(mkfifo(path, 0600), 0);
        struct t_child c = t_fork(p_look_at_fifo, key, NULL);
        int code = t_finish(&c, 10000);
        struct stat st;
        bool still_fifo = lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
        /* Let whoever still waits for a writer go (another program's
         * listing, perhaps), then remove it. */
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0)
                close(fd);
        unlink(path);
        ck_assert_msg(code == 0, "a call looking at a FIFO under the key %s",
                      code < 0 ? "hung (or crashed)" : "misbehaved");
        ck_assert_msg(still_fifo, "the planted FIFO was touched");
}
END_TEST

/* ---- freeing and creating under one key (POSIX) -------------------------- */

/* free unlinks the control object, which claims the key, last. */
START_TEST(test_free_unlinks_control_last) {
        if (is_sysv())
                return;
        shbuf *sb = t_create(t_key(30), RING);
        ck_assert_ptr_nonnull(sb);
        nunlinked = 0;
        recording = true;
        shbuf_free(sb);
        recording = false;
        ck_assert_int_eq(nunlinked, 4);
        for (int i = 0; i < nunlinked - 1; i++)
                ck_assert_msg(strstr(unlinked[i], "-ctl") == NULL, "%s unlinked before %s", unlinked[i],
                              unlinked[nunlinked - 1]);
        ck_assert_msg(strstr(unlinked[nunlinked - 1], "-ctl") != NULL, "the last one unlinked: %s",
                      unlinked[nunlinked - 1]);

        /* rm and gc likewise. */
        sb = t_create(t_key(30), RING);
        ck_assert_ptr_nonnull(sb);
        nunlinked = 0;
        recording = true;
        int r = shbuf_remove(t_key(30), NULL);
        recording = false;
        shbuf_free(sb);
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(nunlinked, 4);
        ck_assert_msg(strstr(unlinked[nunlinked - 1], "-ctl") != NULL, "rm unlinked %s last",
                      unlinked[nunlinked - 1]);
}
END_TEST

/*
 * A provider whose buffer was removed (shbuf rm, gc) while a new buffer was
 * made under the same key: its shbuf_free() must leave the new buffer's
 * objects alone.
 */
START_TEST(test_free_spares_new_buffer) {
        const key_t key = t_key(31);
        shbuf *old = t_create(key, RING);
        ck_assert_ptr_nonnull(old);
        ck_assert_int_eq(shbuf_remove(key, NULL), 0);
        shbuf *now = t_create(key, RING);
        ck_assert_msg(now != NULL, "create after rm: %s", strerror(errno));
        shbuf_free(old);
        char desc[512];
        int n = t_objects(key, getpid(), desc, sizeof(desc));
        shbuf *client = shbuf_open(key);
        int e = errno;
        shbuf_free(client);
        shbuf_free(now);
        ck_assert_msg(n == 4, "the new buffer has %d objects after the old one was freed: %s", n, desc);
        ck_assert_msg(client != NULL, "the new buffer cannot be opened: %s", strerror(e));
}
END_TEST

/*
 * A leftover under one of a key's other names (a data object, a queue),
 * somebody else's: a create under that key is refused, and leaves it.
 */
START_TEST(test_create_refuses_leftover) {
        if (is_sysv())
                return;
        const key_t key = t_key(32 + _i);
        char name[64];
        bool queue = _i == 1;
        ck_assert_ptr_nonnull(t_desc()->object_name(key, queue ? T_WAKE : T_DATA, 0, name, sizeof(name)));
        int fd = -1;
        if (queue) {
                struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 1};
                mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
                ck_assert_int_ne((int) q, -1);
                mq_close(q);
        } else {
                fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                ck_assert_int_ge(fd, 0);
                close(fd);
        }
        shbuf *sb = t_create(key, RING);
        int e = errno;
        shbuf_free(sb);
        bool kept;
        if (queue) {
                mqd_t q = mq_open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                kept = q != (mqd_t) -1;
                if (kept)
                        mq_close(q);
                mq_unlink(name);
        } else {
                fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
                kept = fd >= 0;
                if (kept)
                        close(fd);
        }
        int state = queue ? 0 : other_state(key, NULL);
        if (!queue)
                shm_unlink(name);
        char desc[512];
        int left = t_objects(key, 0, desc, sizeof(desc));

        ck_assert_msg(sb == NULL, "a buffer was made that shares %s", name);
        ck_assert_int_eq(e, EEXIST);
        ck_assert_msg(kept, "the failed create removed somebody else's %s", name);
        ck_assert_msg(queue || state == SHBUF_OTHER_SKIPPED,
                      "the leftover data object is not listed as skipped");
        ck_assert_msg(left == 0, "left behind: %s", desc);
}
END_TEST

/* ---- a creator cut short ------------------------------------------------- */

/* Stop points by backend, in the order the objects are made. */
static const enum stop stops[][2] = {
        {STOP_POSIX_DATA, STOP_POSIX_QUEUE},
        {STOP_SYSV_QUEUE, STOP_SYSV_DATA},
};

/* Create under key, stopping at the point arg names: never returns. */
static int p_creator(key_t key, int in, int out, void *arg) {
        (void) in;
        stop_fd = out;
        stop_at = (enum stop)(intptr_t) arg;
        shbuf *sb = shbuf_create(key, BIG_RING);
        shbuf_free(sb);
        return 100; /* the stop was not reached */
}

/*
 * A creator stopped half-way is still at work: the buffer is listed as
 * being created, gc leaves it, rm refuses it, its key is taken. Once the
 * creator is killed, the buffer is listed as half-created, and gc (even
 * _i) or rm (odd _i) removes every object it made; the key is free again.
 */
START_TEST(test_creator_cut_short) {
        const enum stop where = stops[is_sysv()][_i / 2];
        const bool by_rm = _i % 2;
        const key_t key = t_key(40 + _i);
        struct t_child c = t_fork(p_creator, key, (void *) (intptr_t) where);
        const pid_t creator = c.pid;
        ck_assert_int_gt(creator, 0);
        if (t_get(c.from, 10000) != 'p') {
                int code = t_finish(&c, 5000);
                ck_abort_msg("the creator did not reach its stop (%d)", code);
        }

        shbuf_other o;
        ck_assert_int_eq(other_state(key, &o), SHBUF_OTHER_CREATING);
        ck_assert_int_eq(o.creator_pid, creator);
        ck_assert_uint_eq(o.size, BIG_RING);
        ck_assert_int_eq(t_lists(key), 0);
        ck_assert_msg(t_gc_removes(key) == 0, "gc removed a buffer its creator is still making");
        errno = 0;
        ck_assert_int_eq(shbuf_remove(key, NULL), -1);
        ck_assert_int_eq(errno, EBUSY);
        shbuf *sb = t_create(key, RING);
        shbuf_free(sb);
        ck_assert_msg(sb == NULL, "a second buffer was made under a key being created");

        kill(creator, SIGKILL);
        t_finish(&c, 5000);
        ck_assert_int_eq(other_state(key, &o), SHBUF_OTHER_HALF_CREATED);
        ck_assert_int_eq(o.creator_pid, creator);
        shbuf_info info;
        errno = 0;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), -1);
        ck_assert_int_eq(errno, EPROTO);
        if (by_rm)
                ck_assert_int_eq(shbuf_remove(key, NULL), 0);
        else
                ck_assert_msg(t_gc_removes(key) == 1, "gc did not remove the half-created buffer");
        char desc[512];
        ck_assert_msg(t_objects(key, creator, desc, sizeof(desc)) == 0, "left behind: %s", desc);
        ck_assert_int_eq(other_state(key, NULL), 0);

        sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "the key is still blocked: %s", strerror(errno));
        shbuf_free(sb);
}
END_TEST

int main(void) {
        Suite *s = suite_create("neighbours");
        TCase *tc = t_case(s, "neighbours", 60);

        t_init();
        tcase_add_loop_test(tc, test_forged_data_segment, 0, 2);
        tcase_add_test(tc, test_forged_sem_and_queue);
        tcase_add_test(tc, test_planted_fifo);
        tcase_add_test(tc, test_free_unlinks_control_last);
        tcase_add_test(tc, test_free_spares_new_buffer);
        tcase_add_loop_test(tc, test_create_refuses_leftover, 0, 2);
        tcase_add_loop_test(tc, test_creator_cut_short, 0, 4);

        return t_run(s, "check_neighbours");
}
