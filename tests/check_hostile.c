/*
 * A hostile or corrupted peer: a process maps the control block directly
 * and keeps writing random values into the private header and the status
 * block, while this process runs every API call in a loop. Nothing may
 * crash or touch memory outside the mappings (this test
 * matters most under AddressSanitizer: every buffer handed to the library
 * has exactly the size given), calls fail only with EPROTO (or the errors
 * documented for the call) and the run ends in bounded time.
 *
 * Phase 1 scribbles everything both sides share (the positions, the busy
 * marks, both side blocks, the lock), phase 1b the backend area as well;
 * phase 2 scribbles the identification too, which must only make new
 * attaches (and the tools) fail with EPROTO while the running handle goes
 * on.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "layout.h"
#include "check-run.h"
#include "test-util.h"

#define RING 4096
#define IDENT_BYTES 32
#define SHARED_START offsetof(struct shbuf__control, head)
#define CONTROL_END sizeof(struct shbuf__control)

_Static_assert(offsetof(struct shbuf__control, header.backend_area) == IDENT_BYTES, "identification is 32 bytes");

/*
 * Every word is fair game, the provider's pid and state too: `shbuf gc` (run
 * by other tests, or by anybody on the machine) goes by the presence tokens
 * the kernel keeps, so what the scribbler writes there cannot make it
 * remove this buffer under our feet.
 */
#define PROVIDER_PID_WORD (offsetof(struct shbuf__control, side[SHBUF__PROVIDER].pid) / 4)
#define PROVIDER_STATE_WORD (offsetof(struct shbuf__control, side[SHBUF__PROVIDER].state) / 4)

/* Map the control block under key without the library. */
static volatile uint32_t *map_control(key_t key) {
        return t_map_control(key);
}

/* What a scribbler writes to. */
enum scribble {
        SCRIBBLE_SHARED,  /* positions, marks, side blocks, the lock */
        SCRIBBLE_BACKEND, /* also the backend area */
        SCRIBBLE_IDENT,   /* also the identification */
};

/*
 * The scribbler. It first attaches as the client, like a peer that turned
 * hostile (not in SCRIBBLE_IDENT: that would fail), says 'r' after its first
 * full pass, then scribbles until killed: bursts of random words (small
 * values too, they are the ones that pass some checks), and every other
 * burst positions that are plausible, so that the other side sees valid,
 * nearly valid and absurd rings in turn.
 */
static int p_scribbler(key_t key, int in, int out, void *arg) {
        const enum scribble what = (enum scribble)(intptr_t) arg;
        uint64_t rnd = 0x9E3779B97F4A7C15u ^ (uint64_t) getpid();
        (void) in;
        if (what != SCRIBBLE_IDENT && !shbuf_open(key))
                return 10;
        volatile uint32_t *w = map_control(key);
        if (!w)
                return 11;
        const size_t first = what == SCRIBBLE_IDENT     ? 0
                             : what == SCRIBBLE_BACKEND ? IDENT_BYTES / 4
                                                        : SHARED_START / 4,
                     words = CONTROL_END / 4;
        volatile uint64_t *head = (volatile uint64_t *) ((volatile char *) w + offsetof(struct shbuf__control, head.pos));
        volatile uint64_t *tail = (volatile uint64_t *) ((volatile char *) w + offsetof(struct shbuf__control, tail.pos));
        for (size_t i = first; i < words; i++)
                w[i] = (uint32_t) t_rand64(&rnd);
        if (what == SCRIBBLE_IDENT)
                w[0] = SHBUF__MAGIC ^ 1;
        t_put(out, 'r');
        for (uint64_t burst = 0;; burst++) {
                uint64_t r = t_rand64(&rnd);
                for (unsigned k = 0; k < 1 + (r & 15); k++) {
                        uint64_t x = t_rand64(&rnd);
                        size_t i = first + (size_t) (x % (words - first));
                        uint32_t v = (uint32_t) (x >> 32);
                        if ((x & 0x700) == 0)
                                v %= 2 * RING;
                        if (i == 0 && v == SHBUF__MAGIC)
                                v ^= 1;
                        w[i] = v;
                }
                if (burst & 1) {
                        /* Positions around the valid range, [0, 2S). */
                        *head = t_rand64(&rnd) % (2 * RING + 2);
                        *tail = t_rand64(&rnd) % (2 * RING + 2);
                }
                sched_yield();
        }
}

struct tally {
        unsigned long ok, eproto, other_expected;
};

#define CHECK_ERR(call, ...)                                                                                \
        do {                                                                                                \
                int e_ = errno;                                                                             \
                const int allowed_[] = {__VA_ARGS__};                                                       \
                bool fine_ = false;                                                                         \
                for (size_t k_ = 0; k_ < sizeof(allowed_) / sizeof(allowed_[0]); k_++)                      \
                        fine_ = fine_ || allowed_[k_] == e_;                                                \
                ck_assert_msg(fine_, "iteration %lu: %s failed with errno %d (%s)", it, call, e_,           \
                              strerror(e_));                                                                \
                if (e_ == EPROTO)                                                                           \
                        t->eproto++;                                                                        \
                else                                                                                        \
                        t->other_expected++;                                                                \
        } while (0)

static void check_span(unsigned long it, const char *what, const unsigned char *p, unsigned long l,
                       const unsigned char *base) {
        ck_assert_msg(p >= base && p <= base + RING && l <= RING && (size_t) (p - base) + l <= RING,
                      "iteration %lu: %s gave %p + %lu outside the ring %p + %d", it, what, (const void *) p,
                      l, (const void *) base, RING);
}

/* One round of every call of the API; the state may be anything. */
static void round_of_calls(shbuf *sb, unsigned long it, struct tally *t, unsigned char *heap) {
        unsigned char *base = shbuf_get_pointer(sb);
        unsigned long l;
        long n;
        int r;

        ck_assert_uint_eq(shbuf_get_size(sb), RING);
        ck_assert_ptr_nonnull(base);

        unsigned char *p = shbuf_get_read_pointer(sb, &l);
        if (p) {
                check_span(it, "shbuf_get_read_pointer", p, l, base);
                unsigned sum = 0;
                for (unsigned long i = 0; i < l; i++)
                        sum += p[i];
                (void) sum;
                t->ok++;
                if (shbuf_inc_read_pointer(sb, l / 2) < 0)
                        CHECK_ERR("shbuf_inc_read_pointer", EPROTO, EINVAL, ETIMEDOUT);
        } else {
                CHECK_ERR("shbuf_get_read_pointer", EPROTO);
        }
        p = shbuf_get_write_pointer(sb, &l);
        if (p) {
                check_span(it, "shbuf_get_write_pointer", p, l, base);
                memset(p, 0xA5, l);
                t->ok++;
                if (shbuf_inc_write_pointer(sb, l / 2) < 0)
                        CHECK_ERR("shbuf_inc_write_pointer", EPROTO, EINVAL, ETIMEDOUT);
        } else {
                CHECK_ERR("shbuf_get_write_pointer", EPROTO);
        }

        /* Heap buffers of exactly the size given: AddressSanitizer sees any overrun. */
        size_t want = 1 + it % (2 * RING);
        unsigned char *buf = heap + (2 * RING - want);
        n = shbuf_read(sb, buf, want);
        if (n < 0)
                CHECK_ERR("shbuf_read", EPROTO, EINVAL);
        else
                ck_assert_msg((size_t) n <= want, "shbuf_read returned %ld for %zu", n, want);
        n = shbuf_write(sb, buf, want);
        if (n < 0)
                CHECK_ERR("shbuf_write", EPROTO, EINVAL);
        else
                ck_assert_msg((size_t) n <= want, "shbuf_write returned %ld for %zu", n, want);

        r = shbuf_is_empty(sb);
        if (r < 0)
                CHECK_ERR("shbuf_is_empty", EPROTO);
        else
                ck_assert(r == 0 || r == 1);
        r = shbuf_is_full(sb);
        if (r < 0)
                CHECK_ERR("shbuf_is_full", EPROTO);
        else
                ck_assert(r == 0 || r == 1);

        /* A scribbled lock or busy mark may make the lock's bounded wait
         * run out; the status edit itself is checked when it is released. */
        if (shbuf_status_lock(sb) == 0) {
                shbuf_status copy = *shbuf_get_status(sb);
                (void) copy;
                ck_assert_int_eq(shbuf_status_unlock(sb), 0);
                t->ok++;
        } else {
                CHECK_ERR("shbuf_status_lock", EPROTO, ETIMEDOUT);
        }
        if (it % 8 == 0 && (it % 16 == 0 ? shbuf_reset(sb) : shbuf_zero(sb)) < 0)
                CHECK_ERR("shbuf_reset/shbuf_zero", ETIMEDOUT);

        if (shbuf_notify(sb) < 0)
                CHECK_ERR("shbuf_notify", EPIPE);
        if (shbuf_wait_timeout(sb, 0) < 0)
                CHECK_ERR("shbuf_wait_timeout", ETIMEDOUT, EPIPE, EPROTO);
        r = shbuf_is_connected(sb);
        ck_assert(r == 0 || r == 1);

        /* The select descriptor, switched off and on now and then. */
        if (it % 1024 == 0) {
                ck_assert_int_eq(shbuf_notify_enable(sb, 0), 0);
                ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);
        }
        int fd = shbuf_get_select_fd(sb);
        ck_assert_int_ge(fd, 0);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) > 0 && shbuf_post_select(sb) < 0)
                CHECK_ERR("shbuf_post_select", EPIPE);

        if (it % 64 == 0) {
                shbuf_info info;
                if (shbuf_inspect(shbuf_get_key(sb), NULL, &info) < 0)
                        CHECK_ERR("shbuf_inspect", EPROTO);
        }
}

static void run_rounds(shbuf *sb, unsigned long rounds, struct tally *t) {
        unsigned char *heap = malloc(2 * RING);
        ck_assert_ptr_nonnull(heap);
        memset(heap, 0, 2 * RING);
        for (unsigned long it = 0; it < rounds; it++)
                round_of_calls(sb, it, t, heap);
        free(heap);
}

static int p_try_open(key_t key, int in, int out, void *arg) {
        (void) in;
        (void) out;
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (sb) {
                shbuf_free(sb);
                return 0;
        }
        return errno;
}

START_TEST(test_hostile_peer) {
        const unsigned long rounds = t_env_u64("SHBUF_HOSTILE_ROUNDS", 100000);
        const key_t key = t_key(0);
        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        ck_assert_int_eq(shbuf_notify_enable(sb, 1), 0);

        /* Phase 1: the lock, the peer slots and the status. */
        struct t_child s = t_fork(p_scribbler, key, (void *) (intptr_t) SCRIBBLE_SHARED);
        ck_assert_int_gt(s.pid, 0);
        ck_assert_int_eq(t_get(s.from, 10000), 'r');
        struct tally t1 = {0};
        int64_t t0 = t_now_ms();
        run_rounds(sb, rounds, &t1);
        int64_t took1 = t_now_ms() - t0;
        kill(s.pid, SIGKILL);
        t_finish(&s, 5000);
        fprintf(stderr,
                "%s: %lu rounds against a scribbled lock, peers and status in %lld ms: %lu ok, %lu EPROTO, "
                "%lu other documented errors\n",
                t_backend(), rounds, (long long) took1, t1.ok, t1.eproto, t1.other_expected);
        /* The scribbler really got in the way, and calls still got through. */
        ck_assert_uint_gt(t1.eproto, 0);
        ck_assert_uint_gt(t1.ok, 0);

        /* Phase 1b: the backend area as well (object ids, or the POSIX lock's semaphore). */
        fprintf(stderr, "%s: now scribbling the backend area as well\n", t_backend());
        s = t_fork(p_scribbler, key, (void *) (intptr_t) SCRIBBLE_BACKEND);
        ck_assert_int_gt(s.pid, 0);
        ck_assert_int_eq(t_get(s.from, 10000), 'r');
        struct tally t1b = {0};
        t0 = t_now_ms();
        run_rounds(sb, rounds / 4, &t1b);
        took1 = t_now_ms() - t0;
        kill(s.pid, SIGKILL);
        t_finish(&s, 5000);
        fprintf(stderr,
                "%s: %lu rounds with the backend area scribbled too in %lld ms: %lu ok, %lu EPROTO\n",
                t_backend(), rounds / 4, (long long) took1, t1b.ok, t1b.eproto);
        ck_assert_uint_gt(t1b.ok, 0);

        /* Phase 2: the identification too. The running handle goes on... */
        struct t_child s2 = t_fork(p_scribbler, key, (void *) (intptr_t) SCRIBBLE_IDENT);
        ck_assert_int_gt(s2.pid, 0);
        ck_assert_int_eq(t_get(s2.from, 10000), 'r');
        struct tally t2 = {0};
        run_rounds(sb, rounds / 10, &t2);
        ck_assert_uint_gt(t2.ok, 0);
        /* ...but nobody new takes the block for a buffer. */
        struct t_child o = t_fork(p_try_open, key, NULL);
        int code = t_finish(&o, 10000);
        ck_assert_msg(code == EPROTO, "opening a buffer with a scribbled identification: %s",
                      code > 0    ? strerror(code)
                      : code == 0 ? "it worked"
                                  : "crashed");
        shbuf_info info;
        errno = 0;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), -1);
        ck_assert_int_eq(errno, EPROTO);
        errno = 0;
        ck_assert_int_eq(shbuf_remove(key, NULL), -1);
        ck_assert_int_eq(errno, EPROTO);
        kill(s2.pid, SIGKILL);
        t_finish(&s2, 5000);

        /* The provider still removes its own objects. */
        pid_t me = getpid();
        shbuf_free(sb);
        char desc[512];
        ck_assert_msg(t_objects(key, me, desc, sizeof(desc)) == 0, "left behind: %s", desc);
}
END_TEST

/*
 * The pids and states in the control block are a peer's to scribble: a
 * provider that is alive stays alive for the tools whatever they say, and
 * shbuf_gc() leaves its buffer alone; once it is gone, a pid scribbled to a
 * live process keeps nothing alive either.
 */
START_TEST(test_gc_trusts_no_pid) {
        shbuf *sb = t_create(t_key(40), 4096);
        ck_assert_ptr_nonnull(sb);
        key_t key = shbuf_get_key(sb);
        /* A pid that surely is dead: a child that exited and was reaped. */
        pid_t dead = fork();
        if (dead == 0)
                _exit(0);
        t_wait_child(dead, 5000);
        volatile uint32_t *w = map_control(key);
        ck_assert_ptr_nonnull((void *) w);
        w[PROVIDER_PID_WORD] = (uint32_t) dead;
        w[PROVIDER_STATE_WORD] = SHBUF__SIDE_DETACHED;

        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
        ck_assert_int_eq(info.provider_alive, 1);
        ck_assert_msg(t_gc_removes(key) == 0, "gc removed a live buffer (or failed)");
        t_unmap_control(w);

        /* A provider that dies with its buffer, with our pid planted. */
        key_t orphan = t_key(41);
        pid_t provider = fork();
        if (provider == 0) {
                shbuf *p = t_create(orphan, 4096);
                _exit(p ? 0 : 1);
        }
        ck_assert_int_eq(t_wait_child(provider, 5000), 0);
        w = map_control(orphan);
        ck_assert_ptr_nonnull((void *) w);
        w[PROVIDER_PID_WORD] = (uint32_t) getpid();
        w[PROVIDER_STATE_WORD] = SHBUF__SIDE_ATTACHED;
        t_unmap_control(w);
        ck_assert_int_eq(shbuf_inspect(orphan, NULL, &info), 0);
        ck_assert_int_eq(info.provider_alive, 0);
        ck_assert_int_eq(info.client_alive, 0);
        ck_assert_msg(t_gc_removes(orphan) == 1, "gc kept a buffer whose processes are all gone");
        shbuf_free(sb);
}
END_TEST

/* Positions no ring can have, written by a peer straight into shared
 * memory: head, tail (indices in [0, 2S) whose distance is at most S). */
static const uint64_t bad_positions[][2] = {
        {2 * 32, 0},           /* head out of range */
        {0, 2 * 32},           /* tail out of range */
        {UINT64_MAX, 0},       /* head huge */
        {0, UINT64_MAX - 5},   /* tail huge */
        {40, 3},               /* more than S unread */
        {3, 5},                /* tail ahead of head by less than 2S: 62 unread */
};

/*
 * Every helper refuses a ring with impossible positions (EPROTO), none
 * leaves the status lock held, the tools say the status is not valid, and
 * shbuf_reset() or shbuf_zero() (what a program has to recover with)
 * repairs it.
 */
START_TEST(test_impossible_positions) {
        const uint64_t *bad = bad_positions[_i];
        shbuf *sb = t_create(t_key(41), 32);
        ck_assert_ptr_nonnull(sb);
        unsigned char buf[8];
        unsigned long l;

        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "abc", 3), 3);
        volatile uint32_t *w = map_control(t_key(41));
        ck_assert_ptr_nonnull((void *) w);
        volatile uint64_t *head = (volatile uint64_t *) ((volatile char *) w + offsetof(struct shbuf__control, head.pos));
        volatile uint64_t *tail = (volatile uint64_t *) ((volatile char *) w + offsetof(struct shbuf__control, tail.pos));
        *head = bad[0];
        *tail = bad[1];

        /* A look at a position it owns, or one it loads afresh, fails; a
         * writer that still holds what it last saw of the reader's
         * position may use that (it was valid, and the reader can only
         * have moved on), but never outside the ring. */
        int64_t t0 = t_now_ms();
        unsigned char *base = shbuf_get_pointer(sb);
        errno = 0;
        ck_assert_ptr_null(shbuf_get_read_pointer(sb, &l));
        ck_assert_int_eq(errno, EPROTO);
        unsigned char *p = shbuf_get_write_pointer(sb, &l);
        if (p)
                ck_assert(p >= base && p + l <= base + 32);
        else
                ck_assert_int_eq(errno, EPROTO);
        ck_assert_int_eq(shbuf_inc_read_pointer(sb, 0), -1);
        ck_assert_int_eq(errno, EPROTO);
        unsigned long writes = 1;
        if (shbuf_inc_write_pointer(sb, 0) < 0)
                ck_assert_int_eq(errno, EPROTO);
        else
                writes++;
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), -1);
        ck_assert_int_eq(errno, EPROTO);
        ck_assert_int_eq(shbuf_is_empty(sb), -1);
        ck_assert_int_eq(errno, EPROTO);
        ck_assert_int_eq(shbuf_is_full(sb), -1);
        ck_assert_int_eq(errno, EPROTO);
        ck_assert_int_eq(shbuf_status_lock(sb), -1);
        ck_assert_int_eq(errno, EPROTO);
        ck_assert_msg(t_now_ms() - t0 < 500, "refusing took %lld ms: is the lock kept?", (long long) (t_now_ms() - t0));
        /* Nothing was changed by the refused calls (the write commits
         * nothing). */
        ck_assert_uint_eq(*head, bad[0]);
        ck_assert_uint_eq(*tail, bad[1]);
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(t_key(41), NULL, &info), 0);
        ck_assert_int_eq(info.status_valid, 0);

        /* shbuf_reset() repairs it, keeping the counters; so does
         * shbuf_zero() (every other ring). */
        ck_assert_int_eq(_i % 2 ? shbuf_zero(sb) : shbuf_reset(sb), 0);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        ck_assert_uint_eq(shbuf_get_status(sb)->write_count, writes);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "xyz", 3), 3);
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);
        ck_assert_mem_eq(buf, "xyz", 3);
        t_unmap_control(w);
        shbuf_free(sb);
}
END_TEST

int main(void) {
        Suite *s = suite_create("hostile");
        TCase *tc = t_case(s, "hostile", 240);

        t_init();
        tcase_add_test(tc, test_hostile_peer);
        tcase_add_test(tc, test_gc_trusts_no_pid);
        tcase_add_loop_test(tc, test_impossible_positions, 0, (int) (sizeof(bad_positions) / sizeof(bad_positions[0])));

        return t_run(s, "check_hostile");
}
