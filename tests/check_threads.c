/*
 * Signals and threads:
 *
 *   - EINTR: a signal whose handler was installed without SA_RESTART,
 *     delivered to the process while it is blocked in shbuf_wait(),
 *     shbuf_wait_timeout() or poll() on the select descriptor, interrupts
 *     the call (-1/EINTR); the library's own threads block every signal, so
 *     a process-directed signal always lands in an application thread.
 *     One installed with SA_RESTART does not: the wait goes on, with its
 *     deadline.
 *   - Threads: handles used at once by a writer thread, a reader thread and
 *     a thread polling the select descriptors (and calling status helpers),
 *     while another process echoes; 1 GiB (256 MiB under the sanitizers,
 *     SHBUF_THREADS_MIB overrides) with every byte verified. Under
 *     ThreadSanitizer nothing may be reported.
 *
 * A shared buffer is one ring, so an echo needs two: X carries the stream
 * from this process to the echoing peer, Y carries it back. Both handles
 * are shared by the three threads (each thread waits on one, the poller
 * watches both, and status helpers run on both from every thread).
 *
 * Registered once per compiled backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "test-util.h"

/* ---- EINTR ---------------------------------------------------------------------- */

static volatile sig_atomic_t got_signals;

static void on_usr1(int sig) {
        (void) sig;
        got_signals++;
}

/*
 * The peer: opens, says 'o', then sends SIGUSR1 to the test process every
 * 50 ms until told 's'; 'n' notifies, 'f' (or EOF) frees and exits.
 */
static int p_signaller(key_t key, int in, int out, void *arg) {
        (void) arg;
        pid_t parent = getppid();
        bool signalling = true;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return errno;
        t_put(out, 'o');
        for (;;) {
                struct pollfd p = {.fd = in, .events = POLLIN};
                int n = poll(&p, 1, 50);
                if (n == 0) {
                        if (signalling)
                                kill(parent, SIGUSR1);
                        continue;
                }
                char c = 0;
                if (n < 0 || read(in, &c, 1) != 1 || c == 'f')
                        break;
                if (c == 's') {
                        signalling = false;
                        t_put(out, 's');
                } else if (c == 'n') {
                        t_put(out, shbuf_notify(sb) == 0 ? 'n' : 'E');
                }
        }
        shbuf_free(sb);
        return 0;
}

/* Every thread but the calling one blocks SIGUSR1. */
static void assert_other_threads_block_usr1(void) {
        DIR *d = opendir("/proc/self/task");
        struct dirent *e;
        char path[300], line[256];
        int others = 0;
        ck_assert_ptr_nonnull(d);
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || strtol(e->d_name, NULL, 10) == gettid())
                        continue;
                snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
                FILE *f = fopen(path, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof(line), f)) {
                        unsigned long long mask;
                        if (sscanf(line, "SigBlk: %llx", &mask) == 1) {
                                ck_assert_msg(mask & (1ULL << (SIGUSR1 - 1)),
                                              "library thread %s does not block signals (SigBlk %llx)",
                                              e->d_name, mask);
                                others++;
                        }
                }
                fclose(f);
        }
        closedir(d);
        fprintf(stderr, "%d library thread(s), all blocking signals\n", others);
}

enum intr_call { INTR_WAIT, INTR_WAIT_TIMEOUT, INTR_POLL };
static const char *const intr_name[] = {"shbuf_wait", "shbuf_wait_timeout", "poll on the select descriptor"};

START_TEST(test_eintr) {
        const enum intr_call call = (enum intr_call) _i;
        struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);

        const key_t key = t_key(0);
        shbuf *sb = t_create(key, 4096);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        /* Bring up the library's threads before any signal flies: the
         * sentinel (SysV waits) and the notifier (SysV select descriptor). */
        ck_assert_int_eq(shbuf_wait_timeout(sb, 0) == 0 || errno == ETIMEDOUT, 1);
        ck_assert_int_eq(shbuf_wait_timeout(sb, 1) == 0 || errno == ETIMEDOUT, 1);
        int fd = -1;
        if (call == INTR_POLL) {
                ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);
                fd = shbuf_get_select_fd(sb);
        }
        struct t_child c = t_fork(p_signaller, key, NULL);
        ck_assert_int_gt(c.pid, 0);
        ck_assert_int_eq(t_get(c.from, 10000), 'o');
        assert_other_threads_block_usr1();
        if (fd >= 0) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 100) > 0)
                        (void) shbuf_post_select(sb);
        }
        ck_assert_int_eq(shbuf_is_empty(sb), 1);

        int r, err, rounds = 0;
        got_signals = 0;
        const int64_t t0 = t_now_ms();
        do {
                /* A signal may land just before the call blocks; the next one interrupts it. */
                switch (call) {
                case INTR_WAIT:
                        r = shbuf_wait(sb);
                        break;
                case INTR_WAIT_TIMEOUT:
                        r = shbuf_wait_timeout(sb, 5000);
                        break;
                case INTR_POLL: {
                        struct pollfd p = {.fd = fd, .events = POLLIN};
                        r = poll(&p, 1, 5000);
                        r = r > 0 ? shbuf_post_select(sb) : r == 0 ? -2 : -1;
                        break;
                }
                }
                err = errno;
        } while (r == 0 && ++rounds < 5);
        const int64_t took = t_now_ms() - t0;
        ck_assert_msg(r == -1 && err == EINTR, "%s returned %d (%s) while signals arrived", intr_name[call],
                      r, r == -1 ? strerror(err) : "no error");
        ck_assert_int_ge(got_signals, 1);
        ck_assert_msg(took < 2000, "%s was interrupted only after %lld ms", intr_name[call],
                      (long long) took);

        /* Nothing is left half-done: the lock is free and the next wait works. */
        t_put(c.to, 's');
        ck_assert_int_eq(t_get(c.from, 5000), 's');
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        t_put(c.to, 'n');
        ck_assert_int_eq(t_get(c.from, 5000), 'n');
        if (call == INTR_POLL) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ck_assert_int_eq(poll(&p, 1, 5000), 1);
                ck_assert_int_eq(shbuf_post_select(sb), 0);
        } else {
                ck_assert_int_eq(shbuf_wait_timeout(sb, 5000), 0);
        }
        t_put(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
}
END_TEST

/*
 * The peer for restarts: opens, says 'o', and on 'g' sends SIGUSR1 to the
 * test process RESTART_SIGNALS times, 50 ms apart; then, if arg is not
 * NULL, notifies. 'f' (or EOF) frees and exits.
 */
#define RESTART_SIGNALS 6

static int p_restart_signaller(key_t key, int in, int out, void *arg) {
        pid_t parent = getppid();
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return errno;
        t_put(out, 'o');
        char c = 0;
        while (read(in, &c, 1) == 1 && c == 'g') {
                for (int i = 0; i < RESTART_SIGNALS; i++) {
                        t_sleep_ms(50);
                        kill(parent, SIGUSR1);
                }
                if (arg && shbuf_notify(sb) < 0)
                        return 20;
        }
        shbuf_free(sb);
        return 0;
}

/*
 * A handler installed with SA_RESTART does not end a wait, on any backend:
 * shbuf_wait() sleeps on through the signals until the peer's notification,
 * and shbuf_wait_timeout() keeps its deadline across them.
 */
START_TEST(test_restart) {
        const bool timed = _i == 1;
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART}, old;
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
        sigset_t mask;
        t_block_other_handlers(SIGUSR1, &mask);

        const key_t key = t_key(1);
        shbuf *sb = t_create(key, 4096);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        struct t_child c = t_fork(p_restart_signaller, key, timed ? NULL : (void *) 1);
        ck_assert_int_gt(c.pid, 0);
        ck_assert_int_eq(t_get(c.from, 10000), 'o');
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        /* Drain the notification of the peer's arrival. */
        while (shbuf_wait_timeout(sb, 100) == 0)
                ;

        got_signals = 0;
        t_put(c.to, 'g');
        const int64_t t0 = t_now_ms();
        int r = timed ? shbuf_wait_timeout(sb, 600) : shbuf_wait(sb);
        int err = errno;
        const int64_t took = t_now_ms() - t0;
        sigaction(SIGUSR1, &old, NULL);
        pthread_sigmask(SIG_SETMASK, &mask, NULL);
        if (timed)
                ck_assert_msg(r == -1 && err == ETIMEDOUT && took >= 550 && took < 2000,
                              "shbuf_wait_timeout(600) under SA_RESTART signals: %d (%s) after %lld ms", r,
                              r == -1 ? strerror(err) : "no error", (long long) took);
        else
                ck_assert_msg(r == 0 && took >= 250, "shbuf_wait under SA_RESTART signals: %d (%s) after %lld ms",
                              r, r == -1 ? strerror(err) : "no error", (long long) took);
        ck_assert_int_ge(got_signals, RESTART_SIGNALS - 1);

        t_put(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
}
END_TEST

/* ---- threads ---------------------------------------------------------------------- */

#define RING (1 << 16)
#define CHUNK (1 << 16)

/* The echo: reads X, writes what it read into Y; ends when X's provider leaves. */
static int p_echo(key_t key, int in, int out, void *arg) {
        (void) in;
        (void) arg;
        shbuf *x = shbuf_open(key), *y = shbuf_open(key + 1);
        unsigned char *buf = malloc(CHUNK);
        if (!x || !y || !buf)
                return 10;
        t_put(out, 'o');
        for (;;) {
                long n = shbuf_read(x, buf, CHUNK);
                if (n < 0)
                        return 11;
                if (n == 0) {
                        if (shbuf_wait(x) < 0)
                                break;
                        continue;
                }
                for (long done = 0; done < n;) {
                        long w = shbuf_write(y, buf + done, (unsigned long) (n - done));
                        if (w < 0)
                                return 12;
                        done += w;
                        if (w == 0 && shbuf_wait(y) < 0)
                                return errno == EPIPE ? 0 : 13;
                }
        }
        shbuf_free(x);
        shbuf_free(y);
        free(buf);
        return 0;
}

struct shared {
        shbuf *x, *y;
        uint64_t bytes;
        _Atomic uint64_t written, verified, polled, helper_calls;
        atomic_bool stop;
        char err[512];
        atomic_bool failed;
        pthread_mutex_t err_lock;
};

static void *fail_thread(struct shared *s, const char *what, int e) {
        pthread_mutex_lock(&s->err_lock);
        if (!atomic_load(&s->failed))
                snprintf(s->err, sizeof(s->err), "%s: %s", what, strerror(e));
        atomic_store(&s->failed, true);
        pthread_mutex_unlock(&s->err_lock);
        atomic_store(&s->stop, true);
        return NULL;
}

static void *writer_main(void *arg) {
        struct shared *s = arg;
        struct t_stream gen;
        uint64_t rnd = 0x1234, done = 0;
        unsigned char *buf = malloc(CHUNK);
        if (!buf)
                return fail_thread(s, "malloc", ENOMEM);
        t_stream_init(&gen, 77);
        while (done < s->bytes && !atomic_load(&s->stop)) {
                uint64_t n = 1 + t_rand64(&rnd) % CHUNK;
                if (n > s->bytes - done)
                        n = s->bytes - done;
                t_stream_fill(&gen, buf, n);
                for (uint64_t off = 0; off < n && !atomic_load(&s->stop);) {
                        long w = shbuf_write(s->x, buf + off, n - off);
                        if (w < 0) {
                                free(buf);
                                return fail_thread(s, "writer: shbuf_write", errno);
                        }
                        off += (uint64_t) w;
                        atomic_store(&s->written, done + off);
                        if (w == 0 && shbuf_wait(s->x) < 0) {
                                free(buf);
                                return fail_thread(s, "writer: shbuf_wait", errno);
                        }
                }
                done += n;
                /* A helper on the other handle now and then. */
                if ((done & 0xf) == 0 && shbuf_is_full(s->y) < 0) {
                        free(buf);
                        return fail_thread(s, "writer: shbuf_is_full(Y)", errno);
                }
        }
        free(buf);
        return NULL;
}

static void *reader_main(void *arg) {
        struct shared *s = arg;
        struct t_stream gen;
        uint64_t rnd = 0x4321, done = 0;
        unsigned char *buf = malloc(CHUNK), *expect = malloc(CHUNK);
        if (!buf || !expect) {
                free(buf);
                free(expect);
                return fail_thread(s, "malloc", ENOMEM);
        }
        t_stream_init(&gen, 77);
        while (done < s->bytes && !atomic_load(&s->stop)) {
                uint64_t n = 1 + t_rand64(&rnd) % CHUNK;
                if (n > s->bytes - done)
                        n = s->bytes - done;
                long r = shbuf_read(s->y, buf, n);
                if (r < 0) {
                        fail_thread(s, "reader: shbuf_read", errno);
                        break;
                }
                if (r == 0) {
                        if (shbuf_wait(s->y) < 0) {
                                fail_thread(s, "reader: shbuf_wait", errno);
                                break;
                        }
                        continue;
                }
                t_stream_fill(&gen, expect, (size_t) r);
                if (memcmp(buf, expect, (size_t) r) != 0) {
                        for (long i = 0; i < r; i++)
                                if (buf[i] != expect[i]) {
                                        pthread_mutex_lock(&s->err_lock);
                                        snprintf(s->err, sizeof(s->err),
                                                 "byte %llu is 0x%02x, expected 0x%02x",
                                                 (unsigned long long) (done + (uint64_t) i), buf[i],
                                                 expect[i]);
                                        atomic_store(&s->failed, true);
                                        pthread_mutex_unlock(&s->err_lock);
                                        break;
                                }
                        atomic_store(&s->stop, true);
                        break;
                }
                done += (uint64_t) r;
                atomic_store(&s->verified, done);
                if ((done & 0xf) == 0 && shbuf_is_empty(s->x) < 0) {
                        fail_thread(s, "reader: shbuf_is_empty(X)", errno);
                        break;
                }
        }
        free(buf);
        free(expect);
        return NULL;
}

static void *poller_main(void *arg) {
        struct shared *s = arg;
        struct pollfd p[2] = {
                {.fd = shbuf_get_select_fd(s->x), .events = POLLIN},
                {.fd = shbuf_get_select_fd(s->y), .events = POLLIN},
        };
        shbuf *h[2] = {s->x, s->y};
        while (!atomic_load(&s->stop)) {
                int n = poll(p, 2, 50);
                if (n < 0 && errno != EINTR)
                        return fail_thread(s, "poller: poll", errno);
                for (int i = 0; i < 2 && n > 0; i++)
                        if (p[i].revents & POLLIN) {
                                if (shbuf_post_select(h[i]) < 0)
                                        return fail_thread(s, "poller: shbuf_post_select", errno);
                                atomic_fetch_add(&s->polled, 1);
                        }
                /* The status lock from a third thread, on both handles. */
                for (int i = 0; i < 2; i++) {
                        if (shbuf_status_lock(h[i]) < 0)
                                return fail_thread(s, "poller: shbuf_status_lock", errno);
                        volatile unsigned long len = shbuf_get_status(h[i])->length;
                        (void) len;
                        shbuf_status_unlock(h[i]);
                        atomic_fetch_add(&s->helper_calls, 1);
                }
        }
        return NULL;
}

START_TEST(test_threads_echo) {
        const uint64_t mib = t_env_u64("SHBUF_THREADS_MIB", t_sanitized() ? 256 : 1024);
        struct shared s = {.bytes = mib << 20};
        pthread_mutex_init(&s.err_lock, NULL);
        const key_t kx = t_key(0), ky = t_key(1);
        s.x = t_create(kx, RING);
        ck_assert_msg(s.x != NULL, "shbuf_create: %s", strerror(errno));
        s.y = t_create(ky, RING);
        ck_assert_msg(s.y != NULL, "shbuf_create: %s", strerror(errno));
        struct t_child echo = t_fork(p_echo, kx, NULL);
        ck_assert_int_gt(echo.pid, 0);
        ck_assert_int_eq(t_get(echo.from, 10000), 'o');
        /* SHBUF_THREADS_NO_POLLER=1 leaves the poller out, to tell its
         * effect apart when this test fails. */
        const bool poller = t_env_u64("SHBUF_THREADS_NO_POLLER", 0) == 0;
        if (poller) {
                ck_assert_int_eq(shbuf_notify_enable(s.x, 1), 0);
                ck_assert_int_eq(shbuf_notify_enable(s.y, 1), 0);
        }

        pthread_t w, r, p;
        const int64_t t0 = t_now_ms();
        if (poller)
                ck_assert_int_eq(pthread_create(&p, NULL, poller_main, &s), 0);
        ck_assert_int_eq(pthread_create(&r, NULL, reader_main, &s), 0);
        ck_assert_int_eq(pthread_create(&w, NULL, writer_main, &s), 0);

        /* The watchdog: a lost wake-up shows as a stall. */
        uint64_t last = 0;
        int64_t last_move = t_now_ms();
        bool stalled = false;
        while (atomic_load(&s.verified) < s.bytes && !atomic_load(&s.stop)) {
                t_sleep_ms(50);
                uint64_t v = atomic_load(&s.verified) + atomic_load(&s.written);
                if (v != last) {
                        last = v;
                        last_move = t_now_ms();
                } else if (t_now_ms() - last_move > 10000) {
                        stalled = true;
                        break;
                }
        }
        const int64_t took = t_now_ms() - t0;
        atomic_store(&s.stop, true);
        if (stalled) {
                /* Wake every thread: the echo's death ends their waits with EPIPE. */
                kill(echo.pid, SIGKILL);
        }
        pthread_join(w, NULL);
        pthread_join(r, NULL);
        if (poller)
                pthread_join(p, NULL);
        ck_assert_msg(
                !stalled,
                "stalled for 10 s: written %llu, verified %llu of %llu bytes, %llu select wake-ups (a lost "
                "wake-up?)",
                (unsigned long long) atomic_load(&s.written), (unsigned long long) atomic_load(&s.verified),
                (unsigned long long) s.bytes, (unsigned long long) atomic_load(&s.polled));
        ck_assert_msg(!atomic_load(&s.failed), "%s", s.err);
        ck_assert_uint_eq(atomic_load(&s.verified), s.bytes);
        fprintf(stderr,
                "%s: %llu MiB out and back in %lld ms (%.0f MiB/s), %llu select wake-ups, %llu lock "
                "rounds\n",
                t_backend(), (unsigned long long) mib, (long long) took,
                took > 0 ? (double) mib * 1000.0 / (double) took : 0.0,
                (unsigned long long) atomic_load(&s.polled),
                (unsigned long long) atomic_load(&s.helper_calls));
        shbuf_free(s.x); /* the echo's wait on X ends with EPIPE */
        ck_assert_int_eq(t_finish(&echo, 10000), 0);
        shbuf_free(s.y);
        pthread_mutex_destroy(&s.err_lock);
}
END_TEST

/* ---- many writers and many readers, across processes -------------------------- */

#define MANY 4
#define PER_WRITER 25000

struct many {
        shbuf *sb;
        uint32_t id;
        _Atomic uint32_t *received;
        _Atomic uint64_t *count, *seqsum; /* per writer */
        atomic_bool *bad;
};

static void *many_writer(void *arg) {
        struct many *m = arg;
        struct t_record rec;
        for (uint32_t seq = 0; seq < PER_WRITER && !atomic_load(m->bad);) {
                t_record_make(&rec, m->id, seq);
                long n = shbuf_write(m->sb, (const unsigned char *) &rec, sizeof(rec));
                if (n == sizeof(rec))
                        seq++;
                else if (n != 0 || (shbuf_wait_timeout(m->sb, 1000) < 0 && errno != ETIMEDOUT))
                        atomic_store(m->bad, true); /* a torn write, or an error */
        }
        return NULL;
}

static void *many_reader(void *arg) {
        struct many *m = arg;
        struct t_record rec;
        while (atomic_load(m->received) < MANY * PER_WRITER && !atomic_load(m->bad)) {
                long n = shbuf_read(m->sb, (unsigned char *) &rec, sizeof(rec));
                if (n == 0) {
                        if (shbuf_wait_timeout(m->sb, 100) < 0 && errno != ETIMEDOUT)
                                atomic_store(m->bad, true);
                        continue;
                }
                if (n != sizeof(rec) || !t_record_ok(&rec, MANY)) {
                        atomic_store(m->bad, true);
                        break;
                }
                atomic_fetch_add(&m->count[rec.writer], 1);
                atomic_fetch_add(&m->seqsum[rec.writer], rec.seq);
                atomic_fetch_add(m->received, 1);
        }
        return NULL;
}

/* The readers: MANY threads on the client handle; exit 0 when every record
 * of every writer came exactly once and whole. */
static int p_readers(key_t key, int in, int out, void *arg) {
        (void) in;
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        _Atomic uint32_t received = 0;
        _Atomic uint64_t count[MANY] = {0}, seqsum[MANY] = {0};
        atomic_bool bad = false;
        struct many m[MANY];
        pthread_t t[MANY];
        t_put(out, 'o');
        for (uint32_t i = 0; i < MANY; i++) {
                m[i] = (struct many){.sb = sb, .id = i, .received = &received, .count = count, .seqsum = seqsum, .bad = &bad};
                if (pthread_create(&t[i], NULL, many_reader, &m[i]) != 0)
                        return 11;
        }
        for (int i = 0; i < MANY; i++)
                pthread_join(t[i], NULL);
        if (atomic_load(&bad))
                return 12;
        const uint64_t want = (uint64_t) PER_WRITER * (PER_WRITER - 1) / 2;
        for (int i = 0; i < MANY; i++)
                if (atomic_load(&count[i]) != PER_WRITER || atomic_load(&seqsum[i]) != want)
                        return 13;
        shbuf_free(sb);
        return 0;
}

/*
 * MANY threads write records through the provider's handle while MANY
 * threads of another process read them through the client's. Every write
 * and read moves one whole record (the ring holds whole records), so with
 * the calls of one direction serialised no record may tear, go missing or
 * arrive twice.
 */
START_TEST(test_many_writers_many_readers) {
        const key_t key = t_key(2);
        shbuf *sb = t_create(key, 64 * T_RECORD);
        ck_assert_ptr_nonnull(sb);
        struct t_child c = t_fork(p_readers, key, NULL);
        ck_assert_int_eq(t_get(c.from, 10000), 'o');
        atomic_bool bad = false;
        struct many m[MANY];
        pthread_t t[MANY];
        for (uint32_t i = 0; i < MANY; i++) {
                m[i] = (struct many){.sb = sb, .id = i, .bad = &bad};
                ck_assert_int_eq(pthread_create(&t[i], NULL, many_writer, &m[i]), 0);
        }
        for (int i = 0; i < MANY; i++)
                pthread_join(t[i], NULL);
        ck_assert_msg(!atomic_load(&bad), "a writer saw a torn write or an error");
        int code = t_finish(&c, 60000);
        ck_assert_msg(code == 0, "the readers: %s",
                      code == 12 ? "a torn record" : code == 13 ? "records lost or twice" : "failed");
        shbuf_free(sb);
}
END_TEST

/* ---- notification on and off under waiters ------------------------------------- */

struct toggle {
        shbuf *sb;
        atomic_bool stop;
        _Atomic unsigned errors, rounds;
};

static void *toggle_main(void *arg) {
        struct toggle *t = arg;
        for (unsigned i = 0; !atomic_load(&t->stop); i++) {
                if (shbuf_notify_enable(t->sb, (int) (i & 1)) < 0)
                        atomic_fetch_add(&t->errors, 1);
                atomic_fetch_add(&t->rounds, 1);
        }
        return NULL;
}

static void *toggle_waiter(void *arg) {
        struct toggle *t = arg;
        while (!atomic_load(&t->stop)) {
                if (shbuf_wait_timeout(t->sb, 5) < 0 && errno != ETIMEDOUT)
                        atomic_fetch_add(&t->errors, 1);
                int fd = shbuf_get_select_fd(t->sb);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                /* A descriptor closed by a disable meanwhile is the
                 * program's race, as with close(): poll may fail then. */
                if (fd >= 0 && poll(&p, 1, 1) > 0)
                        (void) shbuf_post_select(t->sb);
        }
        return NULL;
}

/* The peer notifies every 100 us until told to stop. */
static int p_notifier(key_t key, int in, int out, void *arg) {
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return 10;
        t_put(out, 'o');
        struct pollfd p = {.fd = in, .events = POLLIN};
        while (poll(&p, 1, 0) == 0) {
                if (shbuf_notify(sb) < 0)
                        return 11;
                usleep(100);
        }
        shbuf_free(sb);
        return 0;
}

/*
 * shbuf_notify_enable() from two threads at once, while two others wait
 * (in shbuf_wait_timeout() and on the descriptor) and the peer notifies:
 * no crash, no use after free (the sanitizer builds watch), no error, and
 * no descriptor left behind afterwards.
 */
START_TEST(test_notify_enable_under_waiters) {
        const key_t key = t_key(3);
        struct toggle t = {0};
        t.sb = t_create(key, 4096);
        ck_assert_ptr_nonnull(t.sb);
        struct t_child c = t_fork(p_notifier, key, NULL);
        ck_assert_int_eq(t_get(c.from, 10000), 'o');
        /* A first round opens what a handle opens once (the peer's pidfd,
         * the helper thread's descriptors); the second must add nothing. */
        int fds[2];
        for (int round = 0; round < 2; round++) {
                pthread_t th[4];
                atomic_store(&t.stop, false);
                for (int i = 0; i < 4; i++)
                        ck_assert_int_eq(pthread_create(&th[i], NULL, i < 2 ? toggle_main : toggle_waiter, &t), 0);
                t_sleep_ms(round == 0 ? 300 : t_sanitized() ? 1500 : 2000);
                atomic_store(&t.stop, true);
                for (int i = 0; i < 4; i++)
                        pthread_join(th[i], NULL);
                ck_assert_int_eq(shbuf_notify_enable(t.sb, 0), 0);
                fds[round] = t_fd_count();
        }
        t_put(c.to, 's');
        ck_assert_int_eq(t_finish(&c, 10000), 0);
        ck_assert_uint_eq(atomic_load(&t.errors), 0);
        fprintf(stderr, "%s: %u enable/disable rounds under two waiters\n", t_backend(), atomic_load(&t.rounds));
        ck_assert_int_eq(fds[1], fds[0]);
        shbuf_free(t.sb);
}
END_TEST

int main(void) {
        Suite *s = suite_create("threads");
        TCase *tc = t_case(s, "eintr", 30);

        t_init();
        tcase_add_loop_test(tc, test_eintr, 0, 3);
        tcase_add_loop_test(tc, test_restart, 0, 2);

        tc = t_case(s, "threads", 240);
        tcase_add_test(tc, test_threads_echo);
        tc = t_case(s, "many", 120);
        tcase_add_test(tc, test_many_writers_many_readers);
        tc = t_case(s, "toggle", 60);
        tcase_add_test(tc, test_notify_enable_under_waiters);

        return t_run(s, "check_threads");
}
