/*
 * The core without the kernel's IPC: both handles of a buffer of the
 * in-memory backend (fake-backend.c) in one process, driven by threads.
 *
 *   - many writer threads on one handle and many reader threads on the
 *     other move a stream of records, every one landing whole;
 *   - edits of the status view made under the status lock (read index,
 *     length, backlog target, ignore flags) behave as in libshbuf 0.0.3
 *     while the peer streams;
 *   - notification switched on and off from several threads while others
 *     wait on the descriptor;
 *   - the status lock: unlock by a thread that does not hold it, a lock
 *     word holding this handle's own tag without this handle holding it,
 *     a holder that is gone.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-run.h"
#include "fake-backend.h"
#include "test-util.h"

static void pair(uint64_t size, shbuf **ret_provider, shbuf **ret_client) {
        ck_assert_int_eq(shbuf__create_on(&shbuf__backend_fake, ret_provider, 0, size, 0600), 0);
        ck_assert_int_eq(shbuf__open_on(&shbuf__backend_fake, ret_client, (*ret_provider)->key), 0);
}

/* ---- many writers, many readers ------------------------------------------ */

#define WRITERS 4
#define READERS 4

struct many {
        shbuf *w, *r;
        uint32_t per_writer;
        _Atomic uint32_t received;
        _Atomic uint64_t seen[WRITERS]; /* count of records received per writer */
        _Atomic uint64_t seqsum[WRITERS];
        atomic_bool bad;
        char what[128];
        struct thread_arg {
                struct many *m;
                uint32_t id;
        } args[WRITERS + READERS];
};

static void *many_writer(void *p) {
        struct thread_arg *a = p;
        struct many *m = a->m;
        struct t_record rec;
        for (uint32_t seq = 0; seq < m->per_writer && !atomic_load(&m->bad);) {
                t_record_make(&rec, a->id, seq);
                long n = shbuf_write(m->w, (const unsigned char *) &rec, sizeof(rec));
                if (n == sizeof(rec)) {
                        seq++;
                        continue;
                }
                /* Room comes in whole records: all or nothing. */
                if (n != 0 || (shbuf_wait_timeout(m->w, 1000) < 0 && errno != ETIMEDOUT)) {
                        snprintf(m->what, sizeof(m->what), "writer %u: write gave %ld (%s)", a->id, n,
                                 strerror(errno));
                        atomic_store(&m->bad, true);
                }
        }
        return NULL;
}

static void *many_reader(void *p) {
        struct thread_arg *a = p;
        struct many *m = a->m;
        struct t_record rec;
        const uint32_t total = m->per_writer * WRITERS;
        while (atomic_load(&m->received) < total && !atomic_load(&m->bad)) {
                long n = shbuf_read(m->r, (unsigned char *) &rec, sizeof(rec));
                if (n == 0) {
                        if (shbuf_wait_timeout(m->r, 100) < 0 && errno != ETIMEDOUT)
                                atomic_store(&m->bad, true);
                        continue;
                }
                if (n != sizeof(rec) || !t_record_ok(&rec, WRITERS)) {
                        snprintf(m->what, sizeof(m->what), "reader %u: a torn record (%ld bytes, writer %u)",
                                 a->id, n, rec.writer);
                        atomic_store(&m->bad, true);
                        break;
                }
                atomic_fetch_add(&m->seen[rec.writer], 1);
                atomic_fetch_add(&m->seqsum[rec.writer], rec.seq);
                atomic_fetch_add(&m->received, 1);
        }
        return NULL;
}

/*
 * Every write is one record and the ring holds whole records, so every
 * write and every read moves a whole record or nothing; with the calls of
 * one direction serialised, records never tear and none is lost or read
 * twice, however many threads share a handle.
 */
START_TEST(test_many_writers_many_readers) {
        struct many m = {.per_writer = 20000};
        pthread_t t[WRITERS + READERS];
        pair(64 * T_RECORD, &m.w, &m.r);
        for (uint32_t i = 0; i < WRITERS + READERS; i++) {
                m.args[i] = (struct thread_arg){.m = &m, .id = i < WRITERS ? i : i - WRITERS};
                ck_assert_int_eq(pthread_create(&t[i], NULL, i < WRITERS ? many_writer : many_reader, &m.args[i]), 0);
        }
        for (int i = 0; i < WRITERS + READERS; i++)
                pthread_join(t[i], NULL);
        ck_assert_msg(!atomic_load(&m.bad), "%s", m.what);
        const uint64_t want_sum = (uint64_t) m.per_writer * (m.per_writer - 1) / 2;
        for (int i = 0; i < WRITERS; i++) {
                ck_assert_uint_eq(atomic_load(&m.seen[i]), m.per_writer);
                ck_assert_uint_eq(atomic_load(&m.seqsum[i]), want_sum);
        }
        ck_assert_int_eq(shbuf_is_empty(m.r), 1);
        shbuf_free(m.r);
        shbuf_free(m.w);
}
END_TEST

/* ---- status locks against a streaming peer, back to back ------------------ */

struct lock_race {
        shbuf *w;
        atomic_bool stop;
        char what[128];
};

static void *race_writer(void *p) {
        struct lock_race *lr = p;
        unsigned char buf[64] = {0};
        while (!atomic_load(&lr->stop))
                if (shbuf_write(lr->w, buf, sizeof(buf)) < 0) {
                        snprintf(lr->what, sizeof(lr->what), "write: %s", strerror(errno));
                        break;
                }
        return NULL;
}

/*
 * A writer that found the ring frozen and then the lock free (the holder
 * was just leaving) must not wait for the lock from inside its call: the
 * next holder's freeze waits for that call to end, and both would stand
 * still until the holder's bound (2 s), which fails its shbuf_status_lock()
 * with ETIMEDOUT. The reader takes and drops the lock back to back while
 * the writer writes, to meet that window often.
 */
START_TEST(test_status_locks_back_to_back) {
        struct lock_race lr = {.what = ""};
        shbuf *r;
        pthread_t writer;
        pair(4096, &lr.w, &r);
        ck_assert_int_eq(pthread_create(&writer, NULL, race_writer, &lr), 0);
        int64_t t0 = t_now_ms();
        unsigned long locks = 0;
        unsigned char buf[4096];
        while (t_now_ms() - t0 < 1500) {
                for (int i = 0; i < 100; i++, locks++) {
                        int64_t t1 = t_now_ms();
                        int rc = shbuf_status_lock(r);
                        int e = errno;
                        if (rc < 0) {
                                atomic_store(&lr.stop, true);
                                pthread_join(writer, NULL);
                        }
                        ck_assert_msg(rc == 0, "lock %lu: %s after %lld ms", locks, strerror(e),
                                      (long long) (t_now_ms() - t1));
                        ck_assert_int_eq(shbuf_status_unlock(r), 0);
                }
                (void) shbuf_read(r, buf, sizeof(buf));
        }
        atomic_store(&lr.stop, true);
        pthread_join(writer, NULL);
        ck_assert_msg(lr.what[0] == 0, "%s", lr.what);
        shbuf_free(r);
        shbuf_free(lr.w);
}
END_TEST

/* ---- the status view while the peer streams ------------------------------- */

struct edit_stream {
        shbuf *w, *r;
        uint64_t bytes;
        atomic_bool stop;
        char what[160];
};

static void *edit_writer(void *p) {
        struct edit_stream *e = p;
        struct t_stream gen;
        unsigned char buf[700];
        uint64_t done = 0, rnd = 5;
        t_stream_init(&gen, 9);
        while (done < e->bytes && !atomic_load(&e->stop)) {
                size_t n = 1 + t_rand64(&rnd) % sizeof(buf);
                if (n > e->bytes - done)
                        n = (size_t) (e->bytes - done);
                t_stream_fill(&gen, buf, n);
                for (size_t off = 0; off < n && !atomic_load(&e->stop);) {
                        /* A write dropped by ignore_write_inc returns 0 as a
                         * full ring does: writing the bytes again is right
                         * either way. */
                        long w = shbuf_write(e->w, buf + off, n - off);
                        if (w < 0) {
                                snprintf(e->what, sizeof(e->what), "write: %s", strerror(errno));
                                atomic_store(&e->stop, true);
                                return NULL;
                        }
                        off += (size_t) w;
                        if (w == 0)
                                (void) shbuf_wait_timeout(e->w, 100);
                }
                done += n;
        }
        return NULL;
}

/*
 * The reader reads the stream, and now and then edits the status instead:
 * it skips bytes by moving the read index and shortening the length, sets
 * the one-shot ignore flags, and changes the backlog target; the stream
 * stays exact (what the writer's dropped commits did not commit it writes
 * again; what a dropped read did not consume is read again), the backlog
 * follows its target and the bytes just before the read index are the ones
 * read last.
 */
static void lock_or_fail(shbuf *sb) {
        int64_t t0 = t_now_ms();
        int r = shbuf_status_lock(sb);
        int e = errno;
        ck_assert_msg(r == 0, "shbuf_status_lock: %s after %lld ms", strerror(e), (long long) (t_now_ms() - t0));
}

START_TEST(test_status_edits_while_streaming) {
        struct edit_stream e = {.bytes = 8 << 20};
        pthread_t writer;
        pair(4096, &e.w, &e.r);
        ck_assert_int_eq(pthread_create(&writer, NULL, edit_writer, &e), 0);

        struct t_stream expect;
        t_stream_init(&expect, 9);
        unsigned char buf[900], want[900];
        uint64_t got = 0, rnd = 11, skipped = 0, ignored_writes = 0, ignored_reads = 0;
        unsigned long target = 0;
        while (got < e.bytes && !atomic_load(&e.stop)) {
                uint64_t dice = t_rand64(&rnd) % 64;
                if (dice < 3) {
                        lock_or_fail(e.r);
                        shbuf_status *st = shbuf_get_status(e.r);
                        ck_assert_uint_le(st->length, 4096);
                        ck_assert_uint_le(st->backlog, st->backlog_target);
                        if (dice == 0 && st->length > 0) {
                                /* Skip what is there, 0.0.3 style. */
                                unsigned long k = 1 + t_rand64(&rnd) % st->length;
                                st->read_idx = (st->read_idx + k) % 4096;
                                st->length -= k;
                                st->read_count++;
                                got += k;
                                skipped += k;
                                while (k > 0) {
                                        size_t piece = k < sizeof(want) ? k : sizeof(want);
                                        t_stream_fill(&expect, want, piece);
                                        k -= piece;
                                }
                        } else if (dice == 1) {
                                st->ignore_write_inc = 1;
                                ignored_writes++;
                        } else {
                                target = t_rand64(&rnd) % 2048;
                                st->backlog_target = target;
                        }
                        ck_assert_int_eq(shbuf_status_unlock(e.r), 0);
                        ck_assert_int_eq(shbuf_notify(e.r), 0);
                        continue;
                }
                if (dice == 3) {
                        lock_or_fail(e.r);
                        shbuf_get_status(e.r)->ignore_read_inc = 1;
                        ck_assert_int_eq(shbuf_status_unlock(e.r), 0);
                        ignored_reads++;
                        /* The next read copies but does not consume: 0. */
                        long n = shbuf_read(e.r, buf, sizeof(buf));
                        ck_assert_int_eq(n, 0);
                        continue;
                }
                size_t n = 1 + t_rand64(&rnd) % sizeof(buf);
                if (n > e.bytes - got)
                        n = (size_t) (e.bytes - got);
                long r = shbuf_read(e.r, buf, n);
                ck_assert_int_ge(r, 0);
                if (r == 0) {
                        (void) shbuf_wait_timeout(e.r, 100);
                        continue;
                }
                t_stream_fill(&expect, want, (size_t) r);
                ck_assert_msg(memcmp(buf, want, (size_t) r) == 0, "byte mismatch after %llu bytes",
                              (unsigned long long) got);
                got += (uint64_t) r;
                /* The backlog ends where reading left off; under the lock,
                 * the writer cannot write over it while we look. */
                if (dice == 4) {
                        lock_or_fail(e.r);
                        shbuf_status *st = shbuf_get_status(e.r);
                        ck_assert_uint_le(st->backlog, target);
                        const unsigned char *base = shbuf_get_pointer(e.r);
                        unsigned long k = st->backlog < (unsigned long) r ? st->backlog : (unsigned long) r;
                        for (unsigned long i = 0; i < k; i++)
                                ck_assert_uint_eq(base[(st->read_idx + 4096 - k + i) % 4096],
                                                  buf[(unsigned long) r - k + i]);
                        ck_assert_int_eq(shbuf_status_unlock(e.r), 0);
                }
        }
        atomic_store(&e.stop, true);
        pthread_join(writer, NULL);
        ck_assert_msg(e.what[0] == 0, "%s", e.what);
        ck_assert_uint_eq(got, e.bytes);
        ck_assert_uint_gt(skipped, 0);
        ck_assert_uint_gt(ignored_writes, 0);
        ck_assert_uint_gt(ignored_reads, 0);
        shbuf_free(e.r);
        shbuf_free(e.w);
}
END_TEST

/* ---- notification on and off from many threads ----------------------------- */

struct toggler {
        shbuf *sb, *peer;
        atomic_bool stop;
        _Atomic unsigned waits, errors;
};

static void *toggle_main(void *p) {
        struct toggler *t = p;
        for (unsigned i = 0; !atomic_load(&t->stop); i++)
                if (shbuf_notify_enable(t->sb, (int) (i & 1)) < 0)
                        atomic_fetch_add(&t->errors, 1);
        return NULL;
}

static void *waiter_main(void *p) {
        struct toggler *t = p;
        while (!atomic_load(&t->stop)) {
                if (shbuf_wait_timeout(t->sb, 5) < 0 && errno != ETIMEDOUT)
                        atomic_fetch_add(&t->errors, 1);
                int fd = shbuf_get_select_fd(t->sb);
                if (fd >= 0) {
                        struct pollfd pfd = {.fd = fd, .events = POLLIN};
                        /* The descriptor may be closed under us by a
                         * disable: like a close() in another thread, a
                         * failed poll() is the program's race. */
                        if (poll(&pfd, 1, 1) > 0)
                                (void) shbuf_post_select(t->sb);
                }
                atomic_fetch_add(&t->waits, 1);
        }
        return NULL;
}

static void *notifier_main(void *p) {
        struct toggler *t = p;
        while (!atomic_load(&t->stop)) {
                (void) shbuf_notify(t->peer);
                usleep(100);
        }
        return NULL;
}

/*
 * shbuf_notify_enable() from two threads at once while two others wait,
 * some on the descriptor: no crash, no use after free (the sanitizers
 * watch), no error, and no descriptor left open afterwards.
 */
START_TEST(test_notify_toggle_under_waiters) {
        struct toggler t = {0};
        pthread_t th[5];
        pair(4096, &t.sb, &t.peer);
        /* What a handle opens once (the peer's pidfd) is open before we count. */
        ck_assert_int_eq(shbuf_notify_enable(t.sb, 1), 0);
        ck_assert_int_eq(shbuf_notify_enable(t.sb, 0), 0);
        int fds_before = t_fd_count();
        ck_assert_int_eq(pthread_create(&th[0], NULL, toggle_main, &t), 0);
        ck_assert_int_eq(pthread_create(&th[1], NULL, toggle_main, &t), 0);
        ck_assert_int_eq(pthread_create(&th[2], NULL, waiter_main, &t), 0);
        ck_assert_int_eq(pthread_create(&th[3], NULL, waiter_main, &t), 0);
        ck_assert_int_eq(pthread_create(&th[4], NULL, notifier_main, &t), 0);
        t_sleep_ms(1500);
        atomic_store(&t.stop, true);
        for (int i = 0; i < 5; i++)
                pthread_join(th[i], NULL);
        ck_assert_uint_eq(atomic_load(&t.errors), 0);
        ck_assert_uint_gt(atomic_load(&t.waits), 0);
        ck_assert_int_eq(shbuf_notify_enable(t.sb, 0), 0);
        ck_assert_int_eq(t_fd_count(), fds_before);
        shbuf_free(t.peer);
        shbuf_free(t.sb);
}
END_TEST

/* ---- the status lock ----------------------------------------------------------- */

static void *unlock_main(void *p) {
        errno = 0;
        intptr_t r = shbuf_status_unlock(p);
        return (void *) (intptr_t) (r == -1 && errno == EPERM ? 1 : 0);
}

/* Only the holding thread releases the lock: another thread, or a second
 * unlock, gets EPERM and changes nothing. */
START_TEST(test_unlock_by_non_holder) {
        shbuf *p, *c;
        pair(64, &p, &c);
        errno = 0;
        ck_assert_int_eq(shbuf_status_unlock(p), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(shbuf_status_lock(p), 0);
        pthread_t t;
        void *res;
        ck_assert_int_eq(pthread_create(&t, NULL, unlock_main, p), 0);
        pthread_join(t, &res);
        ck_assert_ptr_eq(res, (void *) 1);
        /* Still held: the other handle cannot have it. */
        ck_assert_int_eq(c->control->lock.owner & SHBUF__LOCK_TAG_MASK, p->tag);
        errno = 0;
        ck_assert_int_eq(shbuf_status_lock(p), -1);
        ck_assert_int_eq(errno, EDEADLK);
        ck_assert_int_eq(shbuf_status_unlock(p), 0);
        ck_assert_int_eq(shbuf_status_lock(c), 0);
        ck_assert_int_eq(shbuf_status_unlock(c), 0);
        shbuf_free(c);
        shbuf_free(p);
}
END_TEST

/*
 * A lock word that holds this very handle's tag while the handle holds
 * nothing (left by a forked child, or written by a peer) is taken over at
 * once, as is the tag of a handle that is no side's any more.
 */
START_TEST(test_stale_holders_taken_over) {
        shbuf *p, *c;
        pair(64, &p, &c);
        const uint32_t stale[] = {p->tag, c->tag ^ 0x1234, 0x7fffffff};
        for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
                atomic_store(&p->control->lock.owner, stale[i] | SHBUF__LOCK_CONTENDED);
                int64_t t0 = t_now_ms();
                ck_assert_int_eq(shbuf_status_lock(p), 0);
                ck_assert_int_lt(t_now_ms() - t0, 100);
                ck_assert_int_eq(shbuf_status_unlock(p), 0);
        }
        ck_assert_uint_eq(atomic_load(&p->control->lock.recoveries), 3);
        /* The peer's live tag is respected: a bounded wait, then ETIMEDOUT. */
        atomic_store(&p->control->lock.owner, c->tag);
        int64_t t0 = t_now_ms();
        errno = 0;
        ck_assert_int_eq(shbuf_status_lock(p), -1);
        ck_assert_int_eq(errno, ETIMEDOUT);
        ck_assert_int_ge(t_now_ms() - t0, shbuf__lock_wait_ms - 100);
        atomic_store(&p->control->lock.owner, 0);
        shbuf_free(c);
        shbuf_free(p);
}
END_TEST

int main(void) {
        Suite *s = suite_create("core");
        TCase *tc;

        t_init();
        tcase_add_test(t_case(s, "threads", 120), test_many_writers_many_readers);
        tc = t_case(s, "status", 120);
        tcase_add_test(tc, test_status_edits_while_streaming);
        tcase_add_test(tc, test_status_locks_back_to_back);
        tcase_add_test(t_case(s, "notify", 60), test_notify_toggle_under_waiters);
        tc = t_case(s, "lock", 60);
        tcase_add_test(tc, test_unlock_by_non_holder);
        tcase_add_test(tc, test_stale_holders_taken_over);
        return t_run(s, "check_core");
}
