/*
 * The SysV backend as the system's own tools see it: ipcs(1) shows a buffer
 * under its key, ipcrm(1) under a running pair gives errors, not crashes or
 * hangs, and a killed provider wakes its client with EPIPE within a second;
 * and SysV objects of other programs (or of ipcmk(1)) under a buffer's key
 * are never taken for a buffer, modified or removed.
 * Runs only where the SysV backend is compiled in, with SHBUF_BACKEND=sysv.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "client.h"
#include "test-util.h"

extern char **environ;

#define MAX_ROWS 4096

struct row {
        unsigned key;
        int id;
        unsigned long long bytes; /* segments: size; semaphore sets: nsems */
};

/* Run `ipcs -m|-s|-q` and collect key, id and size (or nsems) per line. */
static int ipcs(const char *kind, struct row *rows) {
        char cmd[64], line[512];
        int n = 0;
        snprintf(cmd, sizeof(cmd), "LC_ALL=C ipcs %s", kind);
        FILE *f = popen(cmd, "r");
        ck_assert_msg(f != NULL, "popen %s: %s", cmd, strerror(errno));
        while (fgets(line, sizeof(line), f) && n < MAX_ROWS) {
                unsigned key;
                int id;
                char owner[64], perms[16];
                unsigned long long bytes = 0;
                /* Header lines do not start with 0x<hex> <number>. */
                int got = sscanf(line, "0x%x %d %63s %15s %llu", &key, &id, owner, perms, &bytes);
                if (got >= 2)
                        rows[n++] = (struct row){.key = key, .id = id, .bytes = bytes};
        }
        ck_assert_int_eq(pclose(f), 0);
        return n;
}

static const struct row *find_key(const struct row *rows, int n, key_t key, int *count) {
        const struct row *hit = NULL;
        *count = 0;
        for (int i = 0; i < n; i++) {
                if (rows[i].key == (unsigned) key) {
                        hit = &rows[i];
                        (*count)++;
                }
        }
        return hit;
}

static bool has_id(const struct row *rows, int n, int id) {
        for (int i = 0; i < n; i++)
                if (rows[i].id == id)
                        return true;
        return false;
}

/* The IPC_PRIVATE segments this process created with that size, as the
 * SysV description finds them. */
static int data_segments(unsigned long size, int *ret_id) {
        struct t_object o[4];
        int n = t_collect_objects(0, getpid(), size, o, 4);
        for (int i = 0; i < n && i < 4; i++)
                *ret_id = (int) o[i].id;
        return n;
}

struct objects {
        int ctl, data, sem, msg;
};

/* Everything ipcs shows of the buffer under key, checked to be complete. */
static struct objects find_objects(key_t key, unsigned long size) {
        static struct row rows[MAX_ROWS];
        struct objects o;
        int n, count;

        n = ipcs("-m", rows);
        const struct row *r = find_key(rows, n, key, &count);
        ck_assert_msg(count == 1, "ipcs -m shows %d segments under 0x%08x", count, (unsigned) key);
        o.ctl = r->id;
        ck_assert_msg(data_segments(size, &o.data) == 1, "no single data segment of %lu bytes", size);
        ck_assert_msg(has_id(rows, n, o.data), "ipcs -m does not show the data segment %d", o.data);
        for (int i = 0; i < n; i++)
                if (rows[i].id == o.data) {
                        ck_assert_uint_eq(rows[i].key, 0);
                        ck_assert_uint_eq(rows[i].bytes, size);
                }

        n = ipcs("-s", rows);
        r = find_key(rows, n, key, &count);
        ck_assert_msg(count == 1, "ipcs -s shows %d semaphore sets under 0x%08x", count, (unsigned) key);
        o.sem = r->id;
        ck_assert_uint_eq(r->bytes, 3); /* nsems: the lock, a presence per side */

        n = ipcs("-q", rows);
        r = find_key(rows, n, key, &count);
        ck_assert_msg(count == 1, "ipcs -q shows %d queues under 0x%08x", count, (unsigned) key);
        o.msg = r->id;
        return o;
}

static void assert_gone(key_t key, const struct objects *o) {
        static struct row rows[MAX_ROWS];
        int n, count;

        n = ipcs("-m", rows);
        find_key(rows, n, key, &count);
        ck_assert_int_eq(count, 0);
        ck_assert_msg(!has_id(rows, n, o->ctl), "control segment %d is still there", o->ctl);
        ck_assert_msg(!has_id(rows, n, o->data), "data segment %d is still there", o->data);
        n = ipcs("-s", rows);
        find_key(rows, n, key, &count);
        ck_assert_int_eq(count, 0);
        ck_assert(!has_id(rows, n, o->sem));
        n = ipcs("-q", rows);
        find_key(rows, n, key, &count);
        ck_assert_int_eq(count, 0);
        ck_assert(!has_id(rows, n, o->msg));
}

static void check_visible(shbuf *sb, key_t key, unsigned long size) {
        ck_assert_int_eq(shbuf_get_key(sb), key);
        struct objects o = find_objects(key, size);
        shbuf_free(sb);
        assert_gone(key, &o);
}

START_TEST(test_ipcs_shows_buffer) {
        const unsigned long size = 12347;
        shbuf *sb = t_create(t_key(0), size);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        check_visible(sb, t_key(0), size);
}
END_TEST

START_TEST(test_ipcs_shows_chosen_key) {
        const unsigned long size = 12349;
        shbuf *sb = t_create(0, size);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        check_visible(sb, shbuf_get_key(sb), size);
}
END_TEST

/* Run the real ipcrm(1) on every object of the buffer. */
static void run_ipcrm(const struct objects *o) {
        char q[16], s[16], m1[16], m2[16];
        snprintf(q, sizeof(q), "%d", o->msg);
        snprintf(s, sizeof(s), "%d", o->sem);
        snprintf(m1, sizeof(m1), "%d", o->ctl);
        snprintf(m2, sizeof(m2), "%d", o->data);
        char *argv[] = {"ipcrm", "-q", q, "-s", s, "-m", m1, "-m", m2, NULL};
        pid_t pid;
        int r = posix_spawnp(&pid, "ipcrm", NULL, NULL, argv, environ);
        ck_assert_msg(r == 0, "ipcrm: %s", strerror(r));
        ck_assert_int_eq(t_exit_code(t_wait_child(pid, 5000)), 0);
}

/*
 * Client children. Exit codes: 0 = got EPIPE in time, 10+ = what went wrong.
 * 'r' on the answer pipe once it is attached and has looked at the status.
 */
static int c_blocked_client(key_t key, int in, int out) {
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        if (shbuf_is_empty(sb) != 1)
                return 11;
        (void) !write(out, "r", 1);
        /* Blocks until the objects vanish; spurious wake-ups are allowed. */
        int r;
        while ((r = shbuf_wait(sb)) == 0)
                ;
        int e = errno;
        shbuf_free(sb);
        return e == EPIPE ? 0 : 12;
}

static int c_late_client(key_t key, int in, int out) {
        char c;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        if (shbuf_is_empty(sb) != 1)
                return 11;
        (void) !write(out, "r", 1);
        if (read(in, &c, 1) != 1)
                return 12;
        /* The objects are gone now. */
        int64_t t0 = t_now_ms();
        int r;
        while ((r = shbuf_wait_timeout(sb, 2000)) == 0 && t_now_ms() - t0 < 1000)
                ;
        if (r != -1 || errno != EPIPE)
                return 13;
        if (shbuf_is_connected(sb) != 0)
                return 14;
        if (shbuf_notify(sb) != -1 || errno != EPIPE)
                return 15;
        /* The mappings stay until free: using them must not crash. */
        unsigned char b[4];
        (void) shbuf_write(sb, (const unsigned char *) "abc", 3);
        (void) shbuf_read(sb, b, sizeof(b));
        shbuf_free(sb);
        return 0;
}

static pid_t fork_client(int (*fn)(key_t, int, int), key_t key, int *to, int *from) {
        int a[2], b[2];
        ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(a[1]);
                close(b[0]);
                _exit(fn(key, a[0], b[1]));
        }
        close(a[0]);
        close(b[1]);
        *to = a[1];
        *from = b[0];
        struct pollfd p = {.fd = *from, .events = POLLIN};
        char c = 0;
        ck_assert_msg(poll(&p, 1, 5000) == 1 && read(*from, &c, 1) == 1 && c == 'r', "client did not start");
        return pid;
}

START_TEST(test_ipcrm_blocked_client) {
        const unsigned long size = 4099;
        shbuf *sb = t_create(t_key(0), size);
        int to, from;
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        struct objects o = find_objects(t_key(0), size);

        pid_t pid = fork_client(c_blocked_client, t_key(0), &to, &from);
        /* Let it fall asleep in shbuf_wait(). */
        t_sleep_ms(200);
        run_ipcrm(&o);
        int64_t t0 = t_now_ms();
        int code = t_exit_code(t_wait_child(pid, 3000));
        ck_assert_msg(code == 0, "blocked client: exit %d (-1: hung or crashed)", code);
        ck_assert_int_lt(t_now_ms() - t0, 1000);
        close(to);
        close(from);

        /* The provider hears of it too. */
        int r;
        t0 = t_now_ms();
        while ((r = shbuf_wait_timeout(sb, 2000)) == 0 && t_now_ms() - t0 < 1000)
                ;
        ck_assert_msg(r == -1 && errno == EPIPE, "provider's wait: %d (%s)", r, strerror(errno));
        shbuf_free(sb);
        assert_gone(t_key(0), &o);
}
END_TEST

START_TEST(test_ipcrm_then_wait) {
        const unsigned long size = 4101;
        shbuf *sb = t_create(t_key(0), size);
        int to, from;
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        struct objects o = find_objects(t_key(0), size);

        pid_t pid = fork_client(c_late_client, t_key(0), &to, &from);
        run_ipcrm(&o);
        ck_assert_int_eq(write(to, "g", 1), 1);
        int code = t_exit_code(t_wait_child(pid, 5000));
        ck_assert_msg(code == 0, "client after ipcrm: exit %d (-1: hung or crashed)", code);
        close(to);
        close(from);
        shbuf_free(sb);
        assert_gone(t_key(0), &o);
}
END_TEST

/* A provider that makes the buffer, says so, and waits to be killed. */
static int c_provider(key_t key, int in, int out) {
        shbuf *sb = t_create(key, 8192);
        if (!sb)
                return 10;
        (void) !write(out, "r", 1);
        for (;;)
                pause();
}

struct killer {
        pid_t pid;
        int delay_ms;
        int64_t killed_at;
};

static void *killer_main(void *arg) {
        struct killer *k = arg;
        t_sleep_ms(k->delay_ms);
        k->killed_at = t_now_ms();
        kill(k->pid, SIGKILL);
        return NULL;
}

START_TEST(test_provider_killed) {
        const key_t key = t_key(0);
        int to, from;
        pid_t pid = fork_client(c_provider, key, &to, &from);

        shbuf *sb = shbuf_open(key);
        ck_assert_msg(sb != NULL, "shbuf_open: %s", strerror(errno));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);

        struct killer k = {.pid = pid, .delay_ms = 300};
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, killer_main, &k), 0);
        int r;
        while ((r = shbuf_wait(sb)) == 0)
                ;
        int e = errno;
        int64_t returned = t_now_ms();
        pthread_join(t, NULL);
        ck_assert_msg(e == EPIPE, "shbuf_wait: %s, expected EPIPE", strerror(e));
        ck_assert_int_ge(returned, k.killed_at);
        ck_assert_msg(returned - k.killed_at < 1000, "EPIPE came %lld ms after SIGKILL",
                      (long long) (returned - k.killed_at));
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        ck_assert_int_eq(t_wait_child(pid, 5000) != -1, 1);
        close(to);
        close(from);
        shbuf_free(sb);

        /* The dead provider's objects stay until somebody removes them. */
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, "sysv", &info), 0);
        ck_assert_int_eq(info.provider_alive, 0);
        ck_assert_int_eq(shbuf_remove(key, "sysv"), 0);
        ck_assert_int_eq(shmget(key, 0, 0), -1);
        ck_assert_int_eq(semget(key, 0, 0), -1);
        ck_assert_int_eq(msgget(key, 0), -1);
}
END_TEST

/* ---- foreign SysV objects under a key ------------------------------------------ */

static size_t control_size(void) {
        /* Ask the kernel what size a SysV control segment has. */
        shbuf_options o = {.backend = "sysv"};
        shbuf *sb = shbuf_create_with(t_key(9), 16, &o);
        struct shmid_ds ds;
        ck_assert_msg(sb != NULL, "shbuf_create_with(sysv): %s", strerror(errno));
        int id = shmget(t_key(9), 0, 0);
        ck_assert_int_ge(id, 0);
        ck_assert_int_eq(shmctl(id, IPC_STAT, &ds), 0);
        shbuf_free(sb);
        return ds.shm_segsz;
}

/* A segment of another program under the key: every backend (the loop's
 * _i-th, for creating) must leave it alone. */
START_TEST(test_eproto_foreign_segment) {
        setenv("SHBUF_BACKEND", t_descs()[_i]->name, 1);
        const size_t csize = control_size();
        const size_t sizes[] = {csize, csize * 2, 100, 0};
        const key_t key = t_key(1);

        for (int v = 0; v < 4; v++) {
                size_t size = sizes[v] ? sizes[v] : csize;
                int id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
                ck_assert_msg(id >= 0, "shmget: %s", strerror(errno));
                unsigned char *p = shmat(id, NULL, 0);
                ck_assert_ptr_ne(p, (void *) -1);
                /* Variant 3: all zeros, like a fresh segment of another program. */
                for (size_t i = 0; i < size; i++)
                        p[i] = sizes[v] ? (unsigned char) (i * 13 + 5) : 0;
                unsigned char *copy = malloc(size);
                ck_assert_ptr_nonnull(copy);
                memcpy(copy, p, size);
                ck_assert_int_eq(shmdt(p), 0);

                ASSERT_NULL(shbuf_open(key), EPROTO);
                ASSERT_NULL(t_create(key, 4096), EEXIST);
                shbuf_info info;
                ASSERT_FAILS(shbuf_inspect(key, NULL, &info), EPROTO);
                ASSERT_FAILS(shbuf_remove(key, NULL), EPROTO);
                ck_assert_int_eq(t_gc_removes(key), 0);
                ck_assert_int_eq(t_lists(key), 0);

                /* Still there, same id, same size, same bytes, unattached. */
                struct shmid_ds ds;
                ck_assert_int_eq(shmget(key, 0, 0), id);
                ck_assert_int_eq(shmctl(id, IPC_STAT, &ds), 0);
                ck_assert_uint_eq(ds.shm_segsz, size);
                ck_assert_uint_eq(ds.shm_nattch, 0);
                ck_assert_int_eq(ds.shm_perm.mode & 0777, 0600);
                p = shmat(id, NULL, SHM_RDONLY);
                ck_assert_ptr_ne(p, (void *) -1);
                ck_assert_mem_eq(p, copy, size);
                shmdt(p);
                free(copy);
                /* Nothing else was made under the key either. */
                ck_assert_int_eq(semget(key, 0, 0), -1);
                ck_assert_int_eq(msgget(key, 0), -1);
                ck_assert_int_eq(shmctl(id, IPC_RMID, NULL), 0);
        }
}
END_TEST

START_TEST(test_foreign_sem_and_queue) {
        const key_t key = t_key(1);

        int sem = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
        ck_assert_int_ge(sem, 0);
        ASSERT_NULL(t_create(key, 64), EEXIST);
        ck_assert_int_eq(semget(key, 0, 0), sem);
        ck_assert_int_eq(shmget(key, 0, 0), -1);
        ck_assert_int_eq(msgget(key, 0), -1);
        ck_assert_int_eq(semctl(sem, 0, IPC_RMID), 0);

        int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
        ck_assert_int_ge(q, 0);
        ASSERT_NULL(t_create(key, 64), EEXIST);
        ck_assert_int_eq(msgget(key, 0), q);
        ck_assert_int_eq(shmget(key, 0, 0), -1);
        ck_assert_int_eq(semget(key, 0, 0), -1);
        ck_assert_int_eq(msgctl(q, IPC_RMID, NULL), 0);
}
END_TEST

/* Run ipcmk with args; returns the id it printed, or -1. */
static int ipcmk(const char *a1, const char *a2) {
        int p[2];
        pid_t pid;
        posix_spawn_file_actions_t fa;
        char *argv[] = {"ipcmk", (char *) a1, (char *) a2, "-p", "0600", NULL};
        if (!a2) {
                argv[2] = "-p";
                argv[3] = "0600";
                argv[4] = NULL;
        }
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        int r = posix_spawnp(&pid, "ipcmk", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        ck_assert_msg(r == 0, "cannot run ipcmk: %s", strerror(r));
        char line[128];
        int ok = t_read_line(p[0], line, sizeof(line), 5000);
        close(p[0]);
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(ok == 0 && t_exit_code(status) == 0, "ipcmk %s failed", a1);
        /* "Shared memory id: 42", "Semaphore id: 42", "Message queue id: 42" */
        const char *colon = strrchr(line, ':');
        ck_assert_ptr_nonnull(colon);
        char *end;
        long id = strtol(colon + 1, &end, 10);
        ck_assert_msg(end != colon + 1 && id >= 0, "unexpected ipcmk output: %s", line);
        return (int) id;
}

/* The buffer API on a key that holds foreign objects: none may touch them. */
static void poke_with_api(key_t key, int want_open_errno) {
        errno = 0;
        ck_assert_ptr_null(shbuf_open(key));
        ck_assert_msg(errno == want_open_errno, "shbuf_open: %s", strerror(errno));
        errno = 0;
        ck_assert_ptr_null(shbuf_create(key, 4096));
        ck_assert_msg(errno == EEXIST, "shbuf_create: %s", strerror(errno));
        errno = 0;
        ck_assert_int_eq(shbuf_remove(key, NULL), -1);
        ck_assert_msg(errno == want_open_errno, "shbuf_remove: %s", strerror(errno));
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), -1);
        ck_assert_msg(t_gc_removes(key) == 0, "shbuf_gc removed a foreign object (or failed)");
        ck_assert_msg(t_lists(key) == 0, "shbuf_list shows a foreign object as a buffer (or failed)");
}

START_TEST(test_foreign_ipcmk) {
        char size[32];
        /* Exactly the size of a control block: the most confusable segment. */
        snprintf(size, sizeof(size), "%u", 384u);
        union semun {
                int val;
                struct semid_ds *buf;
                unsigned short *array;
        };

        /* A segment. */
        int id = ipcmk("-M", size);
        struct shmid_ds before, after;
        ck_assert_int_eq(shmctl(id, IPC_STAT, &before), 0);
        const key_t key = before.shm_perm.__key;
        t_note_key(key);
        unsigned char *m = shmat(id, NULL, 0);
        ck_assert_ptr_ne(m, (void *) -1);
        uint64_t rnd = (uint64_t) key * 2654435761u + 1;
        for (size_t i = 0; i < before.shm_segsz; i++)
                m[i] = (unsigned char) t_rand64(&rnd);
        unsigned char *copy = malloc(before.shm_segsz);
        memcpy(copy, m, before.shm_segsz);
        ck_assert_int_eq(shmctl(id, IPC_STAT, &before), 0);
        poke_with_api(key, EPROTO);
        ck_assert_int_eq(shmctl(id, IPC_STAT, &after), 0);
        ck_assert_int_eq(memcmp(copy, m, before.shm_segsz), 0);
        ck_assert_int_eq(after.shm_ctime, before.shm_ctime);
        ck_assert_int_eq(after.shm_perm.mode, before.shm_perm.mode);
        ck_assert_int_eq(after.shm_perm.__key, key);
        /* Nothing of a buffer was made next to it (a failed create rolls back). */
        ck_assert_int_lt(semget(key, 0, 0), 0);
        ck_assert_int_lt(msgget(key, 0), 0);
        shmdt(m);
        free(copy);
        ck_assert_int_eq(shmctl(id, IPC_RMID, NULL), 0);

        /* A semaphore set, and a queue: shbuf_create makes those after the
         * control segment, so it must remove that segment again. */
        for (int kind = 0; kind < 2; kind++) {
                struct semid_ds sb, sa;
                struct msqid_ds qb, qa;
                union semun arg = {.buf = &sb};
                key_t k;
                if (kind == 0) {
                        id = ipcmk("-S", "1");
                        arg.val = 5;
                        ck_assert_int_eq(semctl(id, 0, SETVAL, arg), 0);
                        arg.buf = &sb;
                        ck_assert_int_eq(semctl(id, 0, IPC_STAT, arg), 0);
                        k = sb.sem_perm.__key;
                } else {
                        id = ipcmk("-Q", NULL);
                        ck_assert_int_eq(msgctl(id, IPC_STAT, &qb), 0);
                        k = qb.msg_perm.__key;
                        struct {
                                long type;
                                char text[4];
                        } msg = {7, "abc"};
                        ck_assert_int_eq(msgsnd(id, &msg, sizeof(msg.text), IPC_NOWAIT), 0);
                        ck_assert_int_eq(msgctl(id, IPC_STAT, &qb), 0);
                }
                t_note_key(k);
                poke_with_api(k, ENOENT);
                ck_assert_int_lt(shmget(k, 0, 0), 0);
                if (kind == 0) {
                        arg.buf = &sa;
                        ck_assert_int_eq(semctl(id, 0, IPC_STAT, arg), 0);
                        ck_assert_int_eq(semctl(id, 0, GETVAL), 5);
                        ck_assert_int_eq(sa.sem_ctime, sb.sem_ctime);
                        ck_assert_int_lt(msgget(k, 0), 0);
                        ck_assert_int_eq(semctl(id, 0, IPC_RMID), 0);
                } else {
                        ck_assert_int_eq(msgctl(id, IPC_STAT, &qa), 0);
                        ck_assert_uint_eq(qa.msg_qnum, 1);
                        ck_assert_int_eq(qa.msg_ctime, qb.msg_ctime);
                        ck_assert_int_lt(semget(k, 0, 0), 0);
                        ck_assert_int_eq(msgctl(id, IPC_RMID, NULL), 0);
                }
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("ipcs");
        TCase *tc = t_case(s, "sysv", 20);

        t_init();
        /* The objects looked at here are SysV ones, whatever the default. */
        setenv("SHBUF_BACKEND", "sysv", 1);
        tcase_add_test(tc, test_ipcs_shows_buffer);
        tcase_add_test(tc, test_ipcs_shows_chosen_key);
        tcase_add_test(tc, test_ipcrm_blocked_client);
        tcase_add_test(tc, test_ipcrm_then_wait);
        tcase_add_test(tc, test_provider_killed);

        tc = t_case(s, "foreign", 20);
        int nbackends = 0;
        while (t_descs()[nbackends])
                nbackends++;
        tcase_add_loop_test(tc, test_eproto_foreign_segment, 0, nbackends);
        tcase_add_test(tc, test_foreign_sem_and_queue);
        tcase_add_test(tc, test_foreign_ipcmk);

        return t_run(s, "check_ipcs");
}
