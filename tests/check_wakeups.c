/*
 * The wake-up channel cannot be filled: at most one wake-up per direction
 * is in flight whatever the peer does, and deadlines and the peer's death
 * reach a sleeper even when a neighbour filled the channel with junk.
 *
 *   - a client that calls shbuf_notify() 20,000 times while the provider
 *     never sleeps leaves at most one wake-up queued per side; afterwards
 *     timed waits end on time, the other direction's wake-ups arrive, the
 *     peer's death ends a wait and shbuf_free() returns;
 *   - the same with the channel filled to the brim by a stranger.
 *
 * Registered once per compiled backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "test-util.h"

#define FLOOD 20000

/* Wake-ups queued in the channel of key, towards side (0 provider, 1
 * client), as the kernel counts them; -1 if they cannot be counted. */
static long queued(key_t key, int side) {
        return t_desc()->wakeups_queued(key, side);
}

/* Fill the channel of key towards side with messages no side takes. */
static int fill_channel(key_t key, int side) {
        return t_desc()->fill_wakeups(key, side);
}

/*
 * The client: opens, says 'o', then obeys: 'n' notify FLOOD times, 'r'
 * wait for data and read it back ('x' for what it read), 'z' sleep until
 * killed. Exit codes above 0 are failures.
 */
static int p_client(key_t key, int in, int out, void *arg) {
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        t_put(out, 'o');
        for (;;) {
                char c = t_get(in, 60000);
                switch (c) {
                case 'n':
                        for (int i = 0; i < FLOOD; i++)
                                if (shbuf_notify(sb) < 0)
                                        return 11;
                        t_put(out, 'n');
                        break;
                case 'r': {
                        unsigned char buf[8];
                        int64_t until = t_now_ms() + 5000;
                        long n;
                        while ((n = shbuf_read(sb, buf, sizeof(buf))) == 0 && t_now_ms() < until)
                                if (shbuf_wait_timeout(sb, 5000) < 0 && errno != ETIMEDOUT)
                                        return 12;
                        t_put(out, n == 1 ? (char) buf[0] : 'E');
                        break;
                }
                case 'z':
                        pause();
                        return 0;
                default:
                        shbuf_free(sb);
                        return 0;
                }
        }
}

/* What follows a flood, or a filled channel: everything still works. */
static void everything_still_works(shbuf *sb, struct t_child *c) {
        /* The news is taken once; then a timed wait times out, on time. */
        (void) shbuf_wait_timeout(sb, 0);
        int64_t t0 = t_now_ms();
        int r = shbuf_wait_timeout(sb, 300);
        int err = errno;
        int64_t took = t_now_ms() - t0;
        ck_assert_msg(r == -1 && err == ETIMEDOUT, "timed wait: %d (%s)", r, strerror(err));
        ck_assert_msg(took >= 250 && took < 2000, "a 300 ms wait took %lld ms", (long long) took);

        /* The other direction's wake-up arrives. */
        t_put(c->to, 'r');
        t_sleep_ms(50);
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "x", 1), 1);
        ck_assert_int_eq(t_get(c->from, 3000), 'x');

        /* The peer's death ends a wait, promptly. */
        t_put(c->to, 'z');
        t_sleep_ms(50);
        kill(c->pid, SIGKILL);
        t0 = t_now_ms();
        while ((r = shbuf_wait_timeout(sb, 3000)) == 0 && t_now_ms() - t0 < 3000)
                ;
        err = errno;
        ck_assert_msg(r == -1 && err == EPIPE, "wait after the peer's death: %d (%s)", r, strerror(err));
        ck_assert_int_lt(t_now_ms() - t0, 1000);
        t_finish(c, 5000);
        t0 = t_now_ms();
        shbuf_free(sb);
        ck_assert_int_lt(t_now_ms() - t0, 1000);
}

START_TEST(test_notify_flood) {
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, 4096);
        ck_assert_ptr_nonnull(sb);
        struct t_child c = t_fork(p_client, key, NULL);
        ck_assert_int_eq(t_get(c.from, 5000), 'o');
        /* The provider sleeps once, then never again while the flood lasts. */
        (void) shbuf_wait_timeout(sb, 50);
        (void) shbuf_wait_timeout(sb, 50);
        t_put(c.to, 'n');
        ck_assert_int_eq(t_get(c.from, 30000), 'n');
        long q = queued(key, 0);
        ck_assert_msg(q >= 0 && q <= 2, "%d notifies left %ld wake-ups queued", FLOOD, q);
        everything_still_works(sb, &c);
}
END_TEST

START_TEST(test_channel_filled_by_a_stranger) {
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, 4096);
        ck_assert_ptr_nonnull(sb);
        struct t_child c = t_fork(p_client, key, NULL);
        ck_assert_int_eq(t_get(c.from, 5000), 'o');
        int n = fill_channel(key, 0);
        ck_assert_msg(n > 0, "could not fill the channel (%d)", n);
        fprintf(stderr, "%s: %d messages of a stranger fill the channel\n", t_backend(), n);
        everything_still_works(sb, &c);
}
END_TEST

int main(void) {
        Suite *s = suite_create("wakeups");
        TCase *tc = t_case(s, "wakeups", 120);

        t_init();
        tcase_add_test(tc, test_notify_flood);
        tcase_add_test(tc, test_channel_filled_by_a_stranger);
        return t_run(s, "check_wakeups");
}
