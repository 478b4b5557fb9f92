/*
 * Permissions, limits and leaks:
 *
 *   - new objects are 0600, every one of them; a process of another user
 *     (a child that drops to uid/gid 65534) gets EACCES, and after
 *     shbuf_access(sb, 0666) it can open the buffer and stream both ways;
 *   - a size beyond the system's limits or memory gets the OS error and
 *     leaves nothing behind;
 *   - 10,000 create/open/free cycles leave no IPC object, no descriptor and
 *     no heap memory (LeakSanitizer in the sanitizer build; SHBUF_LEAK_CYCLES
 *     overrides the count, the sanitizer build runs 2,000).
 *
 * Foreign SysV objects under a key are check_ipcs'.
 *
 * Registered once per compiled backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "test-util.h"

#define RING 12345 /* an odd size, to find the SysV data segment by it */
#define NOBODY 65534

static bool is_sysv(void) {
        return strcmp(t_backend(), "sysv") == 0;
}

/* ---- permissions ------------------------------------------------------------ */

static void assert_modes(key_t key, unsigned want) {
        struct t_object o[8];
        int n = t_collect_objects(key, getpid(), RING, o, 8);
        ck_assert_msg(n == t_desc()->nobjects, "found %d objects of the buffer, expected %d", n,
                      t_desc()->nobjects);
        for (int i = 0; i < n; i++)
                ck_assert_msg(o[i].mode == want, "%s %s has mode %03o, expected %03o", o[i].kind, o[i].name,
                              o[i].mode, want);
}

/*
 * As uid/gid 65534: open the buffer; exit code errno on failure. With it
 * open: write "ping", wait until the provider took it, then wait for "pong".
 */
static int p_nobody(key_t key, int in, int out, void *arg) {
        (void) in;
        (void) arg;
        if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                return 100;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return errno;
        t_put(out, 'o');
        if (shbuf_write(sb, (const unsigned char *) "ping", 4) != 4)
                return 101;
        int64_t deadline = t_now_ms() + 10000;
        for (;;) {
                if (shbuf_status_lock(sb) < 0)
                        return 102;
                unsigned long reads = shbuf_get_status(sb)->read_count;
                shbuf_status_unlock(sb);
                if (reads >= 1)
                        break;
                if (t_now_ms() > deadline || (shbuf_wait_timeout(sb, 1000) < 0 && errno != ETIMEDOUT))
                        return 103;
        }
        unsigned char buf[8];
        long got = 0;
        while (got < 4) {
                long n = shbuf_read(sb, buf + got, 4 - (unsigned long) got);
                if (n < 0)
                        return 104;
                got += n;
                if (got < 4 &&
                    (t_now_ms() > deadline || (shbuf_wait_timeout(sb, 1000) < 0 && errno != ETIMEDOUT)))
                        return 105;
        }
        shbuf_free(sb);
        return memcmp(buf, "pong", 4) == 0 ? 0 : 106;
}

START_TEST(test_permissions) {
        if (geteuid() != 0) {
                fprintf(stderr, "permissions: not root, cannot start a process of another user; skipped\n");
                return;
        }
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        assert_modes(key, 0600);

        struct t_child c = t_fork(p_nobody, key, NULL);
        int code = t_finish(&c, 10000);
        ck_assert_msg(code == EACCES, "uid %d opened a 0600 buffer: %s", NOBODY,
                      code == 0  ? "it worked"
                      : code > 0 ? strerror(code)
                                 : "crashed");

        ck_assert_int_eq(shbuf_access(sb, 0666), 0);
        assert_modes(key, 0666);
        c = t_fork(p_nobody, key, NULL);
        ck_assert_int_gt(c.pid, 0);
        char r = t_get(c.from, 10000);
        if (r != 'o') {
                code = t_finish(&c, 5000);
                ck_abort_msg("uid %d could not open after shbuf_access(0666): %s", NOBODY,
                             code > 0 && code < 100 ? strerror(code) : "failed");
        }
        unsigned char buf[8];
        long got = 0;
        int64_t deadline = t_now_ms() + 10000;
        while (got < 4 && t_now_ms() < deadline) {
                long n = shbuf_read(sb, buf + got, 4 - (unsigned long) got);
                ck_assert_int_ge(n, 0);
                got += n;
                if (got < 4)
                        (void) shbuf_wait_timeout(sb, 500);
        }
        ck_assert_int_eq(got, 4);
        ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
        /* The other side's status edits may make a write come back empty:
         * then it waits, like any writer. */
        long put = 0;
        while ((put = shbuf_write(sb, (const unsigned char *) "pong", 4)) == 0 && t_now_ms() < deadline)
                (void) shbuf_wait_timeout(sb, 500);
        ck_assert_int_eq(put, 4);
        code = t_finish(&c, 10000);
        ck_assert_msg(code == 0, "the other user's side failed (%d)", code);
        shbuf_free(sb);
        char desc[512];
        ck_assert_msg(t_objects(key, getpid(), desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

/* ---- limits ------------------------------------------------------------------ */

static unsigned long read_ulong(const char *path) {
        FILE *f = fopen(path, "re");
        unsigned long long v = 0;
        if (f) {
                if (fscanf(f, "%llu", &v) != 1)
                        v = 0;
                fclose(f);
        }
        return (unsigned long) v;
}

START_TEST(test_too_big) {
        const key_t key = t_key(0);
        unsigned long sizes[5];
        int n = 0;
        sizes[n++] = 1UL << 40;                    /* 1 TiB: beyond memory and /dev/shm */
        sizes[n++] = (1UL << 40) * 64;             /* 64 TiB: beyond the address space a mapping may take */
        sizes[n++] = (unsigned long) LONG_MAX + 1; /* counts would not fit the API's long */
        sizes[n++] = ULONG_MAX;
        unsigned long shmmax = read_ulong("/proc/sys/kernel/shmmax");
        if (is_sysv() && shmmax > 0 && shmmax < (1UL << 40))
                sizes[n++] = shmmax + 1;
        const bool overcommit = read_ulong("/proc/sys/vm/overcommit_memory") == 1;
        const int fds = t_fd_count();

        for (int i = 0; i < n; i++) {
                errno = 0;
                shbuf *sb = shbuf_create(key, sizes[i]);
                int e = errno;
                if (sb && overcommit && is_sysv()) {
                        /* With vm.overcommit_memory=1 the kernel grants any segment. */
                        fprintf(stderr, "size %lu: granted (overcommit_memory=1)\n", sizes[i]);
                        shbuf_free(sb);
                        continue;
                }
                if (sb)
                        shbuf_free(sb);
                ck_assert_msg(sb == NULL, "a buffer of %lu bytes was created", sizes[i]);
                ck_assert_msg(e == ENOMEM || e == ENOSPC || e == EINVAL || e == EFBIG,
                              "size %lu: errno %d (%s), expected ENOMEM, ENOSPC, EINVAL or EFBIG", sizes[i],
                              e, strerror(e));
                fprintf(stderr, "%s: size %lu: %s\n", t_backend(), sizes[i], strerror(e));
                char desc[512];
                ck_assert_msg(t_objects(key, getpid(), desc, sizeof(desc)) == 0, "size %lu left: %s",
                              sizes[i], desc);
        }
        ck_assert_int_eq(t_fd_count(), fds);
        /* The key is still free. */
        shbuf *sb = t_create(key, 64);
        ck_assert_msg(sb != NULL, "shbuf_create after the failures: %s", strerror(errno));
        shbuf_free(sb);
}
END_TEST

/* ---- leaks ----------------------------------------------------------------------- */

static void one_cycle(key_t key, unsigned long i) {
        shbuf *p = shbuf_create(key, 4096);
        ck_assert_msg(p != NULL, "cycle %lu: shbuf_create: %s", i, strerror(errno));
        shbuf *c = shbuf_open(key);
        ck_assert_msg(c != NULL, "cycle %lu: shbuf_open: %s", i, strerror(errno));
        unsigned char b[16] = "0123456789abcdef";
        ck_assert_int_eq(shbuf_write(p, b, sizeof(b)), (long) sizeof(b));
        ck_assert_int_eq(shbuf_read(c, b, sizeof(b)), (long) sizeof(b));
        if (i % 10 == 0) {
                /* The notifier (a thread on SysV), the select descriptor and
                 * a wait (the sentinel on SysV) on some cycles. */
                ck_assert_int_eq(shbuf_notify_enable(c, 1), 0);
                ck_assert_int_ge(shbuf_get_select_fd(c), 0);
                (void) shbuf_wait_timeout(p, 0);
                (void) shbuf_wait_timeout(p, 1);
                (void) shbuf_is_connected(c);
        }
        shbuf_free(c);
        shbuf_free(p);
}

START_TEST(test_no_leaks) {
        const unsigned long cycles = t_env_u64("SHBUF_LEAK_CYCLES", t_sanitized() ? 2000 : 10000);
        const key_t key = t_key(0);
        t_note_key(key);
        /* Let the C library set up whatever it keeps for good. */
        for (unsigned long i = 0; i < 50; i++)
                one_cycle(key, i);
        const int fds = t_fd_count();
        const size_t heap = mallinfo2().uordblks;
        const int64_t t0 = t_now_ms();
        for (unsigned long i = 0; i < cycles; i++)
                one_cycle(key, i);
        const int64_t took = t_now_ms() - t0;
        const long grown = (long) mallinfo2().uordblks - (long) heap;
        fprintf(stderr, "%s: %lu create/open/free cycles in %lld ms, heap %+ld bytes\n", t_backend(), cycles,
                (long long) took, grown);
        ck_assert_int_eq(t_fd_count(), fds);
        char desc[512];
        ck_assert_msg(t_objects(key, getpid(), desc, sizeof(desc)) == 0, "left behind: %s", desc);
        /* The sanitizers' allocator is not malloc's: LeakSanitizer checks at exit instead. */
        if (!t_sanitized())
                ck_assert_msg(grown < 64 * 1024, "the heap grew by %ld bytes over %lu cycles", grown,
                              cycles);
}
END_TEST

int main(void) {
        Suite *s = suite_create("limits");
        TCase *tc = t_case(s, "limits", 120);

        t_init();
        tcase_add_test(tc, test_permissions);
        tcase_add_test(tc, test_too_big);
        tcase_add_test(tc, test_no_leaks);

        return t_run(s, "check_limits");
}
