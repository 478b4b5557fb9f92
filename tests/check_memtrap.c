/*
 * A peer that truncates a POSIX buffer's objects under our mappings (the
 * SIGBUS trap, src/core/memtrap.c):
 *
 *   - a peer truncates -data, or -ctl, to 0 and this process then reads,
 *     writes, uses the zero-copy spans, waits, takes the status lock, zeroes
 *     or frees: it survives, the call that met the lost pages (or the next
 *     one) and every later one fail with EPIPE, shbuf_free() works and the
 *     provider's free still removes every object;
 *   - the same while a pair streams, the truncation coming at any moment;
 *   - many handles (the registry grows past its first chunk): only the one
 *     whose object shrank is marked;
 *   - the tools look at a buffer whose owner keeps truncating its control
 *     object, and live;
 *   - a SIGBUS handler the program installed before the library's keeps
 *     getting its own faults and the signals sent to it, and under the
 *     default action a program's own fault still kills it with SIGBUS;
 *   - SHBUF_NO_SIGBUS_TRAP: a truncated buffer kills the process as before.
 *
 * Without the trap the process running these tests dies of SIGBUS. SysV
 * segments cannot shrink; there the test makes sure that a buffer whose
 * objects were removed while mapped stays readable.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "test-util.h"

#define RING 65536
#define FILL 1000

/* Under AddressSanitizer or ThreadSanitizer a SIGBUS that nobody else
 * handles is reported by the sanitizer's own handler, which ends the
 * process with its exit code (1, 66) instead of the signal. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_SIGBUS_EXIT 1
#elif defined(__SANITIZE_THREAD__)
#define SANITIZER_SIGBUS_EXIT 66
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_SIGBUS_EXIT 1
#elif __has_feature(thread_sanitizer)
#define SANITIZER_SIGBUS_EXIT 66
#endif
#endif
#ifndef SANITIZER_SIGBUS_EXIT
#define SANITIZER_SIGBUS_EXIT 0
#endif

static bool posix_only(void) {
        return strcmp(t_backend(), "posix") == 0;
}

/* Truncate the buffer's object ("data" or "ctl") to 0, as anybody who may
 * open it can. */
static int truncate_object(key_t key, const char *object) {
        const enum t_role role = strcmp(object, "ctl") == 0 ? T_CONTROL : T_DATA;
        char name[64];
        if (!t_desc()->object_name || !t_desc()->object_name(key, role, -1, name, sizeof(name)))
                return -1;
        int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        int r = ftruncate(fd, 0);
        close(fd);
        return r;
}

/* Whether a child's wait status says it died of SIGBUS (or of the
 * sanitizer's report of one). */
static bool died_of_sigbus(int status) {
        if (status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
                return true;
        return SANITIZER_SIGBUS_EXIT && status != -1 && WIFEXITED(status) &&
               WEXITSTATUS(status) == SANITIZER_SIGBUS_EXIT;
}

/* Say so before a child dies on purpose: under a sanitizer its report
 * follows in the log. */
static void expect_death(void) {
        if (SANITIZER_SIGBUS_EXIT)
                fprintf(stderr, "check_memtrap: a child dies of SIGBUS now, as it should; the "
                                "sanitizer's report of a BUS that may follow is expected\n");
}

static const char *describe_status(int status, char *buf, size_t len) {
        if (status == -1)
                snprintf(buf, len, "killed after the timeout");
        else if (WIFSIGNALED(status))
                snprintf(buf, len, "died of signal %d", WTERMSIG(status));
        else
                snprintf(buf, len, "exited with %d", WEXITSTATUS(status));
        return buf;
}

/* ---- peers ---------------------------------------------------------------- */

/*
 * The hostile peer: it attaches as the client, says 'r', truncates the
 * object named by arg on 't' and says 'd', then frees its own handle on
 * 'q' (its own trap keeps it alive too) and exits 0.
 */
static int p_truncator(key_t key, int in, int out, void *arg) {
        const char *object = arg;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        t_put(out, 'r');
        if (t_get(in, 20000) != 't')
                return 11;
        if (truncate_object(key, object) < 0)
                return 12;
        t_put(out, 'd');
        (void) t_get(in, 20000);
        shbuf_free(sb);
        return 0;
}

/*
 * A reader, copies and spans by turns, until its calls fail: 0 when they
 * fail with EPIPE (the object shrank under it too, or the provider left),
 * 20 with another error (said on stderr), 30 when they never fail.
 */
static int p_reader(key_t key, int in, int out, void *arg) {
        (void) in;
        (void) arg;
        unsigned char buf[4096];
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        t_put(out, 'r');
        int64_t end = t_now_ms() + 20000;
        for (unsigned i = 0; t_now_ms() < end; i++) {
                long n;
                if (i % 2) {
                        n = shbuf_read(sb, buf, sizeof(buf));
                } else {
                        unsigned long l;
                        unsigned char *p = shbuf_get_read_pointer(sb, &l);
                        n = p ? (long) l : -1;
                        if (p && l > 0) {
                                memcpy(buf, p, l < sizeof(buf) ? l : sizeof(buf));
                                n = shbuf_inc_read_pointer(sb, l) < 0 ? -1 : (long) l;
                        }
                }
                if (n == 0 && shbuf_wait_timeout(sb, 50) < 0 && errno != ETIMEDOUT)
                        n = -1;
                if (n < 0) {
                        int e = errno;
                        shbuf_free(sb);
                        if (e != EPIPE)
                                fprintf(stderr, "reader: call %u failed: %s\n", i, strerror(e));
                        return e == EPIPE ? 0 : 20;
                }
        }
        shbuf_free(sb);
        return 30;
}

/* Somebody who is no peer (anybody after shbuf_access()): on 't' it opens
 * the object and truncates it. */
static int p_cutter(key_t key, int in, int out, void *arg) {
        t_put(out, 'r');
        if (t_get(in, 20000) != 't')
                return 11;
        if (truncate_object(key, arg) < 0)
                return 12;
        t_put(out, 'd');
        return 0;
}

/* ---- after the trap fired -------------------------------------------- */

#define EXPECT_EPIPE(call)                                                                                  \
        do {                                                                                                \
                errno = 0;                                                                                  \
                long r_ = (long) (call);                                                                    \
                ck_assert_msg(r_ == -1 && errno == EPIPE, "%s: %ld, errno %d (%s), expected EPIPE", #call,  \
                              r_, errno, strerror(errno));                                                  \
        } while (0)

#define EXPECT_EPIPE_PTR(call)                                                                              \
        do {                                                                                                \
                errno = 0;                                                                                  \
                void *p_ = (call);                                                                          \
                ck_assert_msg(!p_ && errno == EPIPE, "%s: %p, errno %d (%s), expected EPIPE", #call, p_,    \
                              errno, strerror(errno));                                                      \
        } while (0)

/* Every call on a trapped handle fails with EPIPE; the handle stays usable
 * for what touches no shared memory. */
static void all_calls_fail(shbuf *sb) {
        unsigned char buf[64] = {0};
        unsigned long l;

        EXPECT_EPIPE(shbuf_read(sb, buf, sizeof(buf)));
        EXPECT_EPIPE(shbuf_write(sb, buf, sizeof(buf)));
        EXPECT_EPIPE_PTR(shbuf_get_read_pointer(sb, &l));
        EXPECT_EPIPE_PTR(shbuf_get_write_pointer(sb, &l));
        EXPECT_EPIPE(shbuf_inc_read_pointer(sb, 0));
        EXPECT_EPIPE(shbuf_inc_write_pointer(sb, 0));
        EXPECT_EPIPE(shbuf_is_empty(sb));
        EXPECT_EPIPE(shbuf_is_full(sb));
        EXPECT_EPIPE(shbuf_wait_timeout(sb, 0));
        EXPECT_EPIPE(shbuf_wait_timeout(sb, 50));
        EXPECT_EPIPE(shbuf_status_lock(sb));
        EXPECT_EPIPE(shbuf_reset(sb));
        EXPECT_EPIPE(shbuf_zero(sb));
        EXPECT_EPIPE(shbuf_notify(sb));
        if (shbuf_get_select_fd(sb) >= 0)
                EXPECT_EPIPE(shbuf_post_select(sb));
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        ck_assert_ptr_nonnull(shbuf_get_status(sb));
        ck_assert_ptr_nonnull(shbuf_get_pointer(sb));
        ck_assert_uint_gt(shbuf_get_size(sb), 0);
        ck_assert_int_eq(shbuf_access(sb, 0600), 0);
}

/* ---- one call meets a truncated object ------------------------------- */

enum op {
        OP_READ,
        OP_WRITE,
        OP_READ_SPAN,  /* shbuf_get_read_pointer(), the program reads the span, commits */
        OP_WRITE_SPAN, /* the same for writing */
        OP_WAIT,
        OP_IS_EMPTY,
        OP_STATUS_LOCK,
        OP_LOCK_HELD, /* the truncation comes while the program holds the lock */
        OP_ZERO,
        OP_NOTIFY,
        OP_FREE,
};

struct trap_case {
        const char *object;
        enum op op;
        bool meets; /* the call itself meets the lost pages, and fails */
};

static const struct trap_case trap_cases[] = {
        {"data", OP_READ, true},         {"data", OP_WRITE, true},      {"data", OP_READ_SPAN, true},
        {"data", OP_WRITE_SPAN, true},   {"data", OP_WAIT, false},      {"data", OP_IS_EMPTY, false},
        {"data", OP_STATUS_LOCK, false}, {"data", OP_LOCK_HELD, true},  {"data", OP_ZERO, true},
        {"data", OP_FREE, false},        {"ctl", OP_READ, true},        {"ctl", OP_WRITE, true},
        {"ctl", OP_READ_SPAN, true},     {"ctl", OP_WRITE_SPAN, true},  {"ctl", OP_WAIT, true},
        {"ctl", OP_IS_EMPTY, true},      {"ctl", OP_STATUS_LOCK, true}, {"ctl", OP_LOCK_HELD, true},
        {"ctl", OP_ZERO, true},          {"ctl", OP_NOTIFY, false},     {"ctl", OP_FREE, false},
};

/* The call of c after the truncation: whether it failed with EPIPE. */
static bool run_op(shbuf *sb, const struct trap_case *c) {
        unsigned char buf[FILL];
        unsigned long l;
        unsigned char *p;

        switch (c->op) {
        case OP_READ:
                return shbuf_read(sb, buf, sizeof(buf)) == -1 && errno == EPIPE;
        case OP_WRITE:
                memset(buf, 0x5A, sizeof(buf));
                return shbuf_write(sb, buf, sizeof(buf)) == -1 && errno == EPIPE;
        case OP_READ_SPAN:
                p = shbuf_get_read_pointer(sb, &l);
                if (!p)
                        return errno == EPIPE;
                ck_assert_uint_eq(l, FILL);
                /* The program's own read of the lost pages: zeros. */
                for (unsigned long i = 0; i < l; i++)
                        ck_assert_msg(((volatile unsigned char *) p)[i] == 0, "byte %lu of a lost page", i);
                return shbuf_inc_read_pointer(sb, l) == -1 && errno == EPIPE;
        case OP_WRITE_SPAN:
                p = shbuf_get_write_pointer(sb, &l);
                if (!p)
                        return errno == EPIPE;
                memset(p, 0x5A, l);
                return shbuf_inc_write_pointer(sb, l) == -1 && errno == EPIPE;
        case OP_WAIT:
                return shbuf_wait_timeout(sb, 200) == -1 && errno == EPIPE;
        case OP_IS_EMPTY:
                return shbuf_is_empty(sb) == -1 && errno == EPIPE;
        case OP_STATUS_LOCK:
                if (shbuf_status_lock(sb) < 0)
                        return errno == EPIPE;
                ck_assert_int_eq(shbuf_status_unlock(sb), 0);
                return false;
        case OP_LOCK_HELD:
                /* Taken before the truncation (see the test); the program
                 * looks at the data under the lock, then releases it. */
                ((volatile unsigned char *) shbuf_get_pointer(sb))[0] = 1;
                shbuf_get_status(sb)->backlog_target = 7;
                return shbuf_status_unlock(sb) == -1 && errno == EPIPE;
        case OP_ZERO:
                return shbuf_zero(sb) == -1 && errno == EPIPE;
        case OP_NOTIFY:
                return shbuf_notify(sb) == -1 && errno == EPIPE;
        case OP_FREE:
                break;
        }
        return false;
}

START_TEST(test_truncated_under_a_call) {
        const struct trap_case *c = &trap_cases[_i];
        if (!posix_only())
                return;
        const key_t key = t_key(1);
        const pid_t me = getpid();
        unsigned char buf[FILL];
        char desc[512];

        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);
        memset(buf, 0xC3, sizeof(buf));
        ck_assert_int_eq(shbuf_write(sb, buf, sizeof(buf)), FILL);

        struct t_child peer = t_fork(p_truncator, key, (void *) c->object);
        ck_assert_int_gt(peer.pid, 0);
        ck_assert_int_eq(t_get(peer.from, 10000), 'r');
        if (c->op == OP_LOCK_HELD)
                ck_assert_int_eq(shbuf_status_lock(sb), 0);
        t_put(peer.to, 't');
        ck_assert_int_eq(t_get(peer.from, 10000), 'd');

        if (c->op != OP_FREE) {
                errno = 0;
                bool failed = run_op(sb, c);
                int e = errno;
                if (c->meets)
                        ck_assert_msg(failed,
                                      "%s truncated, op %d: the call did not fail with EPIPE (errno %d, %s)",
                                      c->object, (int) c->op, e, strerror(e));
                /* A call that met no lost page may have gone through; a
                 * read of the unread bytes meets them. */
                if (!failed)
                        EXPECT_EPIPE(shbuf_read(sb, buf, sizeof(buf)));
                all_calls_fail(sb);
        }
        shbuf_free(sb);

        t_put(peer.to, 'q');
        int code = t_finish(&peer, 10000);
        ck_assert_msg(code == 0, "the truncating peer: exit code %d (status 0x%x)", code, t_last_status);
        ck_assert_msg(t_objects(key, me, desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

/* ---- the truncation comes while a pair streams ------------------------- */

/* Write (copies and spans by turns) until a call fails; its errno. */
static int stream_until_failure(shbuf *sb, struct t_child *cutter, int64_t cut_after_ms) {
        unsigned char chunk[3000];
        int64_t start = t_now_ms(), deadline = start + 20000;
        bool cut = false;
        memset(chunk, 0x96, sizeof(chunk));
        for (unsigned i = 0; t_now_ms() < deadline; i++) {
                if (!cut && t_now_ms() - start >= cut_after_ms) {
                        t_put(cutter->to, 't');
                        cut = true;
                }
                long n;
                if (i % 2) {
                        n = shbuf_write(sb, chunk, 1 + i % sizeof(chunk));
                } else {
                        unsigned long l;
                        unsigned char *p = shbuf_get_write_pointer(sb, &l);
                        n = p ? 0 : -1;
                        if (p && l > 0) {
                                l = l < sizeof(chunk) ? l : sizeof(chunk);
                                memcpy(p, chunk, l);
                                n = shbuf_inc_write_pointer(sb, l) < 0 ? -1 : (long) l;
                        }
                }
                if (n == 0 && shbuf_wait_timeout(sb, 50) < 0 && errno != ETIMEDOUT)
                        n = -1;
                if (n < 0)
                        return errno;
        }
        return 0;
}

START_TEST(test_truncated_while_streaming) {
        static const char *const objects[] = {"data", "ctl"};
        const char *object = objects[_i % 2];
        if (!posix_only())
                return;
        const key_t key = t_key(2);
        const pid_t me = getpid();
        char desc[512];

        shbuf *sb = t_create(key, RING);
        ck_assert_ptr_nonnull(sb);
        struct t_child reader = t_fork(p_reader, key, NULL);
        ck_assert_int_gt(reader.pid, 0);
        ck_assert_int_eq(t_get(reader.from, 10000), 'r');
        struct t_child cutter = t_fork(p_cutter, key, (void *) object);
        ck_assert_int_gt(cutter.pid, 0);
        ck_assert_int_eq(t_get(cutter.from, 10000), 'r');

        /* A different moment in the stream each round. */
        int e = stream_until_failure(sb, &cutter, 20 + 37 * (_i / 2));
        ck_assert_msg(e == EPIPE, "%s truncated while streaming: errno %d (%s), expected EPIPE", object, e,
                      strerror(e));
        ck_assert_int_eq(t_get(cutter.from, 10000), 'd');
        all_calls_fail(sb);
        shbuf_free(sb);

        int code = t_finish(&reader, 20000);
        ck_assert_msg(code == 0, "the reader: exit code %d (status 0x%x)", code, t_last_status);
        ck_assert_int_eq(t_finish(&cutter, 10000), 0);
        ck_assert_msg(t_objects(key, me, desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

/* ---- the tools look at a buffer whose owner keeps shrinking it ---------- */

/* The owner: truncates the control object and makes it whole again (as
 * it was), over and over, until 'q'. */
static int p_flapper(key_t key, int in, int out, void *arg) {
        (void) arg;
        char name[64], block[4096];
        int fd = t_desc()->object_name && t_desc()->object_name(key, T_CONTROL, -1, name, sizeof(name))
                         ? shm_open(name, O_RDWR | O_CLOEXEC, 0)
                         : -1;
        ssize_t n = fd < 0 ? -1 : pread(fd, block, sizeof(block), 0);
        if (n <= 0)
                return 10;
        t_put(out, 'r');
        for (;;) {
                struct pollfd p = {.fd = in, .events = POLLIN};
                if (poll(&p, 1, 0) != 0)
                        break;
                if (ftruncate(fd, 0) < 0 || pwrite(fd, block, (size_t) n, 0) != n)
                        return 11;
        }
        close(fd);
        return 0;
}

/*
 * shbuf_inspect() and shbuf_list() (and shbuf_gc() and shbuf_remove(),
 * which look the same way) read the control object of buffers that are not
 * theirs: one that shrinks between the size check and the reads must not
 * kill the tool (shbuf gc run by root over every user's buffers, say). The
 * race is won now and then only; the calls must just never die, and say
 * EPROTO (or ENOENT) when they lose.
 */
START_TEST(test_tools_survive_shrinking) {
        if (!posix_only())
                return;
        const key_t key = t_key(8);
        const pid_t me = getpid();
        const unsigned rounds = t_sanitized() ? 2000 : 20000;
        unsigned ok = 0, refused = 0;
        char desc[512];

        shbuf *sb = t_create(key, 4096);
        ck_assert_ptr_nonnull(sb);
        struct t_child flapper = t_fork(p_flapper, key, NULL);
        ck_assert_int_gt(flapper.pid, 0);
        ck_assert_int_eq(t_get(flapper.from, 10000), 'r');
        for (unsigned i = 0; i < rounds; i++) {
                shbuf_info info;
                if (shbuf_inspect(key, "posix", &info) == 0) {
                        ok++;
                } else {
                        ck_assert_msg(errno == EPROTO || errno == ENOENT, "shbuf_inspect: %s",
                                      strerror(errno));
                        refused++;
                }
                if (i % 256 == 0) {
                        shbuf_info *all;
                        size_t n;
                        ck_assert_int_eq(shbuf_list(&all, &n), 0);
                        free(all);
                }
        }
        t_put(flapper.to, 'q');
        ck_assert_int_eq(t_finish(&flapper, 10000), 0);
        fprintf(stderr, "posix: %u looks at a shrinking control block: %u whole, %u refused\n", rounds, ok,
                refused);
        /* Its owner may have met the lost pages too: it frees all the same. */
        shbuf_free(sb);
        ck_assert_msg(t_objects(key, me, desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

/* ---- many handles: only the one that lost its memory is marked --------- */

#define PAIRS 12 /* 24 handles, 48 mappings: more than the registry's first chunk */

START_TEST(test_many_handles) {
        if (!posix_only())
                return;
        shbuf *prov[PAIRS], *cli[PAIRS];
        unsigned char buf[100];
        const pid_t me = getpid();
        char desc[512];

        /* Make and free some first, so that slots are reused. */
        for (int round = 0; round < 2; round++) {
                for (int i = 0; i < PAIRS; i++) {
                        prov[i] = t_create(t_key(10 + i), 4096);
                        ck_assert_msg(prov[i] != NULL, "buffer %d: %s", i, strerror(errno));
                        cli[i] = shbuf_open(t_key(10 + i));
                        ck_assert_msg(cli[i] != NULL, "client %d: %s", i, strerror(errno));
                        memset(buf, i, sizeof(buf));
                        ck_assert_int_eq(shbuf_write(prov[i], buf, sizeof(buf)), sizeof(buf));
                }
                if (round == 1)
                        break;
                for (int i = PAIRS - 1; i >= 0; i -= 2) {
                        shbuf_free(cli[i]);
                        shbuf_free(prov[i]);
                }
                for (int i = PAIRS - 2; i >= 0; i -= 2) {
                        shbuf_free(cli[i]);
                        shbuf_free(prov[i]);
                }
        }

        /* The last buffer's data shrinks; its client reads. */
        const int victim = PAIRS - 1;
        ck_assert_int_eq(truncate_object(t_key(10 + victim), "data"), 0);
        EXPECT_EPIPE(shbuf_read(cli[victim], buf, sizeof(buf)));
        /* The same pages, the other handle: it meets them at its next
         * access and is marked too. */
        EXPECT_EPIPE(shbuf_write(prov[victim], buf, sizeof(buf)));
        for (int i = 0; i < victim; i++) {
                ck_assert_int_eq(shbuf_read(cli[i], buf, sizeof(buf)), sizeof(buf));
                for (size_t k = 0; k < sizeof(buf); k++)
                        ck_assert_int_eq(buf[k], i);
                ck_assert_int_eq(shbuf_write(prov[i], buf, sizeof(buf)), sizeof(buf));
                ck_assert_int_eq(shbuf_is_connected(cli[i]), 1);
        }
        all_calls_fail(cli[victim]);
        for (int i = 0; i < PAIRS; i++) {
                shbuf_free(cli[i]);
                shbuf_free(prov[i]);
                ck_assert_msg(t_objects(t_key(10 + i), me, desc, sizeof(desc)) == 0, "left behind: %s",
                              desc);
        }
}
END_TEST

/* ---- the program's own SIGBUS ---------------------------------------- */

static sigjmp_buf own_jump;
static volatile sig_atomic_t own_faults, own_sent;
static void *volatile own_addr;

static void own_handler(int sig, siginfo_t *si, void *context) {
        (void) sig;
        (void) context;
        if (si->si_code > 0) {
                own_faults++;
                own_addr = si->si_addr;
                siglongjmp(own_jump, 1);
        }
        own_sent++;
}

/*
 * A page of a file of the program's own, mapped and then truncated: the
 * access faults. Returns the page (unmap it with munmap(p, page)).
 */
static volatile unsigned char *own_lost_page(void) {
        long page = sysconf(_SC_PAGESIZE);
        FILE *f = tmpfile();
        ck_assert_ptr_nonnull(f);
        int fd = fileno(f);
        ck_assert_int_eq(ftruncate(fd, page), 0);
        void *p = mmap(NULL, (size_t) page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        ck_assert_int_eq(ftruncate(fd, 0), 0);
        fclose(f);
        return p;
}

/* A handle of this process, its data truncated and met: the trap's fault. */
static void library_fault(key_t key) {
        unsigned char buf[16] = {0};
        shbuf *sb = t_create(key, 4096);
        ck_assert_ptr_nonnull(sb);
        ck_assert_int_eq(shbuf_write(sb, buf, sizeof(buf)), sizeof(buf));
        ck_assert_int_eq(truncate_object(key, "data"), 0);
        EXPECT_EPIPE(shbuf_read(sb, buf, sizeof(buf)));
        shbuf_free(sb);
}

START_TEST(test_program_handler_chained) {
        if (!posix_only())
                return;
        struct sigaction sa = {.sa_sigaction = own_handler, .sa_flags = SA_SIGINFO};
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);

        /* The first POSIX handle installs the trap on top of ours. */
        library_fault(t_key(3));
        ck_assert_int_eq(own_faults, 0);

        volatile unsigned char *page = own_lost_page();
        if (sigsetjmp(own_jump, 1) == 0) {
                (void) page[10];
                ck_abort_msg("the access to a truncated page of our own did not fault");
        }
        ck_assert_int_eq(own_faults, 1);
        ck_assert_ptr_eq(own_addr, (void *) (page + 10));
        munmap((void *) page, (size_t) sysconf(_SC_PAGESIZE));

        /* A signal somebody sends reaches us, not the trap. */
        ck_assert_int_eq(kill(getpid(), SIGBUS), 0);
        ck_assert_int_eq(own_sent, 1);

        /* The trap still works after all that, and leaves ours alone. */
        library_fault(t_key(4));
        ck_assert_int_eq(own_faults, 1);
        ck_assert_int_eq(own_sent, 1);
}
END_TEST

/* Children that end the way a program without the library's trap would. */
enum own_end {
        OWN_FAULT,         /* its own fault, SIGBUS at its default: dies of it */
        OWN_SENT,          /* SIGBUS sent to it, at its default: dies of it */
        OWN_IGNORED_SENT,  /* SIGBUS ignored, then sent to it: lives */
        OWN_IGNORED_FAULT, /* SIGBUS ignored, then its own fault: dies (the kernel forces it) */
};

static int p_own_end(key_t key, int in, int out, void *arg) {
        (void) in;
        (void) out;
        enum own_end end = (enum own_end)(intptr_t) arg;
        if (end == OWN_IGNORED_SENT || end == OWN_IGNORED_FAULT)
                signal(SIGBUS, SIG_IGN);
        /* The trap is installed, and the buffer gone again: nothing is
         * left behind when we die. */
        shbuf *sb = shbuf_create(key, 4096);
        if (!sb)
                return 10;
        shbuf_free(sb);
        if (end == OWN_SENT || end == OWN_IGNORED_SENT) {
                kill(getpid(), SIGBUS);
        } else {
                volatile unsigned char *page = own_lost_page();
                page[0] = 1;
        }
        return 0;
}

START_TEST(test_program_default_kept) {
        const enum own_end end = (enum own_end) _i;
        if (!posix_only())
                return;
        char how[64];
        if (end != OWN_IGNORED_SENT)
                expect_death();
        struct t_child c = t_fork(p_own_end, t_key(5), (void *) (intptr_t) end);
        ck_assert_int_gt(c.pid, 0);
        int code = t_finish(&c, 10000);
        int status = t_last_status;
        if (end == OWN_IGNORED_SENT) {
                ck_assert_msg(code == 0, "an ignored SIGBUS: the child %s",
                              describe_status(status, how, sizeof(how)));
                return;
        }
        /* An ignored fault kills without the sanitizer's say (it had its
         * handler replaced by SIG_IGN). */
        bool dead = end == OWN_IGNORED_FAULT
                            ? status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS
                            : died_of_sigbus(status);
        ck_assert_msg(dead, "case %d: the child %s, expected it to die of SIGBUS", (int) end,
                      describe_status(status, how, sizeof(how)));
}
END_TEST

/* ---- the opt-out --------------------------------------------------------- */

/* A buffer made with SHBUF_NO_SIGBUS_TRAP, its data truncated and read:
 * dies, as without the library's trap. arg 1: another handle of the
 * process installed the trap first. */
static int p_opted_out(key_t key, int in, int out, void *arg) {
        (void) in;
        (void) out;
        unsigned char buf[16] = {0};
        if (arg) {
                shbuf *other = shbuf_create(key + 1, 4096);
                if (!other)
                        return 10;
                shbuf_free(other);
        }
        shbuf_options o = {.flags = SHBUF_NO_SIGBUS_TRAP};
        shbuf *sb = shbuf_create_with(key, 4096, &o);
        if (!sb)
                return 11;
        if (shbuf_write(sb, buf, sizeof(buf)) != sizeof(buf))
                return 12;
        if (truncate_object(key, "data") < 0)
                return 13;
        (void) shbuf_read(sb, buf, sizeof(buf));
        return 0;
}

START_TEST(test_opt_out) {
        if (!posix_only())
                return;
        const key_t key = t_key(6);
        const pid_t me = getpid();
        char how[64], desc[512];

        expect_death();
        struct t_child c = t_fork(p_opted_out, key, (void *) (intptr_t) _i);
        ck_assert_int_gt(c.pid, 0);
        t_finish(&c, 10000);
        int status = t_last_status;
        ck_assert_msg(died_of_sigbus(status), "opted out: the child %s, expected it to die of SIGBUS",
                      describe_status(status, how, sizeof(how)));
        /* It died holding the buffer: its control block is whole, so the
         * buffer is removed as any a crashed provider left. */
        ck_assert_int_eq(shbuf_remove(key, NULL), 0);
        ck_assert_msg(t_objects(key, me, desc, sizeof(desc)) == 0, "left behind: %s", desc);

        /* Unknown flags are still refused. */
        shbuf_options bad = {.flags = SHBUF_NO_SIGBUS_TRAP << 1};
        errno = 0;
        ck_assert_ptr_null(shbuf_create_with(key, 4096, &bad));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(shbuf_open_with(key, &bad));
        ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- SysV: nothing can shrink ------------------------------------------ */

/*
 * A SysV segment cannot be truncated, and one removed while mapped stays
 * mapped: a buffer whose objects are removed under it keeps its data
 * readable, and the removal is reported as EPIPE by the waits.
 */
START_TEST(test_sysv_removed_stays_mapped) {
        if (strcmp(t_backend(), "sysv") != 0)
                return;
        const key_t key = t_key(7);
        const pid_t me = getpid();
        unsigned char in[FILL], out[FILL];
        char desc[512];

        shbuf *sb = t_create(key, RING);
        ck_assert_ptr_nonnull(sb);
        for (size_t i = 0; i < sizeof(in); i++)
                in[i] = (unsigned char) (i * 7);
        ck_assert_int_eq(shbuf_write(sb, in, sizeof(in)), FILL);
        ck_assert_int_eq(shbuf_remove(key, NULL), 0);
        ck_assert_int_eq(shbuf_read(sb, out, sizeof(out)), FILL);
        ck_assert_mem_eq(in, out, sizeof(in));
        EXPECT_EPIPE(shbuf_wait_timeout(sb, 1000));
        shbuf_free(sb);
        ck_assert_msg(t_objects(key, me, desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

int main(void) {
        Suite *s = suite_create("memtrap");
        TCase *tc = t_case(s, "memtrap", 120);

        t_init();
        tcase_add_loop_test(tc, test_truncated_under_a_call, 0,
                            (int) (sizeof(trap_cases) / sizeof(trap_cases[0])));
        tcase_add_loop_test(tc, test_truncated_while_streaming, 0, 8);
        tcase_add_test(tc, test_many_handles);
        tcase_add_test(tc, test_tools_survive_shrinking);
        tcase_add_test(tc, test_program_handler_chained);
        tcase_add_loop_test(tc, test_program_default_kept, OWN_FAULT, OWN_IGNORED_FAULT + 1);
        tcase_add_loop_test(tc, test_opt_out, 0, 2);
        tcase_add_test(tc, test_sysv_removed_stays_mapped);

        return t_run(s, "check_memtrap");
}
