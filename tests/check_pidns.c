/*
 * Liveness across pid namespaces: two containers that share an IPC
 * namespace but not a pid namespace see each other's pids as nobody, or as
 * somebody else (the peer here is pid 1 of its namespace, which in ours is
 * init, alive for ever). Nothing the library says about its peer may rest
 * on those pids.
 *
 * The peer is this very program, started as `unshare --pid --fork
 * --kill-child check_pidns --peer create|open KEY` (util-linux), and driven
 * one byte at a time through its stdin and stdout:
 *
 *   c  is the other side connected?     '1' or '0'
 *   w  shbuf_wait_timeout(5000)         '0', or 'P' (EPIPE), 'T', 'E'
 *   r  read "ping"                      'k', or 'E'
 *   W  write "ping" and notify          'k', or 'E'
 *   l  take the status lock             'l', or 'E'
 *   x  _exit(0) there and then, without shbuf_free() (a crash)
 *
 * Both ways round: the peer as the client of a buffer created here, and as
 * the provider of a buffer opened here. New pid namespaces need root (or
 * user namespaces); without them the test says so and passes.
 *
 * Registered once per compiled backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "test-util.h"

extern char **environ;

/* ---- the peer, in its own pid namespace -------------------------------- */

static char answer_wait(shbuf *sb) {
        if (shbuf_wait_timeout(sb, 5000) == 0)
                return '0';
        return errno == EPIPE ? 'P' : errno == ETIMEDOUT ? 'T' : 'E';
}

static char answer_read(shbuf *sb) {
        unsigned char buf[8];
        long n = shbuf_read(sb, buf, sizeof(buf));
        return n == 4 && memcmp(buf, "ping", 4) == 0 ? 'k' : 'E';
}

static char answer_write(shbuf *sb) {
        if (shbuf_write(sb, (const unsigned char *) "ping", 4) != 4 || shbuf_notify(sb) < 0)
                return 'E';
        return 'k';
}

static int peer_main(const char *how, const char *key_s) {
        /* A last resort against a hang nobody notices. */
        alarm(60);
        key_t key = (key_t) strtol(key_s, NULL, 0);
        shbuf *sb = strcmp(how, "create") == 0 ? shbuf_create(key, 4096) : shbuf_open(key);
        if (!sb) {
                fprintf(stderr, "peer: %s 0x%08x: %s\n", how, (unsigned) key, strerror(errno));
                return 1;
        }
        t_put(STDOUT_FILENO, 'o');
        for (;;) {
                char c = t_get(STDIN_FILENO, 60000), a;
                switch (c) {
                case 'c':
                        a = shbuf_is_connected(sb) == 1 ? '1' : '0';
                        break;
                case 'w':
                        a = answer_wait(sb);
                        break;
                case 'r':
                        a = answer_read(sb);
                        break;
                case 'W':
                        a = answer_write(sb);
                        break;
                case 'l':
                        a = shbuf_status_lock(sb) == 0 ? 'l' : 'E';
                        break;
                case 'x':
                        _exit(0);
                default:
                        shbuf_free(sb);
                        return 0;
                }
                t_put(STDOUT_FILENO, a);
        }
}

/* ---- the test, in ours --------------------------------------------------- */

struct ns_peer {
        pid_t pid; /* unshare's, in our namespace */
        int to, from;
};

static char self_path[PATH_MAX];

/* Whether new pid namespaces can be made here at all. */
static bool can_unshare(void) {
        char *argv[] = {"unshare", "--pid", "--fork", "true", NULL};
        pid_t pid;
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, devnull, STDERR_FILENO);
        int r = posix_spawnp(&pid, "unshare", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(devnull);
        if (r != 0)
                return false;
        return t_exit_code(t_wait_child(pid, 10000)) == 0;
}

static struct ns_peer spawn_peer(const char *how, key_t key) {
        char key_s[32];
        snprintf(key_s, sizeof(key_s), "%ld", (long) key);
        char *argv[] = {"unshare", "--pid", "--fork", "--kill-child", self_path, "--peer", (char *) how, key_s, NULL};
        int in[2], out[2];
        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
        struct ns_peer p = {.to = in[1], .from = out[0]};
        int r = posix_spawnp(&p.pid, "unshare", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        close(out[1]);
        ck_assert_msg(r == 0, "posix_spawnp unshare: %s", strerror(r));
        /* unshare's pid, never the peer's: that one is 1 in its namespace. */
        t_note_pid(p.pid);
        return p;
}

static char ask(struct ns_peer *p, char c) {
        t_put(p->to, c);
        return t_get(p->from, 10000);
}

static void peer_crash(struct ns_peer *p) {
        t_put(p->to, 'x');
        ck_assert_int_eq(t_exit_code(t_wait_child(p->pid, 10000)), 0);
        close(p->to);
        close(p->from);
}

/* Run expr; its duration in milliseconds in ms. */
#define TIMED(ms, expr)                                                                                     \
        do {                                                                                                \
                int64_t t0_ = t_now_ms();                                                                   \
                expr;                                                                                       \
                (ms) = t_now_ms() - t0_;                                                                    \
        } while (0)

/* Wait until the wait fails (news the peer left first is taken in passing). */
static int wait_for_error(shbuf *sb, int *ret_errno) {
        int r;
        int64_t end = t_now_ms() + 3000;
        while ((r = shbuf_wait_timeout(sb, 3000)) == 0 && t_now_ms() < end)
                ;
        *ret_errno = errno;
        return r;
}

/*
 * The peer is the client, in another pid namespace: both sides see each
 * other alive, a wait for the peer's notification is not mistaken for its
 * death, and when it crashes holding the status lock, our wait hears of its
 * death and the lock is taken over at once.
 */
START_TEST(test_client_elsewhere) {
        if (!can_unshare()) {
                fprintf(stderr, "check_pidns: new pid namespaces are not allowed here (needs root): skipped\n");
                return;
        }
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, 4096);
        ck_assert_ptr_nonnull(sb);
        struct ns_peer p = spawn_peer("open", key);
        ck_assert_int_eq(t_get(p.from, 10000), 'o');

        ck_assert_int_eq(ask(&p, 'c'), '1');
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
        ck_assert_int_eq(info.provider_alive, 1);
        ck_assert_int_eq(info.client_alive, 1);

        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "ping", 4), 4);
        ck_assert_int_eq(shbuf_notify(sb), 0);
        ck_assert_int_eq(ask(&p, 'w'), '0');
        ck_assert_int_eq(ask(&p, 'r'), 'k');

        ck_assert_int_eq(ask(&p, 'l'), 'l');
        peer_crash(&p);
        int r, e;
        int64_t ms;
        TIMED(ms, r = wait_for_error(sb, &e));
        ck_assert_msg(r == -1 && e == EPIPE && ms < 1000, "wait after the client crashed: %d (%s) after %lld ms", r,
                      strerror(e), (long long) ms);
        TIMED(ms, r = shbuf_status_lock(sb));
        ck_assert_msg(r == 0 && ms < 1000, "status lock left by the crashed client: %d after %lld ms", r,
                      (long long) ms);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
        ck_assert_int_eq(info.client_alive, 0);
        shbuf_free(sb);
}
END_TEST

/*
 * The peer is the provider, in another pid namespace: we open its buffer,
 * free a handle while it lives, hear its notification, and hear of its
 * crash at once; its buffer is then garbage to shbuf_gc(), although its
 * pid (1) names a live process here.
 */
START_TEST(test_provider_elsewhere) {
        if (!can_unshare()) {
                fprintf(stderr, "check_pidns: new pid namespaces are not allowed here (needs root): skipped\n");
                return;
        }
        const key_t key = t_key(1);
        t_note_key(key);
        struct ns_peer p = spawn_peer("create", key);
        ck_assert_int_eq(t_get(p.from, 10000), 'o');
        /* A handle that follows a live peer elsewhere frees at once. */
        shbuf *sb = shbuf_open(key);
        ck_assert_msg(sb != NULL, "shbuf_open: %s", strerror(errno));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        int64_t ms;
        TIMED(ms, shbuf_free(sb));
        ck_assert_msg(ms < 1000, "shbuf_free took %lld ms", (long long) ms);
        sb = shbuf_open(key);
        ck_assert_msg(sb != NULL, "shbuf_open again: %s", strerror(errno));

        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        ck_assert_int_eq(ask(&p, 'c'), '1');
        ck_assert_int_eq(ask(&p, 'W'), 'k');
        ck_assert_int_eq(shbuf_wait_timeout(sb, 5000), 0);
        unsigned char buf[8];
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 4);
        ck_assert_mem_eq(buf, "ping", 4);

        peer_crash(&p);
        int r, e;
        TIMED(ms, r = wait_for_error(sb, &e));
        ck_assert_msg(r == -1 && e == EPIPE && ms < 1000, "wait after the provider crashed: %d (%s) after %lld ms", r,
                      strerror(e), (long long) ms);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
        ck_assert_int_eq(info.provider_alive, 0);
        shbuf_free(sb);
        ck_assert_int_eq(t_gc_removes(key), 1);
}
END_TEST

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[1], "--peer") == 0)
                return peer_main(argv[2], argv[3]);
        ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
        if (n <= 0) {
                perror("readlink /proc/self/exe");
                return EXIT_FAILURE;
        }
        self_path[n] = 0;

        Suite *s = suite_create("pidns");
        TCase *tc = t_case(s, "pidns", 60);
        t_init();
        tcase_add_test(tc, test_client_elsewhere);
        tcase_add_test(tc, test_provider_elsewhere);
        return t_run(s, "check_pidns");
}
