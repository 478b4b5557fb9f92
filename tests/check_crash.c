/*
 * Crashed peers and removed objects:
 *
 *   - a peer killed with SIGKILL while this side is blocked in shbuf_wait(),
 *     in poll() on the select descriptor, or waiting for the status lock the
 *     dead peer held: EPIPE (or the lock) within 1 s;
 *   - a holder that died with the lock held and the status half-written:
 *     the next call recovers the lock and validates the status (EPROTO for
 *     an impossible one, never a crash, never the lock left held);
 *   - an idle wait with a healthy peer costs (almost) no CPU and no
 *     periodic wake-ups;
 *   - a provider killed without shbuf_free(): shbuf_gc() removes its
 *     objects (not while a live client is attached), then the key can be
 *     created again; a client killed without shbuf_free() does not keep a
 *     new client out;
 *   - clients racing for the client slot: one gets in, the others EBUSY;
 *   - objects removed under a running pair (shbuf_remove(), ipcrm,
 *     shm_unlink + mq_unlink): both sides get EPIPE, no crash, no hang.
 *
 * Peers are forked children that open the buffer anew. Registered once per
 * compiled backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "layout.h"
#include "test-util.h"

extern char **environ;

#define RING 65536

/* ---- peers ---------------------------------------------------------------- */

enum peer_mode {
        PEER_OPEN = 1 << 0,     /* open (else create) */
        PEER_LOCK = 1 << 1,     /* take the status lock before saying ready */
        PEER_SCRIBBLE = 1 << 2, /* with the lock held, make the status impossible */
        PEER_HALF = 1 << 3,     /* with the lock held, write a valid but new status */
};

/*
 * A peer that creates or opens the buffer, says 'r', then obeys: 'n' notify,
 * 'w' write "hello", 'f' free and exit, 'k' die at once (SIGKILL itself),
 * 'S' stop (SIGSTOP itself), 'u' release the status lock, 'L' say 'l',
 * take the status lock and say 'L'.
 * 'E' and the errno as exit code if creating or opening failed.
 */
static int p_peer(key_t key, int in, int out, void *arg) {
        int mode = (int) (intptr_t) arg;
        shbuf *sb = mode & PEER_OPEN ? shbuf_open(key) : shbuf_create(key, RING);
        if (!sb) {
                int e = errno;
                t_put(out, 'E');
                return e;
        }
        if (mode & PEER_LOCK) {
                if (shbuf_status_lock(sb) < 0) {
                        t_put(out, 'L');
                        return 1;
                }
                shbuf_status *st = shbuf_get_status(sb);
                if (mode & PEER_SCRIBBLE)
                        st->length = RING + 1; /* impossible: more unread bytes than the ring holds */
                if (mode & PEER_HALF) {
                        st->read_idx = 7;
                        st->length = 3;
                }
        }
        t_put(out, 'r');
        for (;;) {
                char c = t_get(in, 60000);
                switch (c) {
                case 'n':
                        t_put(out, shbuf_notify(sb) == 0 ? 'n' : 'E');
                        break;
                case 'w':
                        t_put(out, shbuf_write(sb, (const unsigned char *) "hello", 5) == 5 ? 'w' : 'E');
                        break;
                case 'k':
                        raise(SIGKILL);
                        break;
                case 'S':
                        /* Stopped where it stands, the lock held if it has
                         * it: the other side must not hang on it. */
                        t_put(out, 'S');
                        raise(SIGSTOP);
                        break;
                case 'u':
                        t_put(out, shbuf_status_unlock(sb) == 0 ? 'u' : 'E');
                        break;
                case 'L':
                        /* Try the lock; it answers only if it got it. */
                        t_put(out, 'l');
                        t_put(out, shbuf_status_lock(sb) == 0 ? 'L' : 'E');
                        break;
                case 'f':
                        shbuf_free(sb);
                        return 0;
                default: /* EOF: as if it crashed */
                        _exit(0);
                }
        }
}

static struct t_child start_peer(key_t key, int mode) {
        struct t_child c = t_fork(p_peer, key, (void *) (intptr_t) mode);
        ck_assert_int_gt(c.pid, 0);
        char r = t_get(c.from, 10000);
        ck_assert_msg(r == 'r', "the peer did not get ready (%c)", r ? r : '?');
        return c;
}

/* ---- the killer: SIGKILLs a pid after a delay, from a thread ---------------- */

/*
 * The killed peer is our own child, so it stays a zombie until we reap it.
 * A real peer's parent reaps it independently of us; to see whether the
 * library needs that, the killer reaps only after the blocked call returned,
 * or after REAP_GRACE_MS, noting that it had to.
 */
#define REAP_GRACE_MS 2000

struct killer {
        pthread_t thread;
        pid_t pid;
        int delay_ms;
        _Atomic int64_t killed_at;
        atomic_bool returned;    /* set by the blocked thread */
        atomic_bool had_to_reap; /* the call returned only once the zombie was reaped */
        int status;
};

static void *killer_main(void *arg) {
        struct killer *k = arg;
        t_sleep_ms(k->delay_ms);
        atomic_store(&k->killed_at, t_now_ms());
        kill(k->pid, SIGKILL);
        int64_t until = t_now_ms() + REAP_GRACE_MS;
        while (!atomic_load(&k->returned) && t_now_ms() < until)
                t_sleep_ms(5);
        if (!atomic_load(&k->returned))
                atomic_store(&k->had_to_reap, true);
        while (waitpid(k->pid, &k->status, 0) < 0 && errno == EINTR)
                ;
        return NULL;
}

static void killer_start(struct killer *k, pid_t pid, int delay_ms) {
        k->pid = pid;
        k->delay_ms = delay_ms;
        atomic_store(&k->killed_at, 0);
        atomic_store(&k->returned, false);
        atomic_store(&k->had_to_reap, false);
        ck_assert_int_eq(pthread_create(&k->thread, NULL, killer_main, k), 0);
}

static int64_t killer_join(struct killer *k) {
        atomic_store(&k->returned, true);
        pthread_join(k->thread, NULL);
        return atomic_load(&k->killed_at);
}

/* ---- killed while blocked ------------------------------------------------- */

enum blocked_in { IN_WAIT, IN_POLL, IN_LOCK };
static const char *const blocked_name[] = {"shbuf_wait", "poll on the select descriptor", "the status lock"};

/*
 * _i: bit 0 = the test is the client (the killed peer is the provider),
 * _i / 2 = where the test is blocked.
 */
START_TEST(test_killed_while_blocked) {
        const bool test_is_client = _i % 2;
        const enum blocked_in where = (enum blocked_in)(_i / 2);
        const key_t key = t_key(0);
        shbuf *sb = NULL;
        struct t_child peer;
        struct killer k;
        int mode = where == IN_LOCK ? PEER_LOCK : 0;

        if (test_is_client) {
                peer = start_peer(key, mode);
                sb = shbuf_open(key);
                ck_assert_msg(sb != NULL, "shbuf_open: %s", strerror(errno));
        } else {
                sb = t_create(key, RING);
                ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
                peer = start_peer(key, mode | PEER_OPEN);
        }
        int fd = -1;
        if (where == IN_POLL) {
                ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);
                fd = shbuf_get_select_fd(sb);
                ck_assert_int_ge(fd, 0);
                /* Drain what the connection itself produced. */
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 0) > 0)
                        ck_assert_int_eq(shbuf_post_select(sb), 0);
        }
        if (where != IN_LOCK)
                ck_assert_int_eq(shbuf_is_empty(sb), 1);

        killer_start(&k, peer.pid, 300);
        int r = 0, err = 0, wakeups = 0;
        const int64_t deadline = t_now_ms() + 5000;
        switch (where) {
        case IN_WAIT:
                while ((r = shbuf_wait(sb)) == 0 && t_now_ms() < deadline)
                        wakeups++;
                err = errno;
                break;
        case IN_POLL:
                for (;;) {
                        struct pollfd p = {.fd = fd, .events = POLLIN};
                        int n = poll(&p, 1, (int) (deadline - t_now_ms()));
                        if (n <= 0) {
                                r = 0;
                                break;
                        }
                        r = shbuf_post_select(sb);
                        err = errno;
                        if (r < 0)
                                break;
                        wakeups++;
                }
                break;
        case IN_LOCK:
                r = shbuf_status_lock(sb);
                err = errno;
                break;
        }
        const int64_t returned = t_now_ms();
        const int64_t killed = killer_join(&k);
        /* Reaped by the killer already: only the pipes are left to close. */
        close(peer.to);
        close(peer.from);
        ck_assert_msg(!atomic_load(&k.had_to_reap),
                      "%s: blocked until the killed peer (a zombie: dead, not yet reaped by its parent) was "
                      "reaped; its parent may be the very process that is blocked",
                      blocked_name[where]);

        if (where == IN_LOCK) {
                ck_assert_msg(r == 0, "shbuf_status_lock after the holder died: %s", strerror(err));
                /* Its waits are short and look at the holder after each. */
                ck_assert_msg(returned - killed < 200, "the dead holder's lock was taken over after %lld ms",
                              (long long) (returned - killed));
                ck_assert_int_eq(shbuf_status_unlock(sb), 0);
                /* The status the dead holder left is validated and usable. */
                ck_assert_int_eq(shbuf_is_empty(sb), 1);
                ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "x", 1), 1);
                shbuf_info info;
                ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
                ck_assert_uint_ge(info.lock_recoveries, 1);
        } else {
                ck_assert_msg(r == -1 && err == EPIPE, "%s: returned %d (%s) after the peer was killed",
                              blocked_name[where], r, r < 0 ? strerror(err) : "no error");
                /* A few wake-ups from the connection are fine, a stream of them is not. */
                ck_assert_int_le(wakeups, 3);
        }
        ck_assert_msg(killed > 0 && returned >= killed, "returned before the peer was killed");
        ck_assert_msg(returned - killed < 1000, "%s: returned %lld ms after the peer was killed",
                      blocked_name[where], (long long) (returned - killed));
        fprintf(stderr, "%s, test is %s: returned %lld ms after the kill\n", blocked_name[where],
                test_is_client ? "client" : "provider", (long long) (returned - killed));

        shbuf_free(sb);
        if (test_is_client) {
                /* The provider died: its objects stay until removed. */
                ck_assert_int_eq(shbuf_remove(key, NULL), 0);
        }
        char desc[512];
        ck_assert_msg(t_objects(key, peer.pid, desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

/*
 * The holder died in the middle of an edit, with the ring frozen: its edits
 * (an impossible one, loop 0, or a valid one, loop 1) never took effect,
 * since they would only at shbuf_status_unlock(); the ring is thawed by
 * the first call that finds it frozen, within a second, and the data is
 * all there.
 */
START_TEST(test_dead_holder_edit_lost) {
        const bool impossible = _i == 0;
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "hello", 5), 5);
        struct t_child peer =
                start_peer(key, PEER_OPEN | PEER_LOCK | (impossible ? PEER_SCRIBBLE : PEER_HALF));
        t_put(peer.to, 'k');
        t_finish(&peer, 5000);

        int64_t t0 = t_now_ms();
        unsigned char buf[16];
        long n;
        /* A copy finds nothing to do while the ring is frozen: it says so
         * (0) rather than block, and thaws a dead holder's freeze. */
        while ((n = shbuf_read(sb, buf, sizeof(buf))) == 0) {
                ck_assert_msg(t_now_ms() - t0 < 1000, "the ring stayed frozen for %lld ms",
                              (long long) (t_now_ms() - t0));
                t_sleep_ms(1);
        }
        ck_assert_int_eq(n, 5);
        ck_assert_mem_eq(buf, "hello", 5);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "again", 5), 5);
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        ck_assert_uint_eq(shbuf_get_status(sb)->length, 5);
        ck_assert_uint_eq(shbuf_get_status(sb)->read_idx, 5);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
        ck_assert_int_eq(info.status_valid, 1);
        ck_assert_uint_ge(info.lock_recoveries, 1);
        shbuf_free(sb);
}
END_TEST

/* ---- a stopped holder, a killed waiter ------------------------------------------ */

static void on_alarm(int sig) {
        (void) sig;
}

/* SIGALRM to a thread after delay_ms, and every 100 ms after that until
 * stop: a signal that lands between two of a wait's sleeps, while the
 * waiter is not in a system call, runs its handler without ending the wait
 * (as one just before the call would), which a loaded machine makes
 * likely enough to matter; the next one ends it. */
struct alarm_shot {
        pthread_t target, thread;
        int delay_ms;
        atomic_bool stop;
};

static void *alarm_main(void *arg) {
        struct alarm_shot *a = arg;
        t_sleep_ms(a->delay_ms);
        while (!atomic_load(&a->stop)) {
                pthread_kill(a->target, SIGALRM);
                t_sleep_ms(100);
        }
        return NULL;
}

static void alarm_start(struct alarm_shot *a, int delay_ms) {
        a->target = pthread_self();
        a->delay_ms = delay_ms;
        atomic_init(&a->stop, false);
        ck_assert_int_eq(pthread_create(&a->thread, NULL, alarm_main, a), 0);
}

static void alarm_stop(struct alarm_shot *a) {
        atomic_store(&a->stop, true);
        pthread_join(a->thread, NULL);
}

/* Run expr: its result in r, errno in e, its duration in milliseconds in ms. */
#define TIMED(ms, r, e, expr)                                                                               \
        do {                                                                                                \
                int64_t t0_ = t_now_ms();                                                                   \
                errno = 0;                                                                                  \
                (r) = (long) (expr);                                                                        \
                (e) = errno;                                                                                \
                (ms) = t_now_ms() - t0_;                                                                    \
        } while (0)

/*
 * The client holds the status lock (the ring frozen) and is stopped with
 * SIGSTOP. Nothing of ours may hang on it: copies report nothing to do at
 * once, waits end at their deadline, the lock and everything that needs it
 * give up with ETIMEDOUT after a bounded wait, and a signal ends a lock
 * wait with EINTR (unless its handler has SA_RESTART). Once the holder goes on and releases, all works again.
 */
START_TEST(test_stopped_holder) {
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, RING);
        ck_assert_ptr_nonnull(sb);
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "abc", 3), 3);
        struct t_child peer = start_peer(key, PEER_OPEN | PEER_LOCK);
        t_put(peer.to, 'S');
        ck_assert_int_eq(t_get(peer.from, 5000), 'S');
        t_sleep_ms(50);
        unsigned char buf[8];
        long r;
        int e;
        int64_t ms;
        TIMED(ms, r, e, shbuf_write(sb, buf, sizeof(buf)));
        ck_assert_msg(r == 0 && ms < 500, "shbuf_write: %ld (%s) after %lld ms", r, strerror(e), (long long) ms);
        TIMED(ms, r, e, shbuf_read(sb, buf, sizeof(buf)));
        ck_assert_msg(r == 0 && ms < 500, "shbuf_read: %ld (%s) after %lld ms", r, strerror(e), (long long) ms);
        TIMED(ms, r, e, shbuf_wait_timeout(sb, 300));
        ck_assert_msg(ms < 1500, "shbuf_wait_timeout(300) took %lld ms", (long long) ms);
        TIMED(ms, r, e, shbuf_status_lock(sb));
        ck_assert_msg(r == -1 && e == ETIMEDOUT && ms < 5000, "shbuf_status_lock: %ld (%s) after %lld ms", r,
                      strerror(e), (long long) ms);
        TIMED(ms, r, e, shbuf_reset(sb));
        ck_assert_msg(r == -1 && e == ETIMEDOUT && ms < 5000, "shbuf_reset: %ld (%s) after %lld ms", r,
                      strerror(e), (long long) ms);
        TIMED(ms, r, e, shbuf_inc_write_pointer(sb, 1));
        ck_assert_msg(r == -1 && e == ETIMEDOUT && ms < 5000, "shbuf_inc_write_pointer: %ld (%s) after %lld ms",
                      r, strerror(e), (long long) ms);

        /* A signal (a handler without SA_RESTART) ends a lock wait. */
        struct sigaction sa = {.sa_handler = on_alarm}, old;
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGALRM, &sa, &old), 0);
        struct alarm_shot a;
        alarm_start(&a, 200);
        TIMED(ms, r, e, shbuf_status_lock(sb));
        alarm_stop(&a);
        sigaction(SIGALRM, &old, NULL);
        ck_assert_msg(r == -1 && e == EINTR && ms < 1000, "shbuf_status_lock under a signal: %ld (%s) after %lld ms",
                      r, strerror(e), (long long) ms);

        /* One with SA_RESTART does not: the wait goes on to its bound. */
        sa.sa_flags = SA_RESTART;
        ck_assert_int_eq(sigaction(SIGALRM, &sa, &old), 0);
        sigset_t mask;
        t_block_other_handlers(SIGALRM, &mask);
        alarm_start(&a, 200);
        TIMED(ms, r, e, shbuf_status_lock(sb));
        alarm_stop(&a);
        sigaction(SIGALRM, &old, NULL);
        pthread_sigmask(SIG_SETMASK, &mask, NULL);
        ck_assert_msg(r == -1 && e == ETIMEDOUT && ms >= 1000 && ms < 5000,
                      "shbuf_status_lock under an SA_RESTART signal: %ld (%s) after %lld ms", r, strerror(e),
                      (long long) ms);

        /* Going on, it releases: everything works again. */
        kill(peer.pid, SIGCONT);
        t_put(peer.to, 'u');
        ck_assert_int_eq(t_get(peer.from, 5000), 'u');
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);
        ck_assert_mem_eq(buf, "abc", 3);
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        t_put(peer.to, 'f');
        ck_assert_int_eq(t_finish(&peer, 5000), 0);
        shbuf_free(sb);
}
END_TEST

/*
 * A status-lock waiter killed in its sleep leaves nothing that lasts: the
 * holder's unlock wakes whom it may, and from then on the lock word is
 * plain again (no waiter count to leak, so unlocks cost no system call);
 * and a holder that dies afterwards is taken over at once, not after a
 * long recheck.
 */
START_TEST(test_lock_waiter_killed_in_sleep) {
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, RING);
        ck_assert_ptr_nonnull(sb);
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        struct t_child waiter = start_peer(key, PEER_OPEN);
        t_put(waiter.to, 'L');
        ck_assert_int_eq(t_get(waiter.from, 5000), 'l');
        t_sleep_ms(100); /* asleep on the lock by now */
        kill(waiter.pid, SIGKILL);
        t_finish(&waiter, 5000);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(shbuf_status_lock(sb), 0);
                ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        }
        volatile struct shbuf__control *c = t_map_control(key);
        ck_assert_ptr_nonnull((void *) c);
        ck_assert_uint_eq(c->lock.owner, 0);
        t_unmap_control(c);

        /* A new client takes the lock and dies holding it. */
        struct t_child holder = start_peer(key, PEER_OPEN | PEER_LOCK);
        t_put(holder.to, 'k');
        t_finish(&holder, 5000);
        int64_t t0 = t_now_ms();
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        int64_t took = t_now_ms() - t0;
        ck_assert_msg(took < 50, "the dead holder's lock was taken over after %lld ms", (long long) took);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        shbuf_free(sb);
}
END_TEST

/* ---- idle costs nothing ----------------------------------------------------- */

struct idle_report {
        int64_t cpu_us;
        long switches;
        int result, err;
};

/* Open, block once (wait or poll) until the provider notifies, report. */
static int p_idle(key_t key, int in, int out, void *arg) {
        const bool use_poll = arg != NULL;
        struct idle_report rep = {0};
        shbuf *sb = shbuf_open(key);
        int fd = -1;
        if (!sb)
                return 10;
        if (use_poll) {
                if (shbuf_notify_enable(sb, 1) < 0 || (fd = shbuf_get_select_fd(sb)) < 0)
                        return 11;
        }
        (void) shbuf_is_empty(sb);
        /* Let the connection settle (the provider's wake-up for our open). */
        t_sleep_ms(50);
        if (use_poll)
                (void) shbuf_post_select(sb);
        (void) shbuf_is_empty(sb);
        int64_t cpu0 = t_cpu_us();
        long sw0 = t_voluntary_switches();
        t_put(out, 'r');
        if (use_poll) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                rep.result = poll(&p, 1, 20000) == 1 ? shbuf_post_select(sb) : -2;
        } else {
                rep.result = shbuf_wait(sb);
        }
        rep.err = errno;
        rep.cpu_us = t_cpu_us() - cpu0;
        rep.switches = t_voluntary_switches() - sw0;
        (void) !t_write_all(out, &rep, sizeof(rep));
        (void) t_get(in, 10000);
        shbuf_free(sb);
        return 0;
}

START_TEST(test_idle_wait_costs_nothing) {
        const bool use_poll = _i == 1;
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        struct t_child c = t_fork(p_idle, key, use_poll ? (void *) 1 : NULL);
        ck_assert_int_gt(c.pid, 0);
        ck_assert_int_eq(t_get(c.from, 10000), 'r');
        /* The child sleeps with a healthy peer for 3 s. */
        t_sleep_ms(3000);
        ck_assert_int_eq(shbuf_notify(sb), 0);
        struct idle_report rep;
        ck_assert_int_eq(t_get_n(c.from, &rep, sizeof(rep), 5000), 0);
        t_put(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);

        ck_assert_msg(rep.result == 0, "the idle %s returned %d (%s)", use_poll ? "poll" : "wait",
                      rep.result, strerror(rep.err));
        fprintf(stderr, "idle %s for 3 s: %lld us CPU, %ld voluntary context switches\n",
                use_poll ? "poll" : "wait", (long long) rep.cpu_us, rep.switches);
        /* The goal is < 1 ms per 10 s; allow noise (and the sanitizers'
         * heavier thread start), but not a periodic wake-up: one every
         * 200 ms would be 15 switches. */
        ck_assert_msg(rep.cpu_us < (t_sanitized() ? 20000 : 3000), "%lld us of CPU while idle for 3 s",
                      (long long) rep.cpu_us);
        ck_assert_msg(rep.switches <= 6, "%ld context switches while idle for 3 s: periodic wake-ups",
                      rep.switches);
}
END_TEST

/* ---- crashed without shbuf_free ------------------------------------------- */

static bool gc_lists(key_t key, int dry_run) {
        shbuf_info *items = NULL;
        size_t n = 0;
        bool found = false;
        ck_assert_int_eq(shbuf_gc(dry_run, &items, &n), 0);
        for (size_t i = 0; i < n; i++)
                found = found || items[i].key == key;
        free(items);
        return found;
}

START_TEST(test_gc_after_provider_killed) {
        const key_t key = t_key(1);
        struct t_child p = start_peer(key, 0);
        pid_t ppid = p.pid;
        t_put(p.to, 'w');
        ck_assert_int_eq(t_get(p.from, 5000), 'w');

        /* A live client keeps the buffer from being garbage. */
        shbuf *client = shbuf_open(key);
        ck_assert_msg(client != NULL, "shbuf_open: %s", strerror(errno));
        kill(ppid, SIGKILL);
        t_finish(&p, 5000);
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
        ck_assert_int_eq(info.provider_alive, 0);
        ck_assert_int_eq(info.client_alive, 1);
        ck_assert_msg(!gc_lists(key, 1), "gc would remove a buffer with a live client");
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);

        /* The client reads what the dead provider wrote, then leaves. */
        unsigned char buf[8];
        ck_assert_int_eq(shbuf_read(client, buf, sizeof(buf)), 5);
        ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
        shbuf_free(client);

        ck_assert_msg(gc_lists(key, 1), "gc does not see the stale buffer");
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0); /* a dry run removes nothing */
        ck_assert_msg(gc_lists(key, 0), "gc did not remove the stale buffer");
        errno = 0;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), -1);
        ck_assert_int_eq(errno, ENOENT);
        char desc[512];
        ck_assert_msg(t_objects(key, ppid, desc, sizeof(desc)) == 0, "gc left: %s", desc);

        /* The key is free again. */
        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create after gc: %s", strerror(errno));
        shbuf_free(sb);
}
END_TEST

START_TEST(test_client_killed_while_waiting) {
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));

        struct t_child c = start_peer(key, PEER_OPEN);
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        kill(c.pid, SIGKILL);
        t_finish(&c, 5000);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);

        /* A new client gets in at once (no EBUSY) and is heard. */
        for (int round = 0; round < 3; round++) {
                struct t_child d = t_fork(p_peer, key, (void *) (intptr_t) PEER_OPEN);
                char r = t_get(d.from, 10000);
                int code = r == 'r' ? 0 : t_finish(&d, 5000);
                ck_assert_msg(r == 'r', "a new client could not open: %s", code > 0 ? strerror(code) : "?");
                t_put(d.to, 'w');
                ck_assert_int_eq(t_get(d.from, 5000), 'w');
                unsigned char buf[8];
                ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 5);
                ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
                /* Leave the way the next round needs: killed, then freed. */
                if (round % 2 == 0) {
                        t_put(d.to, 'k');
                        t_finish(&d, 5000);
                } else {
                        t_put(d.to, 'f');
                        ck_assert_int_eq(t_finish(&d, 5000), 0);
                }
        }
        shbuf_free(sb);
}
END_TEST

/* ---- objects removed under a running pair --------------------------------- */

enum removal { RM_API, RM_IPCRM, RM_UNLINK };
static const char *const removal_name[] = {"shbuf_remove", "ipcrm", "shm_unlink + mq_unlink"};

/*
 * One end of a running pair: the provider writes, the client reads, both
 * wait when they cannot move. Exit code: 0 once a call failed with EPIPE,
 * 3 when nothing failed for 20 s, 4 on another error (printed).
 */
static int p_stream(key_t key, int in, int out, void *arg) {
        const bool provider = arg != NULL;
        static unsigned char buf[4096];
        uint64_t moved = 0;
        bool told = false;
        shbuf *sb = provider ? shbuf_create(key, RING) : shbuf_open(key);
        (void) in;
        if (!sb) {
                fprintf(stderr, "p_stream: %s: %s\n", provider ? "shbuf_create" : "shbuf_open",
                        strerror(errno));
                return 5;
        }
        t_put(out, 'r');
        const int64_t deadline = t_now_ms() + 20000;
        const char *what = NULL;
        while (t_now_ms() < deadline) {
                long n = provider ? shbuf_write(sb, buf, sizeof(buf)) : shbuf_read(sb, buf, sizeof(buf));
                if (n < 0) {
                        what = provider ? "shbuf_write" : "shbuf_read";
                        break;
                }
                moved += (uint64_t) n;
                if (!told && moved >= 4 * RING) {
                        t_put(out, 'm');
                        told = true;
                }
                if (n == 0 && shbuf_wait(sb) < 0) {
                        what = "shbuf_wait";
                        break;
                }
        }
        int e = errno;
        int code = what == NULL ? 3 : e == EPIPE ? 0 : 4;
        if (code == 4)
                fprintf(stderr, "p_stream (%s): %s failed: %s\n", provider ? "provider" : "client", what,
                        strerror(e));
        /* Whatever the state, nothing may crash now. Each side keeps its
         * role: a client writing here would race the provider's commit and
         * make it fail with EINVAL instead of EPIPE. */
        (void) shbuf_is_empty(sb);
        if (provider)
                (void) shbuf_write(sb, buf, 10);
        else
                (void) shbuf_read(sb, buf, 10);
        (void) shbuf_wait_timeout(sb, 0);
        (void) shbuf_is_connected(sb);
        shbuf_free(sb);
        return code;
}

static int run_cmd(char *const argv[]) {
        pid_t pid;
        int status;
        if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
                return -1;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return t_exit_code(status);
}

/* The IPC_PRIVATE segment (data block) that pid created, or -1. */
static int data_segment_of(key_t key, pid_t pid) {
        struct t_object o[8];
        int n = t_collect_objects(key, pid, RING, o, 8);
        for (int i = 0; i < n && i < 8; i++)
                if (o[i].role == T_DATA && o[i].id >= 0)
                        return (int) o[i].id;
        return -1;
}

START_TEST(test_removed_under_running_pair) {
        const enum removal how = (enum removal) _i;
        const bool sysv = strcmp(t_backend(), "sysv") == 0;
        if ((how == RM_IPCRM && !sysv) || (how == RM_UNLINK && sysv)) {
                fprintf(stderr, "%s: not for the %s backend\n", removal_name[how], t_backend());
                return;
        }
        const key_t key = t_key(2);
        struct t_child prov = t_fork(p_stream, key, (void *) 1);
        ck_assert_int_gt(prov.pid, 0);
        ck_assert_int_eq(t_get(prov.from, 10000), 'r');
        struct t_child cli = t_fork(p_stream, key, NULL);
        ck_assert_int_gt(cli.pid, 0);
        ck_assert_int_eq(t_get(cli.from, 10000), 'r');
        /* Running: data moves both ways through the ring. */
        ck_assert_int_eq(t_get(prov.from, 10000), 'm');
        ck_assert_int_eq(t_get(cli.from, 10000), 'm');

        char keyhex[32], idstr[32];
        snprintf(keyhex, sizeof(keyhex), "0x%08x", (unsigned) key);
        switch (how) {
        case RM_API:
                ck_assert_int_eq(shbuf_remove(key, NULL), 0);
                break;
        case RM_IPCRM: {
                int id = data_segment_of(key, prov.pid);
                ck_assert_int_ge(id, 0);
                snprintf(idstr, sizeof(idstr), "%d", id);
                /*
                 * One object at a time, as an administrator would: the pair
                 * may notice after the first and the provider then removes
                 * the rest itself, so a later ipcrm may find its object gone.
                 */
                char *argv[][3] = {{"ipcrm", "-m", idstr},
                                   {"ipcrm", "-M", keyhex},
                                   {"ipcrm", "-S", keyhex},
                                   {"ipcrm", "-Q", keyhex}};
                int ok = 0;
                for (int i = 0; i < 4; i++) {
                        char *cmd[] = {argv[i][0], argv[i][1], argv[i][2], NULL};
                        ok += run_cmd(cmd) == 0;
                }
                ck_assert_msg(ok >= 1, "no ipcrm succeeded");
                break;
        }
        case RM_UNLINK: {
                /* Every object of the buffer, by its name. */
                struct t_object o[8];
                int n = t_collect_objects(key, 0, 0, o, 8);
                ck_assert_int_eq(n, t_desc()->nobjects);
                for (int i = 0; i < n; i++)
                        ck_assert_msg(o[i].backend->remove(&o[i]) == 0, "removing %s %s: %s", o[i].kind,
                                      o[i].name, strerror(errno));
                break;
        }
        }
        const int64_t removed = t_now_ms();
        int pc = t_finish(&prov, 5000), cc = t_finish(&cli, 5000);
        const int64_t took = t_now_ms() - removed;
        ck_assert_msg(pc == 0, "%s: the provider ended with %d (status %d)", removal_name[how], pc,
                      t_last_status);
        ck_assert_msg(cc == 0, "%s: the client ended with %d (status %d)", removal_name[how], cc,
                      t_last_status);
        fprintf(stderr, "%s under a running pair: both ended with EPIPE within %lld ms\n", removal_name[how],
                (long long) took);
        char desc[512];
        ck_assert_msg(t_objects(key, prov.pid, desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

/* ---- the runner --------------------------------------------------------------- */

/*
 * Clients racing for the client slot, released at once: exactly one of
 * them gets in each round, the others get EBUSY, and while the winner
 * holds the slot nobody else does.
 */
#define RACE_ROUNDS 100
#define RACERS 3

START_TEST(test_clients_race) {
        const key_t key = t_key(9);
        shbuf *sb = t_create(key, 4096);
        ck_assert_ptr_nonnull(sb);
        for (int round = 0; round < RACE_ROUNDS; round++) {
                int go[2], done[2], results[2];
                ck_assert_int_eq(pipe(go), 0);
                ck_assert_int_eq(pipe(done), 0);
                ck_assert_int_eq(pipe(results), 0);
                pid_t pids[RACERS];
                for (int i = 0; i < RACERS; i++) {
                        pids[i] = fork();
                        ck_assert_int_ge(pids[i], 0);
                        if (pids[i] > 0)
                                continue;
                        close(go[1]);
                        close(done[1]);
                        close(results[0]);
                        char c;
                        /* EOF on go: everybody starts at once. */
                        (void) read(go[0], &c, 1);
                        shbuf *mine = shbuf_open(key);
                        int e = errno;
                        c = mine ? 'y' : e == EBUSY ? 'b' : 'E';
                        (void) write(results[1], &c, 1);
                        /* The winner holds the slot until every racer tried. */
                        (void) read(done[0], &c, 1);
                        if (mine)
                                shbuf_free(mine);
                        _exit(0);
                }
                close(go[0]);
                close(done[0]);
                close(results[1]);
                close(go[1]);
                int wins = 0, busy = 0;
                for (int i = 0; i < RACERS; i++) {
                        char c = t_get(results[0], 10000);
                        wins += c == 'y';
                        busy += c == 'b';
                }
                close(done[1]);
                close(results[0]);
                for (int i = 0; i < RACERS; i++)
                        ck_assert_int_eq(t_exit_code(t_wait_child(pids[i], 10000)), 0);
                ck_assert_msg(wins == 1 && busy == RACERS - 1, "round %d: %d clients got in, %d got EBUSY", round,
                              wins, busy);
        }
        /* The last winner left: the slot is free again. */
        shbuf *c = shbuf_open(key);
        ck_assert_msg(c != NULL, "shbuf_open after the races: %s", strerror(errno));
        shbuf_free(c);
        shbuf_free(sb);
}
END_TEST

int main(void) {
        Suite *s = suite_create("crash");
        TCase *tc;

        t_init();
        tc = t_case(s, "killed", 20);
        tcase_add_loop_test(tc, test_killed_while_blocked, 0, 6);
        tcase_add_loop_test(tc, test_dead_holder_edit_lost, 0, 2);
        tcase_add_loop_test(tc, test_idle_wait_costs_nothing, 0, 2);
        tcase_add_test(tc, test_stopped_holder);
        tcase_add_test(tc, test_lock_waiter_killed_in_sleep);

        tc = t_case(s, "leftovers", 30);
        tcase_add_test(tc, test_gc_after_provider_killed);
        tcase_add_test(tc, test_client_killed_while_waiting);
        tcase_add_test(tc, test_clients_race);
        tcase_add_loop_test(tc, test_removed_under_running_pair, 0, 3);

        return t_run(s, "check_crash");
}
