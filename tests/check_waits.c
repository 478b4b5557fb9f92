/*
 * Waiting through the API: shbuf_wait() and its timeout, wake-ups by the
 * peer's commit and shbuf_notify(), the busy spin before sleeping, and the
 * select descriptor. Backend-neutral: registered once per compiled backend.
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

/* ---- waits ----------------------------------------------------------------- */

/* Opens, looks at the status, says 'r', then must be woken by the provider's
 * shbuf_notify() and find "direct" in the ring. */
static int c_wait_for_edit(key_t key, int in, int out, void *arg) {
        (void) arg;
        unsigned char buf[16];
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        if (shbuf_is_empty(sb) != 1)
                return 11;
        t_put(out, 'r');
        if (shbuf_wait_timeout(sb, 5000) < 0)
                return 12;
        long n = shbuf_read(sb, buf, sizeof(buf));
        shbuf_free(sb);
        return n == 6 && memcmp(buf, "direct", 6) == 0 ? 0 : 13;
}

START_TEST(test_status_lock_edit_notify) {
        shbuf *sb = t_mk(0, 64);
        struct t_child c = t_fork(c_wait_for_edit, t_key(0), NULL);
        ck_assert_int_eq(t_get(c.from, 5000), 'r');
        /* Let it fall asleep first. */
        t_sleep_ms(100);

        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        shbuf_status *st = shbuf_get_status(sb);
        memcpy(shbuf_get_pointer(sb) + st->read_idx, "direct", 6);
        st->length = 6;
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ck_assert_int_eq(shbuf_notify(sb), 0);
        int code = t_finish(&c, 5000);
        ck_assert_msg(code == 0, "the client was not woken or saw wrong data (exit %d)", code);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_wait_wakes_on_commit) {
        shbuf *sb = t_mk(0, 64);
        struct t_child c = t_start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_empty(sb), 1);

        t_command(c.to, 'w');
        int64_t t0 = t_now_ms();
        /* Wake-ups may be spurious: wait until the data is there. */
        while (shbuf_is_empty(sb) == 1) {
                ck_assert_int_eq(shbuf_wait(sb), 0);
                ck_assert_int_lt(t_now_ms() - t0, 5000);
        }
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        /* The client leaves: the next wait reports it. */
        t_command(c.to, 'f');
        ck_assert_int_eq(t_get(c.from, 5000), 'd');
        unsigned char buf[4];
        ck_assert_int_eq(shbuf_read(sb, buf, 4), 3);
        ASSERT_FAILS(shbuf_wait_timeout(sb, 2000), EPIPE);
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
}
END_TEST

/* Opens, says 'o'; at 'g' reads the 8 bytes there and leaves at once. */
static int c_read_and_leave(key_t key, int in, int out, void *arg) {
        (void) arg;
        unsigned char buf[64];
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        t_put(out, 'o');
        if (t_get(in, 5000) != 'g')
                return 11;
        long n = shbuf_read(sb, buf, sizeof(buf));
        shbuf_free(sb);
        return n == 8 ? 0 : 12;
}

/*
 * A peer that commits and leaves while we wait: its commit is news, and the
 * wait that sees both returns it; only the next one fails with EPIPE. The
 * peer commits and leaves between the wait's look for news and its look at
 * the peer, at times: many rounds, each with a new peer (whose first sight
 * makes the wait slower there, wider open to the race).
 */
START_TEST(test_commit_then_leave_is_news) {
        const int rounds = 60;
        for (int i = 0; i < rounds; i++) {
                shbuf *sb = t_mk(0, 4096);
                struct t_child c = t_fork(c_read_and_leave, t_key(0), NULL);
                ck_assert_int_eq(t_get(c.from, 5000), 'o');
                ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "12345678", 8), 8);
                ck_assert_int_eq(shbuf_is_empty(sb), 0);
                t_put(c.to, 'g');
                /* Wait until the reader took it all, as a writer that drains
                 * its ring before it frees it does. */
                int64_t t0 = t_now_ms();
                while (shbuf_is_empty(sb) == 0) {
                        int r = shbuf_wait_timeout(sb, 5000);
                        int e = errno;
                        ck_assert_msg(r == 0, "round %d: the wait failed (%s) with %s unread", i, strerror(e),
                                      shbuf_is_empty(sb) == 1 ? "nothing" : "data");
                        ck_assert_int_lt(t_now_ms() - t0, 5000);
                }
                ck_assert_int_eq(t_finish(&c, 5000), 0);
                /* A look after it left: nothing is news any more. */
                ck_assert_int_eq(shbuf_is_empty(sb), 1);
                ASSERT_FAILS(shbuf_wait_timeout(sb, 2000), EPIPE);
                shbuf_free(sb);
        }
}
END_TEST

/*
 * Hysteresis must not deadlock: a writer asleep for space is woken only once
 * half the ring is free, but a reader that took less than that and then
 * waits for data owes it the wake-up, and sends it before it sleeps.
 */
START_TEST(test_writer_woken_before_reader_sleeps) {
        key_t key = t_key(0);
        shbuf *sb = t_mk(0, 4096);
        pid_t w = fork();
        ck_assert_int_ge(w, 0);
        if (w == 0) {
                shbuf *c = shbuf_open(key);
                unsigned char buf[512];
                unsigned long total = 0;
                memset(buf, 'x', sizeof(buf));
                if (!c)
                        _exit(10);
                while (total < 4096 + 10) {
                        unsigned long want = 4096 + 10 - total;
                        long n = shbuf_write(c, buf, want < sizeof(buf) ? want : sizeof(buf));
                        if (n < 0)
                                _exit(11);
                        if (n == 0 && shbuf_wait_timeout(c, 10000) < 0)
                                _exit(12);
                        total += (unsigned long) n;
                }
                /* Stay attached: leaving would wake the reader by itself. */
                pause();
                _exit(0);
        }
        t_note_pid(w);
        int64_t t0 = t_now_ms();
        while (shbuf_is_full(sb) != 1) {
                ck_assert_int_lt(t_now_ms() - t0, 5000);
                t_sleep_ms(5);
        }
        t_sleep_ms(50); /* let the writer fall asleep for space */
        unsigned char buf[10];
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 10);
        /* The writer needs those 10 bytes; the ring is far from half free.
         * Our wait must still bring the writer's next bytes. */
        t0 = t_now_ms();
        while (shbuf_is_full(sb) != 1) {
                int r = shbuf_wait_timeout(sb, 3000);
                ck_assert_msg(r == 0, "reader wait: %s (the writer was never woken)", strerror(errno));
                ck_assert_int_lt(t_now_ms() - t0, 3000);
        }
        kill(w, SIGKILL);
        t_wait_child(w, 5000);
        shbuf_free(sb);
}
END_TEST

/*
 * A peer caught between its look and its commit: it takes the write (or
 * read) pointer, says 'g', waits for the command's delay in milliseconds
 * (one byte from the command pipe), then commits one byte and stays
 * attached.
 */
static int slow_peer(key_t key, int in, int out, bool reading) {
        shbuf *sb = shbuf_open(key);
        unsigned long l;
        unsigned char *p = !sb       ? NULL
                           : reading ? shbuf_get_read_pointer(sb, &l)
                                     : shbuf_get_write_pointer(sb, &l);
        if (!p || l == 0)
                return 10;
        t_put(out, 'g');
        int delay_ms = (unsigned char) t_get(in, 60000);
        t_sleep_ms(delay_ms);
        if (!reading)
                p[0] = 'x';
        if ((reading ? shbuf_inc_read_pointer(sb, 1) : shbuf_inc_write_pointer(sb, 1)) < 0)
                return 11;
        (void) t_get(in, 60000); /* until told to go */
        return 0;
}

static int c_slow_writer(key_t key, int in, int out, void *arg) {
        (void) arg;
        return slow_peer(key, in, out, false);
}

static int c_slow_reader(key_t key, int in, int out, void *arg) {
        (void) arg;
        return slow_peer(key, in, out, true);
}

struct wait_cost {
        int64_t ms;  /* wall time until the byte (or the room) was there */
        long cpu_us; /* CPU time of this thread meanwhile */
        long sleeps; /* voluntary context switches meanwhile */
};

typedef unsigned char *(*look_fn)(shbuf *, unsigned long *);

/*
 * Wait on sb until look finds something to do (data for
 * shbuf_get_read_pointer, room for shbuf_get_write_pointer), after c (a
 * slow_peer) was told to commit in delay_ms: through shbuf_wait(), or
 * (use_poll) the way a program with an event loop does, poll() on the
 * select descriptor and shbuf_post_select() after every look that found
 * nothing.
 */
static struct wait_cost wait_for_commit(shbuf *sb, struct t_child *c, int delay_ms, bool use_poll,
                                        look_fn look) {
        struct rusage r0, r1;
        struct wait_cost w;
        unsigned long l = 0;

        ck_assert_int_eq(t_get(c->from, 5000), 'g');
        /* Seen before the clock starts: the client's arrival. A look that
         * found nothing would spin for the commit it waits for already. */
        if (!use_poll)
                ck_assert_ptr_nonnull(look(sb, &l));
        /* The library's threads meet the client too (a notifier thread
         * takes its arrival, a watcher starts where there are no pidfds):
         * let them settle, so that what is counted is this thread's wait. */
        t_sleep_ms(20);
        int64_t t0 = t_now_ms();
        getrusage(RUSAGE_THREAD, &r0);
        t_command(c->to, (char) delay_ms);
        if (use_poll) {
                struct pollfd p = {.fd = shbuf_get_select_fd(sb), .events = POLLIN};
                ck_assert_int_ge(p.fd, 0);
                for (;;) {
                        ck_assert_ptr_nonnull(look(sb, &l));
                        if (l > 0)
                                break;
                        ck_assert_int_eq(poll(&p, 1, 5000), 1);
                        ck_assert_msg(shbuf_post_select(sb) == 0, "post_select: %s", strerror(errno));
                }
        }
        while (l == 0) {
                /* The client's arrival may be news once; then the wait is
                 * for the commit. */
                ck_assert_msg(shbuf_wait_timeout(sb, 5000) == 0, "wait: %s", strerror(errno));
                ck_assert_ptr_nonnull(look(sb, &l));
        }
        getrusage(RUSAGE_THREAD, &r1);
        w.ms = t_now_ms() - t0;
        w.cpu_us = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) *
                           1000000L +
                   (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
        w.sleeps = r1.ru_nvcsw - r0.ru_nvcsw;
        return w;
}

/* How a slow-peer measurement goes. */
struct slow_peer_case {
        const char *busy_spin; /* SHBUF_BUSY_SPIN_US for our handle; NULL: unset, the default */
        int delay_ms;          /* the peer commits this long after we start waiting */
        bool use_poll;         /* we wait through the select descriptor */
        bool writing;          /* we wait for room in a full ring, the peer reads */
        int busy_call;         /* >= 0: shbuf_set_busy_spin() with it after the environment */
};

/* The whole measurement: a fresh buffer, a slow peer, the cost of the wait. */
static struct wait_cost wait_for_slow_peer(struct slow_peer_case k) {
        if (k.busy_spin)
                ck_assert_int_eq(setenv("SHBUF_BUSY_SPIN_US", k.busy_spin, 1), 0);
        else
                ck_assert_int_eq(unsetenv("SHBUF_BUSY_SPIN_US"), 0);
        shbuf *sb = t_mk(0, 4096);
        if (k.busy_call >= 0)
                ck_assert_int_eq(shbuf_set_busy_spin(sb, (unsigned) k.busy_call), 0);
        if (k.writing) {
                static unsigned char fill[4096];
                ck_assert_int_eq(shbuf_write(sb, fill, sizeof(fill)), sizeof(fill));
        }
        if (k.use_poll)
                ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);
        struct t_child c = t_fork(k.writing ? c_slow_reader : c_slow_writer, t_key(0), NULL);
        struct wait_cost w = wait_for_commit(sb, &c, k.delay_ms, k.use_poll,
                                             k.writing ? shbuf_get_write_pointer : shbuf_get_read_pointer);
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
        return w;
}

/*
 * A side that waits while the peer is between its look and its commit
 * spins through the transfer instead of sleeping: no voluntary context
 * switch. Loop bit 0 switches the spin off, bit 1 waits through poll(),
 * where the look spins instead of the wait, bit 2 has the writer wait for
 * a slow reader instead of the other way round.
 */
START_TEST(test_wait_spins_through_peer_transfer) {
        bool use_poll = _i & 2, writing = _i & 4;
        if (_i & 1) {
                /* SHBUF_BUSY_SPIN_US=0 switches the spin off, so it sleeps.
                 * The transfer must then outlast any preemption between our
                 * last look and our wait, or the commit could come before
                 * we sleep. */
                struct slow_peer_case k = {"0", 60, use_poll, writing, -1};
                ck_assert_int_ge(wait_for_slow_peer(k).sleeps, 1);
        } else {
                struct slow_peer_case k = {"100000", 5, use_poll, writing, -1};
                ck_assert_int_eq(wait_for_slow_peer(k).sleeps, 0);
        }
}
END_TEST

/* That spin is bounded (20 us by default): a transfer that takes long costs
 * the waiter a sleep, not a busy CPU, and its commit still wakes the waiter.
 * Loop 1 waits through poll(). */
START_TEST(test_wait_spin_is_bounded) {
        struct slow_peer_case k = {NULL, 120, _i == 1, false, -1};
        struct wait_cost w = wait_for_slow_peer(k);
        ck_assert_int_ge(w.ms, 100);
        ck_assert_int_lt(w.ms, 5000);
        ck_assert_msg(w.cpu_us < 50000, "the reader spent %ld us of CPU waiting %lld ms", w.cpu_us,
                      (long long) w.ms);
        ck_assert_int_ge(w.sleeps, 1);
}
END_TEST

/* shbuf_set_busy_spin() overrides the environment, both ways; loop bit 0
 * waits through poll(), where it bounds the look's spin. */
START_TEST(test_set_busy_spin) {
        bool use_poll = _i & 1;
        if (_i & 2) {
                struct slow_peer_case k = {"0", 5, use_poll, false, 100000};
                ck_assert_int_eq(wait_for_slow_peer(k).sleeps, 0);
        } else {
                struct slow_peer_case k = {"100000", 60, use_poll, false, 0};
                ck_assert_int_ge(wait_for_slow_peer(k).sleeps, 1);
        }
        shbuf *sb = t_mk(1, 64);
        ASSERT_FAILS(shbuf_set_busy_spin(sb, 100001), EINVAL);
        ASSERT_FAILS(shbuf_set_busy_spin(NULL, 1), EINVAL);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_wait_timeout) {
        shbuf *sb = t_mk(0, 64);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);

        int64_t t0 = t_now_ms();
        ASSERT_FAILS(shbuf_wait_timeout(sb, 200), ETIMEDOUT);
        int64_t took = t_now_ms() - t0;
        ck_assert_int_ge(took, 190);
        ck_assert_int_lt(took, 2000);
        ASSERT_FAILS(shbuf_wait_timeout(sb, 0), ETIMEDOUT);

        /* Also with a live, idle peer. */
        struct t_child c = t_start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        /* The client's arrival may count as news once. */
        (void) shbuf_wait_timeout(sb, 0);
        t0 = t_now_ms();
        ASSERT_FAILS(shbuf_wait_timeout(sb, 300), ETIMEDOUT);
        took = t_now_ms() - t0;
        ck_assert_int_ge(took, 290);
        ck_assert_int_lt(took, 2000);
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_select_fd) {
        shbuf *sb = t_mk(0, 64);
        unsigned char buf[8];

        ASSERT_FAILS(shbuf_get_select_fd(sb), EINVAL);
        ASSERT_FAILS(shbuf_post_select(sb), EINVAL);
        ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);
        int fd = shbuf_get_select_fd(sb);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);
        ck_assert_int_eq(shbuf_get_select_fd(sb), fd);
        ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
        ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);

        struct t_child c = t_start_client(t_key(0));
        /* The client's arrival may have made it readable: drain. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0)
                ck_assert_int_eq(shbuf_post_select(sb), 0);
        ck_assert_int_eq(poll(&p, 1, 100), 0);

        t_command(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        ck_assert_int_eq(poll(&p, 1, 3000), 1);
        ck_assert_int_ne(p.revents & POLLIN, 0);
        ck_assert_int_eq(shbuf_post_select(sb), 0);
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);
        ck_assert_int_eq(poll(&p, 1, 100), 0);

        /* A second cycle works the same. */
        t_command(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        ck_assert_int_eq(poll(&p, 1, 3000), 1);
        ck_assert_int_eq(shbuf_post_select(sb), 0);
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);

        /* The peer goes away: readable, and post_select says EPIPE. */
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        int64_t t0 = t_now_ms();
        int n = 0;
        while (n == 0 && t_now_ms() - t0 < 3000) {
                ck_assert_int_eq(poll(&p, 1, 3000), 1);
                n = shbuf_post_select(sb) < 0;
                if (n)
                        ck_assert_int_eq(errno, EPIPE);
        }
        ck_assert_msg(n, "post_select did not report the peer's departure");

        ck_assert_int_eq(shbuf_notify_enable(sb, 0), 0);
        ASSERT_FAILS(shbuf_get_select_fd(sb), EINVAL);
        ck_assert_int_eq(shbuf_notify_enable(sb, 0), 0);
        shbuf_free(sb);
}
END_TEST

/* ---- main ----------------------------------------------------------------- */

int main(void) {
        Suite *s = suite_create("waits");
        TCase *tc;

        t_init();
        tc = t_case(s, "waits", 20);
        tcase_add_test(tc, test_status_lock_edit_notify);
        tcase_add_test(tc, test_wait_wakes_on_commit);
        tcase_add_test(tc, test_commit_then_leave_is_news);
        tcase_add_test(tc, test_wait_timeout);
        tcase_add_test(tc, test_writer_woken_before_reader_sleeps);
        tcase_add_loop_test(tc, test_wait_spins_through_peer_transfer, 0, 8);
        tcase_add_loop_test(tc, test_wait_spin_is_bounded, 0, 2);
        tcase_add_loop_test(tc, test_set_busy_spin, 0, 4);
        tcase_add_test(tc, test_select_fd);

        return t_run(s, "check_waits");
}
