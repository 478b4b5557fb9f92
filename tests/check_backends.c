/*
 * Backend choice: the list of compiled backends, opening whichever backend
 * made a buffer, keys unique across backends, the fallback when SysV is
 * unusable, and a POSIX buffer made and used by an unprivileged user.
 *
 * These tests are about backends themselves, so they are registered once,
 * not once per backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "test-util.h"

static shbuf *create_on(const char *backend, key_t key, unsigned long size) {
        shbuf_options o = {.backend = backend};
        shbuf *sb = shbuf_create_with(key, size, &o);
        if (sb)
                t_note_key(shbuf_get_key(sb));
        return sb;
}

START_TEST(test_backend_list) {
        const char *const *list = shbuf_backends();
        size_t n = 0;
        ck_assert_ptr_nonnull(list);
        for (; list[n]; n++)
                ck_assert(strcmp(list[n], "sysv") == 0 || strcmp(list[n], "posix") == 0);
        ck_assert_uint_ge(n, 1);
        /* The default comes first. */
        ck_assert_str_eq(list[0], shbuf_default_backend());
        ck_assert_int_eq(t_have_backend("sysv"), SHBUF_TEST_HAVE_SYSV);
        ck_assert_int_eq(t_have_backend("posix"), SHBUF_TEST_HAVE_POSIX);
        ck_assert_str_eq(shbuf_default_backend(), SHBUF_TEST_DEFAULT);
}
END_TEST

/* A provider on each backend; a client in another process that names no
 * backend finds it and reports the right backend. */
START_TEST(test_open_finds_any_backend) {
        const char *const *list = shbuf_backends();
        for (size_t i = 0; list[i]; i++) {
                /* t_key() depends on the pid: compute it before forking. */
                key_t key = t_key(10 + i);
                shbuf *p = create_on(list[i], key, 8192);
                ck_assert_msg(p, "create on %s: %s", list[i], strerror(errno));
                ck_assert_str_eq(shbuf_get_backend(p), list[i]);
                ck_assert_int_eq(shbuf_write(p, (const unsigned char *) "hello", 5), 5);

                pid_t c = fork();
                ck_assert_int_ge(c, 0);
                if (c == 0) {
                        /* Whatever SHBUF_BACKEND says, opening searches all. */
                        setenv("SHBUF_BACKEND", list[i][0] == 's' ? "posix" : "sysv", 1);
                        shbuf *s = shbuf_open(key);
                        unsigned char buf[8];
                        if (!s)
                                _exit(10);
                        if (strcmp(shbuf_get_backend(s), list[i]) != 0)
                                _exit(11);
                        if (shbuf_read(s, buf, sizeof(buf)) != 5 || memcmp(buf, "hello", 5) != 0)
                                _exit(12);
                        shbuf_free(s);
                        _exit(0);
                }
                ck_assert_int_eq(t_exit_code(t_wait_child(c, 10000)), 0);
                shbuf_free(p);
        }
}
END_TEST

/* One key names one buffer, whatever the backend. */
START_TEST(test_key_unique_across_backends) {
        if (!SHBUF_TEST_HAVE_SYSV || !SHBUF_TEST_HAVE_POSIX)
                return;
        shbuf *a = create_on("sysv", t_key(20), 4096);
        ck_assert_ptr_nonnull(a);
        errno = 0;
        ck_assert_ptr_null(create_on("posix", t_key(20), 4096));
        ck_assert_int_eq(errno, EEXIST);
        shbuf_free(a);
        a = create_on("posix", t_key(20), 4096);
        ck_assert_ptr_nonnull(a);
        errno = 0;
        ck_assert_ptr_null(create_on("sysv", t_key(20), 4096));
        ck_assert_int_eq(errno, EEXIST);
        shbuf_free(a);
}
END_TEST

/*
 * Make SysV IPC unavailable to this process, as a seccomp policy of a
 * sandbox or container would: shmget, semget and msgget fail with ENOSYS.
 */
static void disable_sysv(void) {
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_shmget, 2, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_semget, 1, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_msgget, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                _exit(99);
}

START_TEST(test_fallback_when_sysv_unusable) {
        if (!SHBUF_TEST_HAVE_SYSV || !SHBUF_TEST_HAVE_POSIX || strcmp(SHBUF_TEST_DEFAULT, "sysv") != 0)
                return;
        pid_t c = fork();
        ck_assert_int_ge(c, 0);
        if (c == 0) {
                t_note_pid(getpid());
                unsetenv("SHBUF_BACKEND");
                disable_sysv();
                /* No name anywhere: falls back, and says why. */
                shbuf *sb = shbuf_create(0, 4096);
                if (!sb)
                        _exit(10);
                t_note_key(shbuf_get_key(sb));
                if (strcmp(shbuf_get_backend(sb), "posix") != 0)
                        _exit(11);
                if (shbuf_get_fallback_errno(sb) != ENOSYS)
                        _exit(12);
                shbuf_free(sb);
                /* A named backend never falls back: per call... */
                shbuf_options o = {.backend = "sysv"};
                errno = 0;
                if (shbuf_create_with(0, 4096, &o) || errno != ENOSYS)
                        _exit(13);
                /* ... nor through the environment. */
                setenv("SHBUF_BACKEND", "sysv", 1);
                errno = 0;
                if (shbuf_create(0, 4096) || errno != ENOSYS)
                        _exit(14);
                _exit(0);
        }
        ck_assert_int_eq(t_exit_code(t_wait_child(c, 10000)), 0);

        /* Without trouble there is no fallback. */
        unsetenv("SHBUF_BACKEND");
        shbuf *sb = t_create(0, 4096);
        ck_assert_ptr_nonnull(sb);
        ck_assert_str_eq(shbuf_get_backend(sb), "sysv");
        ck_assert_int_eq(shbuf_get_fallback_errno(sb), 0);
        shbuf_free(sb);
}
END_TEST

/*
 * An unprivileged user (nobody) creates a POSIX buffer within the default
 * mqueue limits, a second process of that user opens it, data goes through,
 * and freeing leaves nothing.
 */
START_TEST(test_posix_unprivileged) {
        if (!SHBUF_TEST_HAVE_POSIX)
                return;
        if (geteuid() != 0)
                return; /* needs root to become nobody; CI runs as root */
        pid_t c = fork();
        ck_assert_int_ge(c, 0);
        if (c == 0) {
                t_note_pid(getpid());
                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(20);
                shbuf_options o = {.backend = "posix"};
                shbuf *p = shbuf_create_with(0, 65536, &o);
                if (!p)
                        _exit(21);
                t_note_key(shbuf_get_key(p));
                key_t key = shbuf_get_key(p);
                pid_t r = fork();
                if (r == 0) {
                        shbuf *s = shbuf_open(key);
                        unsigned char buf[64];
                        long got = 0;
                        if (!s)
                                _exit(30);
                        while (got < 5) {
                                long n = shbuf_read(s, buf + got, sizeof(buf) - (size_t) got);
                                if (n < 0)
                                        _exit(31);
                                if (n == 0 && shbuf_wait_timeout(s, 5000) < 0)
                                        _exit(32);
                                got += n;
                        }
                        shbuf_free(s);
                        _exit(memcmp(buf, "12345", 5) == 0 ? 0 : 33);
                }
                if (shbuf_write(p, (const unsigned char *) "12345", 5) != 5)
                        _exit(22);
                int st = t_wait_child(r, 10000);
                shbuf_free(p);
                _exit(t_exit_code(st));
        }
        ck_assert_int_eq(t_exit_code(t_wait_child(c, 20000)), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("backends");
        TCase *tc = t_case(s, "choice", 30);
        tcase_add_test(tc, test_backend_list);
        tcase_add_test(tc, test_open_finds_any_backend);
        tcase_add_test(tc, test_key_unique_across_backends);
        tcase_add_test(tc, test_fallback_when_sysv_unusable);
        tcase_add_test(tc, test_posix_unprivileged);

        t_init();
        return t_run(s, "check_backends");
}
