/*
 * The calls the tools are made of: shbuf_list(), shbuf_inspect(),
 * shbuf_remove() and shbuf_gc(). Backend-neutral: registered once per
 * compiled backend; it runs gc, so never at the same time as another test
 * that does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "client.h"
#include "test-util.h"

/* ---- tooling ----------------------------------------------------------------- */

static bool find_info(shbuf_info *list, size_t n, key_t key, shbuf_info *ret) {
        for (size_t i = 0; i < n; i++) {
                if (list[i].key == key) {
                        *ret = list[i];
                        return true;
                }
        }
        return false;
}

START_TEST(test_list_inspect) {
        shbuf *sb = t_mk(0, 5000);
        shbuf_info *list = NULL, info;
        size_t n = 0;

        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "abc", 3), 3);
        ck_assert_int_eq(shbuf_list(&list, &n), 0);
        ck_assert_msg(find_info(list, n, t_key(0), &info), "shbuf_list does not show 0x%08x",
                      (unsigned) t_key(0));
        free(list);
        ck_assert_str_eq(info.backend, t_backend());
        ck_assert_uint_eq(info.size, 5000);
        ck_assert_int_eq(info.provider_pid, getpid());
        ck_assert_int_eq(info.provider_alive, 1);
        ck_assert_int_eq(info.client_attached, 0);
        ck_assert_int_eq(info.status_valid, 1);
        ck_assert_uint_eq(info.status.length, 3);
        ck_assert_uint_eq(info.mode & 0777, 0600);
        ck_assert_uint_eq(info.uid, getuid());

        struct t_child c = t_start_client(t_key(0));
        ck_assert_int_eq(shbuf_inspect(t_key(0), NULL, &info), 0);
        ck_assert_int_eq(info.key, t_key(0));
        ck_assert_str_eq(info.backend, t_backend());
        ck_assert_int_eq(info.client_attached, 1);
        ck_assert_int_eq(info.client_alive, 1);
        ck_assert_int_eq(info.client_pid, c.pid);
        ck_assert_int_eq(shbuf_inspect(t_key(0), t_backend(), &info), 0);
        for (const char *const *b = shbuf_backends(); *b; b++)
                if (strcmp(*b, t_backend()) != 0)
                        ASSERT_FAILS(shbuf_inspect(t_key(0), *b, &info), ENOENT);
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        ck_assert_int_eq(shbuf_inspect(t_key(0), NULL, &info), 0);
        ck_assert_int_eq(info.client_attached, 0);

        ASSERT_FAILS(shbuf_inspect(t_key(1), NULL, &info), ENOENT);
        shbuf_free(sb);
        ASSERT_FAILS(shbuf_inspect(t_key(0), NULL, &info), ENOENT);
}
END_TEST

/* A provider that dies without shbuf_free(). */
static int c_crashing_provider(key_t key, int in, int out, void *arg) {
        (void) arg;
        shbuf *sb = t_create(key, 256);
        if (!sb)
                return 1;
        _exit(0);
}

START_TEST(test_remove_and_gc) {
        const key_t stale = t_key(0), live = t_key(1), other = t_key(2);
        shbuf_info info, *list = NULL;
        size_t n = 0;

        struct t_child c = t_fork(c_crashing_provider, stale, NULL);
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        ck_assert_int_eq(shbuf_inspect(stale, NULL, &info), 0);
        ck_assert_int_eq(info.provider_alive, 0);

        shbuf *sb = t_mk(1, 64);
        /* Dry run: reported, not removed. */
        ck_assert_int_eq(shbuf_gc(1, &list, &n), 0);
        ck_assert(find_info(list, n, stale, &info));
        ck_assert(!find_info(list, n, live, &info));
        free(list);
        ck_assert_int_eq(shbuf_inspect(stale, NULL, &info), 0);

        ck_assert_int_eq(shbuf_gc(0, &list, &n), 0);
        ck_assert(find_info(list, n, stale, &info));
        ck_assert(!find_info(list, n, live, &info));
        free(list);
        ASSERT_FAILS(shbuf_inspect(stale, NULL, &info), ENOENT);
        ck_assert_int_eq(shbuf_inspect(live, NULL, &info), 0);
        /* The key is free again. */
        shbuf *again = t_create(stale, 64);
        ck_assert_msg(again != NULL, "recreating after gc: %s", strerror(errno));
        shbuf_free(again);

        /* shbuf_remove() under a live provider: it hears of it. */
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        ck_assert_int_eq(shbuf_remove(live, NULL), 0);
        ASSERT_FAILS(shbuf_inspect(live, NULL, &info), ENOENT);
        /* Wake-ups may be spurious (the removal itself wakes the peers):
         * within a second, a wait must report EPIPE. */
        int64_t t0 = t_now_ms();
        int r;
        while ((r = shbuf_wait_timeout(sb, 3000)) == 0 && t_now_ms() - t0 < 1000)
                ;
        ck_assert_msg(r == -1 && errno == EPIPE, "wait after removal: %d (%s)", r, strerror(errno));
        ck_assert_int_lt(t_now_ms() - t0, 1000);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        shbuf_free(sb);

        ASSERT_FAILS(shbuf_remove(other, NULL), ENOENT);
        ASSERT_FAILS(shbuf_remove(0, NULL), ENOENT);
}
END_TEST

/* ---- main ----------------------------------------------------------------- */

int main(void) {
        Suite *s = suite_create("tooling");
        TCase *tc;

        t_init();
        tc = t_case(s, "tooling", 20);
        tcase_add_test(tc, test_list_inspect);
        tcase_add_test(tc, test_remove_and_gc);

        return t_run(s, "check_tooling");
}
