/*
 * Ring arithmetic without any IPC: the pure functions of src/core/ring.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#define MIB (UINT64_C(1) << 20)

static struct shbuf__ring ring(uint64_t size) {
        struct shbuf__ring r = {.size = size};
        return r;
}

/* Fields compared one by one: the struct has padding. */
static void assert_same(const struct shbuf__ring *a, const struct shbuf__ring *b) {
        ck_assert_uint_eq(a->size, b->size);
        ck_assert_uint_eq(a->read_idx, b->read_idx);
        ck_assert_uint_eq(a->length, b->length);
        ck_assert_uint_eq(a->backlog, b->backlog);
        ck_assert_uint_eq(a->backlog_target, b->backlog_target);
        ck_assert_uint_eq(a->write_count, b->write_count);
        ck_assert_uint_eq(a->read_count, b->read_count);
        ck_assert_int_eq(a->ignore_read_inc, b->ignore_read_inc);
        ck_assert_int_eq(a->ignore_write_inc, b->ignore_write_inc);
}

static void assert_readable(const struct shbuf__ring *r, uint64_t off, uint64_t len) {
        uint64_t o = UINT64_MAX, l = UINT64_MAX;
        shbuf__ring_readable(r, &o, &l);
        ck_assert_uint_eq(o, off);
        ck_assert_uint_eq(l, len);
}

static void assert_writable(const struct shbuf__ring *r, uint64_t off, uint64_t len) {
        uint64_t o = UINT64_MAX, l = UINT64_MAX;
        shbuf__ring_writable(r, &o, &l);
        ck_assert_uint_eq(o, off);
        ck_assert_uint_eq(l, len);
}

START_TEST(test_wrap_around) {
        struct shbuf__ring r = ring(10);

        ck_assert_int_eq(shbuf__ring_produce(&r, 7), 1);
        ck_assert_int_eq(shbuf__ring_consume(&r, 7), 1);
        assert_readable(&r, 7, 0);
        /* The free space is split by the end of the ring: 3 bytes, then 7. */
        assert_writable(&r, 7, 3);
        ck_assert_uint_eq(shbuf__ring_free(&r), 10);

        ck_assert_int_eq(shbuf__ring_produce(&r, 5), 1);
        ck_assert_uint_eq(r.length, 5);
        assert_readable(&r, 7, 3);
        assert_writable(&r, 2, 5);

        ck_assert_int_eq(shbuf__ring_consume(&r, 3), 1);
        ck_assert_uint_eq(r.read_idx, 0);
        assert_readable(&r, 0, 2);
        assert_writable(&r, 2, 8);

        /* Fill exactly to the end, then wrap the read index to 0 again. */
        ck_assert_int_eq(shbuf__ring_produce(&r, 8), 1);
        ck_assert_uint_eq(shbuf__ring_free(&r), 0);
        assert_writable(&r, 0, 0);
        assert_readable(&r, 0, 10);
        ck_assert_int_eq(shbuf__ring_consume(&r, 10), 1);
        ck_assert_uint_eq(r.read_idx, 0);
        ck_assert_uint_eq(r.length, 0);
}
END_TEST

START_TEST(test_size_one) {
        struct shbuf__ring r = ring(1);

        for (int i = 0; i < 5; i++) {
                assert_readable(&r, 0, 0);
                assert_writable(&r, 0, 1);
                ck_assert_int_eq(shbuf__ring_produce(&r, 1), 1);
                assert_writable(&r, 0, 0);
                assert_readable(&r, 0, 1);
                struct shbuf__ring before = r;
                ck_assert_int_eq(shbuf__ring_produce(&r, 1), -EINVAL);
                assert_same(&r, &before);
                ck_assert_int_eq(shbuf__ring_consume(&r, 1), 1);
                ck_assert_uint_eq(r.read_idx, 0);
                ck_assert_int_eq(shbuf__ring_check(&r), 0);
        }
        ck_assert_uint_eq(r.write_count, 5);
        ck_assert_uint_eq(r.read_count, 5);
}
END_TEST

START_TEST(test_size_three) {
        struct shbuf__ring r = ring(3);

        ck_assert_int_eq(shbuf__ring_produce(&r, 2), 1);
        ck_assert_int_eq(shbuf__ring_consume(&r, 1), 1);
        assert_readable(&r, 1, 1);
        assert_writable(&r, 2, 1);
        ck_assert_int_eq(shbuf__ring_produce(&r, 2), 1);
        /* R = 1, L = 3: unread data at 1, 2, 0. */
        assert_readable(&r, 1, 2);
        assert_writable(&r, 1, 0);
        ck_assert_int_eq(shbuf__ring_consume(&r, 2), 1);
        assert_readable(&r, 0, 1);
        assert_writable(&r, 1, 2);
        ck_assert_int_eq(shbuf__ring_consume(&r, 1), 1);
        assert_readable(&r, 1, 0);
        assert_writable(&r, 1, 2);
}
END_TEST

/* A model of the ring with explicit modular arithmetic, compared with the
 * real functions over many random operations (loop test: sizes 1, 3, 1 MiB). */
static const uint64_t model_sizes[] = {1, 3, MIB};

START_TEST(test_against_model) {
        const uint64_t S = model_sizes[_i];
        struct shbuf__ring r = ring(S);
        uint64_t R = 0, L = 0, B = 0, wc = 0, rc = 0, x = 0x1234567u + (uint64_t) _i;
        r.backlog_target = S / 2 + 1;

        for (int step = 0; step < 200000; step++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bool write = x & 1;
                uint64_t limit = write ? S - L : L;
                /* Mostly legal amounts, sometimes one too many. */
                uint64_t n = (x >> 8) % (limit + 2);
                int got = write ? shbuf__ring_produce(&r, n) : shbuf__ring_consume(&r, n);
                int want = n > limit ? -EINVAL : 1;
                if (want == 1 && write) {
                        L += n;
                        if (B > S - L)
                                B = S - L;
                        wc++;
                } else if (want == 1) {
                        R = (R + n) % S;
                        L -= n;
                        B += n;
                        if (B > r.backlog_target)
                                B = r.backlog_target;
                        if (B > S - L)
                                B = S - L;
                        rc++;
                }
                /* Plain comparisons in the loop: every ck_assert costs Check
                 * a write to its pipe, which would dominate the run time. */
                uint64_t ro, rl, wo, wl, w = (R + L) % S;
                shbuf__ring_readable(&r, &ro, &rl);
                shbuf__ring_writable(&r, &wo, &wl);
                if (got != want || r.read_idx != R || r.length != L || r.backlog != B ||
                    r.write_count != wc || r.read_count != rc || shbuf__ring_check(&r) != 0 || ro != R ||
                    rl != (L < S - R ? L : S - R) || wo != w || wl != (S - L < S - w ? S - L : S - w))
                        ck_abort_msg(
                                "size %llu step %d (%s %llu): got %d R=%llu L=%llu B=%llu, model R=%llu "
                                "L=%llu B=%llu",
                                (unsigned long long) S, step, write ? "produce" : "consume",
                                (unsigned long long) n, got, (unsigned long long) r.read_idx,
                                (unsigned long long) r.length, (unsigned long long) r.backlog,
                                (unsigned long long) R, (unsigned long long) L, (unsigned long long) B);
        }
}
END_TEST

START_TEST(test_backlog_growth_and_target) {
        struct shbuf__ring r = ring(16);
        r.backlog_target = 5;

        ck_assert_int_eq(shbuf__ring_produce(&r, 10), 1);
        ck_assert_uint_eq(r.backlog, 0);
        ck_assert_int_eq(shbuf__ring_consume(&r, 3), 1);
        ck_assert_uint_eq(r.backlog, 3);
        /* 3 + 4 = 7 is over the target of 5. */
        ck_assert_int_eq(shbuf__ring_consume(&r, 4), 1);
        ck_assert_uint_eq(r.backlog, 5);
        ck_assert_int_eq(shbuf__ring_consume(&r, 3), 1);
        ck_assert_uint_eq(r.backlog, 5);

        /* Without a target there is no backlog at all. */
        struct shbuf__ring z = ring(16);
        ck_assert_int_eq(shbuf__ring_produce(&z, 10), 1);
        ck_assert_int_eq(shbuf__ring_consume(&z, 10), 1);
        ck_assert_uint_eq(z.backlog, 0);
}
END_TEST

START_TEST(test_backlog_capped_by_free_space) {
        struct shbuf__ring r = ring(8);
        r.backlog_target = 100;

        /* A target beyond the ring: the backlog is capped by S - L. */
        ck_assert_int_eq(shbuf__ring_produce(&r, 8), 1);
        ck_assert_int_eq(shbuf__ring_consume(&r, 2), 1);
        ck_assert_uint_eq(r.backlog, 2);
        ck_assert_int_eq(shbuf__ring_consume(&r, 6), 1);
        ck_assert_uint_eq(r.backlog, 8);
        ck_assert_uint_eq(r.backlog, r.size - r.length);
        ck_assert_int_eq(shbuf__ring_check(&r), 0);

        /* B == S - L exactly: consuming keeps it exactly at the new S - L. */
        struct shbuf__ring s = ring(8);
        s.backlog_target = 100;
        s.length = 5;
        s.backlog = 3;
        ck_assert_int_eq(shbuf__ring_consume(&s, 2), 1);
        ck_assert_uint_eq(s.backlog, 5);
        ck_assert_uint_eq(s.backlog, s.size - s.length);
}
END_TEST

START_TEST(test_writer_shrinks_backlog) {
        struct shbuf__ring r = ring(8);
        r.backlog_target = 8;

        ck_assert_int_eq(shbuf__ring_produce(&r, 8), 1);
        ck_assert_int_eq(shbuf__ring_consume(&r, 8), 1);
        ck_assert_uint_eq(r.backlog, 8);
        /* The writer may use all S - L = 8 bytes; what it overwrites is lost. */
        assert_writable(&r, 0, 8);
        ck_assert_int_eq(shbuf__ring_produce(&r, 3), 1);
        ck_assert_uint_eq(r.backlog, 5);
        ck_assert_int_eq(shbuf__ring_produce(&r, 5), 1);
        ck_assert_uint_eq(r.backlog, 0);
        ck_assert_uint_eq(r.length, 8);

        /* A write that stays inside the free space beyond the backlog
         * leaves it alone. */
        struct shbuf__ring s = ring(16);
        s.backlog_target = 4;
        ck_assert_int_eq(shbuf__ring_produce(&s, 4), 1);
        ck_assert_int_eq(shbuf__ring_consume(&s, 4), 1);
        ck_assert_uint_eq(s.backlog, 4);
        ck_assert_int_eq(shbuf__ring_produce(&s, 12), 1);
        ck_assert_uint_eq(s.backlog, 4);
        ck_assert_int_eq(shbuf__ring_produce(&s, 1), 1);
        ck_assert_uint_eq(s.backlog, 3);
}
END_TEST

START_TEST(test_ignore_read_inc) {
        struct shbuf__ring r = ring(16);
        r.backlog_target = 4;
        ck_assert_int_eq(shbuf__ring_produce(&r, 10), 1);
        r.ignore_read_inc = true;
        r.ignore_write_inc = false;

        struct shbuf__ring expect = r;
        expect.ignore_read_inc = false;
        ck_assert_int_eq(shbuf__ring_consume(&r, 3), 0);
        assert_same(&r, &expect);
        /* One-shot: the next commit counts. */
        ck_assert_int_eq(shbuf__ring_consume(&r, 3), 1);
        ck_assert_uint_eq(r.length, 7);
        ck_assert_uint_eq(r.read_count, 1);

        /* Even an over-commit is just dropped while the flag is set. */
        r.ignore_read_inc = true;
        expect = r;
        expect.ignore_read_inc = false;
        ck_assert_int_eq(shbuf__ring_consume(&r, 1000), 0);
        assert_same(&r, &expect);

        /* The read flag does not affect writing, and survives it. */
        r.ignore_read_inc = true;
        ck_assert_int_eq(shbuf__ring_produce(&r, 2), 1);
        ck_assert_uint_eq(r.length, 9);
        ck_assert(r.ignore_read_inc);
}
END_TEST

START_TEST(test_ignore_write_inc) {
        struct shbuf__ring r = ring(16);
        ck_assert_int_eq(shbuf__ring_produce(&r, 4), 1);
        r.ignore_write_inc = true;

        struct shbuf__ring expect = r;
        expect.ignore_write_inc = false;
        ck_assert_int_eq(shbuf__ring_produce(&r, 5), 0);
        assert_same(&r, &expect);
        ck_assert_int_eq(shbuf__ring_produce(&r, 5), 1);
        ck_assert_uint_eq(r.length, 9);
        ck_assert_uint_eq(r.write_count, 2);

        r.ignore_write_inc = true;
        ck_assert_int_eq(shbuf__ring_consume(&r, 9), 1);
        ck_assert_uint_eq(r.length, 0);
        ck_assert(r.ignore_write_inc);
}
END_TEST

START_TEST(test_counters) {
        struct shbuf__ring r = ring(8);

        ck_assert_int_eq(shbuf__ring_produce(&r, 0), 1);
        ck_assert_uint_eq(r.write_count, 1);
        ck_assert_int_eq(shbuf__ring_produce(&r, 8), 1);
        ck_assert_int_eq(shbuf__ring_produce(&r, 1), -EINVAL);
        ck_assert_uint_eq(r.write_count, 2);
        ck_assert_int_eq(shbuf__ring_consume(&r, 9), -EINVAL);
        ck_assert_uint_eq(r.read_count, 0);
        ck_assert_int_eq(shbuf__ring_consume(&r, 8), 1);
        ck_assert_uint_eq(r.read_count, 1);
        ck_assert_uint_eq(r.write_count, 2);

        /* Counters wrap like the unsigned long they are stored in. */
        r.write_count = UINT64_MAX;
        ck_assert_int_eq(shbuf__ring_produce(&r, 1), 1);
        ck_assert_uint_eq(r.write_count, 0);
}
END_TEST

START_TEST(test_over_commit_changes_nothing) {
        struct shbuf__ring r = ring(10);
        r.backlog_target = 3;
        ck_assert_int_eq(shbuf__ring_produce(&r, 7), 1);
        ck_assert_int_eq(shbuf__ring_consume(&r, 2), 1);
        ck_assert_int_eq(shbuf__ring_produce(&r, 4), 1);

        struct shbuf__ring before = r;
        ck_assert_int_eq(shbuf__ring_consume(&r, r.length + 1), -EINVAL);
        assert_same(&r, &before);
        ck_assert_int_eq(shbuf__ring_consume(&r, UINT64_MAX), -EINVAL);
        assert_same(&r, &before);
        ck_assert_int_eq(shbuf__ring_produce(&r, shbuf__ring_free(&r) + 1), -EINVAL);
        assert_same(&r, &before);
        ck_assert_int_eq(shbuf__ring_produce(&r, UINT64_MAX), -EINVAL);
        assert_same(&r, &before);
}
END_TEST

START_TEST(test_reset) {
        struct shbuf__ring r = ring(10);
        r.backlog_target = 4;
        ck_assert_int_eq(shbuf__ring_produce(&r, 9), 1);
        ck_assert_int_eq(shbuf__ring_consume(&r, 5), 1);
        shbuf__ring_reset(&r);
        ck_assert_uint_eq(r.read_idx, 0);
        ck_assert_uint_eq(r.length, 0);
        ck_assert_uint_eq(r.backlog, 0);
        ck_assert_uint_eq(r.backlog_target, 4);
        ck_assert_uint_eq(r.write_count, 1);
        ck_assert_uint_eq(r.read_count, 1);
}
END_TEST

START_TEST(test_check_rejects_impossible) {
        struct shbuf__ring ok = ring(10);
        ok.read_idx = 9;
        ok.length = 10;
        ck_assert_int_eq(shbuf__ring_check(&ok), 0);
        ok.length = 4;
        ok.backlog = 6;
        ck_assert_int_eq(shbuf__ring_check(&ok), 0);

        struct shbuf__ring bad = ring(0);
        ck_assert_int_eq(shbuf__ring_check(&bad), -EPROTO);
        bad = ring(10);
        bad.read_idx = 10;
        ck_assert_int_eq(shbuf__ring_check(&bad), -EPROTO);
        bad = ring(10);
        bad.read_idx = UINT64_MAX;
        ck_assert_int_eq(shbuf__ring_check(&bad), -EPROTO);
        bad = ring(10);
        bad.length = 11;
        ck_assert_int_eq(shbuf__ring_check(&bad), -EPROTO);
        bad = ring(10);
        bad.length = UINT64_MAX;
        ck_assert_int_eq(shbuf__ring_check(&bad), -EPROTO);
        bad = ring(10);
        bad.length = 4;
        bad.backlog = 7;
        ck_assert_int_eq(shbuf__ring_check(&bad), -EPROTO);
        bad = ring(10);
        bad.backlog = UINT64_MAX;
        ck_assert_int_eq(shbuf__ring_check(&bad), -EPROTO);
}
END_TEST

START_TEST(test_load_store) {
        shbuf_status st = {.read_idx = 3,
                           .length = 5,
                           .backlog = 2,
                           .backlog_target = 7,
                           .write_count = 11,
                           .read_count = 13,
                           .ignore_read_inc = 1,
                           .ignore_write_inc = 0};
        struct shbuf__ring r;
        ck_assert_int_eq(shbuf__ring_load(&r, &st, 10), 0);
        ck_assert_uint_eq(r.size, 10);
        ck_assert_uint_eq(r.read_idx, 3);
        ck_assert_uint_eq(r.length, 5);
        ck_assert_uint_eq(r.backlog, 2);
        ck_assert_uint_eq(r.backlog_target, 7);
        ck_assert_uint_eq(r.write_count, 11);
        ck_assert_uint_eq(r.read_count, 13);
        ck_assert(r.ignore_read_inc);
        ck_assert(!r.ignore_write_inc);

        shbuf_status out;
        memset(&out, 0xff, sizeof(out));
        shbuf__ring_store(&r, &out);
        ck_assert_uint_eq(out.read_idx, 3);
        ck_assert_uint_eq(out.length, 5);
        ck_assert_uint_eq(out.backlog, 2);
        ck_assert_uint_eq(out.backlog_target, 7);
        ck_assert_uint_eq(out.write_count, 11);
        ck_assert_uint_eq(out.read_count, 13);
        ck_assert_int_eq(out.ignore_read_inc, 1);
        ck_assert_int_eq(out.ignore_write_inc, 0);

        /* Impossible indices: -EPROTO, and the snapshot is not touched. */
        const shbuf_status bad[] = {
                {.read_idx = 10},        {.length = 11},        {.length = 6, .backlog = 5},
                {.read_idx = ULONG_MAX}, {.length = ULONG_MAX},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct shbuf__ring keep = r;
                ck_assert_int_eq(shbuf__ring_load(&r, &bad[i], 10), -EPROTO);
                assert_same(&r, &keep);
        }
        ck_assert_int_eq(shbuf__ring_load(&r, &st, 0), -EPROTO);
}
END_TEST

int main(void) {
        Suite *s = suite_create("ring");
        TCase *tc = tcase_create("arithmetic");

        tcase_set_timeout(tc, 20);
        tcase_add_test(tc, test_wrap_around);
        tcase_add_test(tc, test_size_one);
        tcase_add_test(tc, test_size_three);
        tcase_add_loop_test(tc, test_against_model, 0, (int) (sizeof(model_sizes) / sizeof(model_sizes[0])));
        tcase_add_test(tc, test_backlog_growth_and_target);
        tcase_add_test(tc, test_backlog_capped_by_free_space);
        tcase_add_test(tc, test_writer_shrinks_backlog);
        tcase_add_test(tc, test_ignore_read_inc);
        tcase_add_test(tc, test_ignore_write_inc);
        tcase_add_test(tc, test_counters);
        tcase_add_test(tc, test_over_commit_changes_nothing);
        tcase_add_test(tc, test_reset);
        tcase_add_test(tc, test_check_rejects_impossible);
        tcase_add_test(tc, test_load_store);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
