/*
 * The contract of the public API of <libshbuf/shbuf.h>, function by
 * function, with every error it documents: lifetime, the ring, peers,
 * backends and permissions. Waiting is check_waits', the calls of the
 * tools (list, inspect, remove, gc) check_tooling's. Backend-neutral:
 * registered once per compiled backend, which SHBUF_BACKEND selects. Peers
 * are forked children that open the buffer anew (a handle must not be used
 * across fork()).
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

/* ---- helpers -------------------------------------------------------------- */

/* Try to open once; the exit code is 0 on success, else errno. */
static int c_try_open(key_t key, int in, int out, void *arg) {
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return errno;
        shbuf_free(sb);
        return 0;
}

static void snapshot(shbuf *sb, shbuf_status *ret) {
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        *ret = *shbuf_get_status(sb);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
}

static void assert_status_eq(const shbuf_status *a, const shbuf_status *b) {
        ck_assert_uint_eq(a->read_idx, b->read_idx);
        ck_assert_uint_eq(a->length, b->length);
        ck_assert_uint_eq(a->backlog, b->backlog);
        ck_assert_uint_eq(a->backlog_target, b->backlog_target);
        ck_assert_uint_eq(a->write_count, b->write_count);
        ck_assert_uint_eq(a->read_count, b->read_count);
        ck_assert_int_eq(a->ignore_read_inc, b->ignore_read_inc);
        ck_assert_int_eq(a->ignore_write_inc, b->ignore_write_inc);
}

/* ---- lifetime ------------------------------------------------------------- */

START_TEST(test_create_open_free) {
        shbuf *sb = t_mk(0, 4096);

        ck_assert_int_eq(shbuf_get_key(sb), t_key(0));
        ck_assert_uint_eq(shbuf_get_size(sb), 4096);
        ck_assert_str_eq(shbuf_get_backend(sb), t_backend());
        ck_assert_int_eq(shbuf_get_fallback_errno(sb), 0);
        ck_assert_ptr_nonnull(shbuf_get_pointer(sb));
        shbuf_status *st = shbuf_get_status(sb);
        ck_assert_ptr_nonnull(st);
        ck_assert_uint_eq(st->read_idx, 0);
        ck_assert_uint_eq(st->length, 0);
        ck_assert_uint_eq(st->write_count, 0);

        /* The client sees what the provider wrote, in another process. */
        struct t_child c = t_start_client(t_key(0));
        t_command(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        unsigned char buf[8];
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);
        ck_assert_mem_eq(buf, "abc", 3);
        t_command(c.to, 'f');
        ck_assert_int_eq(t_get(c.from, 5000), 'd');
        ck_assert_int_eq(t_finish(&c, 5000), 0);

        /* A client that left may be followed by a new one. */
        c = t_start_client(t_key(0));
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);

        shbuf_free(sb);
        /* The provider's free removed the buffer. */
        ASSERT_NULL(shbuf_open(t_key(0)), ENOENT);
        shbuf_info info;
        ASSERT_FAILS(shbuf_inspect(t_key(0), NULL, &info), ENOENT);
}
END_TEST

START_TEST(test_enoent) {
        ASSERT_NULL(shbuf_open(t_key(1)), ENOENT);
        /* Key 0 never names a buffer. */
        ASSERT_NULL(shbuf_open(0), ENOENT);
}
END_TEST

START_TEST(test_eexist) {
        shbuf *sb = t_mk(0, 64);
        ASSERT_NULL(shbuf_create(t_key(0), 64), EEXIST);
        ASSERT_NULL(shbuf_create(t_key(0), 128), EEXIST);
        /* The failed attempts did not damage the buffer. */
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "xy", 2), 2);
        unsigned char b[2];
        ck_assert_int_eq(shbuf_read(sb, b, 2), 2);
        ck_assert_mem_eq(b, "xy", 2);
        struct t_child c = t_start_client(t_key(0));
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);

        /* Freed by the provider: the key can be used again. */
        sb = t_mk(0, 64);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_einval_size_zero) {
        ASSERT_NULL(t_create(t_key(2), 0), EINVAL);
        /* Nothing was left behind. */
        ASSERT_NULL(shbuf_open(t_key(2)), ENOENT);
        shbuf *sb = t_mk(2, 1);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_high_key) {
        /* SysV keys are 32-bit values: those with the top bit set (ipcmk
         * makes them half the time) are negative as a key_t and must work. */
        key_t key = (key_t) ((uint32_t) t_key(3) | 0x80000000u);
        ck_assert_int_lt(key, 0);
        t_note_key(key);
        shbuf *sb = t_create(key, 16);
        ck_assert_msg(sb, "create with key 0x%08x: %s", (unsigned) key, strerror(errno));
        ck_assert_int_eq(shbuf_get_key(sb), key);
        pid_t c = fork();
        ck_assert_int_ge(c, 0);
        if (c == 0) {
                shbuf *cl = shbuf_open(key);
                _exit(cl && shbuf_get_key(cl) == key ? 0 : 1);
        }
        ck_assert_int_eq(t_exit_code(t_wait_child(c, 10000)), 0);
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(key, NULL, &info), 0);
        ck_assert_int_eq(info.key, key);
        shbuf_free(sb);
        ck_assert_ptr_null(shbuf_open(key));
}
END_TEST

static void *unlock_thread(void *arg) {
        errno = 0;
        return (void *) (intptr_t) (shbuf_status_unlock(arg) == -1 && errno == EPERM);
}

/* The status lock is released by the thread that holds it only: an
 * unlock without the lock, from another thread, or from the peer fails
 * with EPERM and releases nothing. */
START_TEST(test_unlock_by_non_holder) {
        shbuf *sb = t_mk(0, 64);
        ASSERT_FAILS(shbuf_status_unlock(sb), EPERM);
        struct t_child c = t_start_client(t_key(0));
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        pthread_t t;
        void *refused;
        ck_assert_int_eq(pthread_create(&t, NULL, unlock_thread, sb), 0);
        pthread_join(t, &refused);
        ck_assert_ptr_eq(refused, (void *) 1);
        t_command(c.to, 'U');
        ck_assert_int_eq(t_get(c.from, 5000), 'P');
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ASSERT_FAILS(shbuf_status_unlock(sb), EPERM);
        t_command(c.to, 'f');
        ck_assert_int_eq(t_get(c.from, 5000), 'd');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_null_arguments) {
        unsigned long l = 99;
        unsigned char b[4];

        ASSERT_FAILS(shbuf_access(NULL, 0600), EINVAL);
        ASSERT_FAILS(shbuf_get_key(NULL), EINVAL);
        errno = 0;
        ck_assert_uint_eq(shbuf_get_size(NULL), 0);
        ck_assert_int_eq(errno, EINVAL);
        ASSERT_NULL(shbuf_get_pointer(NULL), EINVAL);
        ASSERT_NULL(shbuf_get_status(NULL), EINVAL);
        ASSERT_FAILS(shbuf_notify_enable(NULL, 1), EINVAL);
        ASSERT_FAILS(shbuf_notify(NULL), EINVAL);
        ASSERT_FAILS(shbuf_wait(NULL), EINVAL);
        ASSERT_FAILS(shbuf_wait_timeout(NULL, 10), EINVAL);
        ASSERT_FAILS(shbuf_get_select_fd(NULL), EINVAL);
        ASSERT_FAILS(shbuf_post_select(NULL), EINVAL);
        ASSERT_FAILS(shbuf_is_connected(NULL), EINVAL);
        ASSERT_FAILS(shbuf_status_lock(NULL), EINVAL);
        ASSERT_FAILS(shbuf_status_unlock(NULL), EINVAL);
        ASSERT_FAILS(shbuf_reset(NULL), EINVAL);
        ASSERT_FAILS(shbuf_zero(NULL), EINVAL);
        ASSERT_NULL(shbuf_get_read_pointer(NULL, &l), EINVAL);
        ASSERT_FAILS(shbuf_inc_read_pointer(NULL, 1), EINVAL);
        ASSERT_NULL(shbuf_get_write_pointer(NULL, &l), EINVAL);
        ASSERT_FAILS(shbuf_inc_write_pointer(NULL, 1), EINVAL);
        ASSERT_FAILS(shbuf_is_full(NULL), EINVAL);
        ASSERT_FAILS(shbuf_is_empty(NULL), EINVAL);
        ASSERT_FAILS(shbuf_read(NULL, b, sizeof(b)), EINVAL);
        ASSERT_FAILS(shbuf_write(NULL, b, sizeof(b)), EINVAL);
        ASSERT_NULL(shbuf_get_backend(NULL), EINVAL);
        ASSERT_FAILS(shbuf_get_fallback_errno(NULL), EINVAL);
        ASSERT_FAILS(shbuf_inspect(t_key(0), NULL, NULL), EINVAL);
        size_t n;
        shbuf_info *list;
        ASSERT_FAILS(shbuf_list(NULL, &n), EINVAL);
        ASSERT_FAILS(shbuf_list(&list, NULL), EINVAL);

        /* NULL out-parameters and buffers with a real handle. */
        shbuf *sb = t_mk(0, 16);
        ASSERT_NULL(shbuf_get_read_pointer(sb, NULL), EINVAL);
        ASSERT_NULL(shbuf_get_write_pointer(sb, NULL), EINVAL);
        ASSERT_FAILS(shbuf_write(sb, NULL, 4), EINVAL);
        ASSERT_FAILS(shbuf_read(sb, NULL, 4), EINVAL);
        ck_assert_int_eq(shbuf_write(sb, NULL, 0), 0);
        ck_assert_int_eq(shbuf_read(sb, NULL, 0), 0);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_free_null) {
        errno = 1234;
        shbuf_free(NULL);
        ck_assert_int_eq(errno, 1234);
}
END_TEST

START_TEST(test_key_zero_chooses) {
        shbuf *a = t_create(0, 100);
        ck_assert_msg(a != NULL, "shbuf_create(0): %s", strerror(errno));
        shbuf *b = t_create(0, 100);
        ck_assert_msg(b != NULL, "shbuf_create(0): %s", strerror(errno));
        key_t ka = shbuf_get_key(a), kb = shbuf_get_key(b);
        ck_assert_int_ne(ka, 0);
        ck_assert_int_ne(ka, (key_t) -1);
        ck_assert_int_ne(ka, kb);

        struct t_child c = t_start_client(ka);
        t_command(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        ck_assert_int_eq(shbuf_is_empty(a), 0);
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(a);
        shbuf_free(b);
        ASSERT_NULL(shbuf_open(ka), ENOENT);
        ASSERT_NULL(shbuf_open(kb), ENOENT);
}
END_TEST

static const unsigned long odd_sizes[] = {1, 3, 4097, 1000003};

START_TEST(test_odd_sizes) {
        const unsigned long size = odd_sizes[_i];
        shbuf *sb = t_mk(0, size);
        unsigned char *in = malloc(size + 1), *out = malloc(size + 1);
        ck_assert(in && out);
        for (unsigned long i = 0; i <= size; i++)
                in[i] = (unsigned char) (i * 31 + 7);

        ck_assert_uint_eq(shbuf_get_size(sb), size);
        /* Exactly size bytes fit, not one more. */
        ck_assert_int_eq(shbuf_write(sb, in, size + 1), (long) size);
        ck_assert_int_eq(shbuf_is_full(sb), 1);
        ck_assert_int_eq(shbuf_write(sb, in, 1), 0);
        unsigned long l = 99;
        ck_assert_ptr_nonnull(shbuf_get_write_pointer(sb, &l));
        ck_assert_uint_eq(l, 0);
        ck_assert_int_eq(shbuf_read(sb, out, size + 1), (long) size);
        ck_assert_mem_eq(in, out, size);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);

        /* The client sees the same size. */
        struct t_child c = t_start_client(t_key(0));
        t_command(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        free(in);
        free(out);
        shbuf_free(sb);
}
END_TEST

/* ---- ring through the API ------------------------------------------------- */

START_TEST(test_pointers_across_wrap) {
        shbuf *sb = t_mk(0, 10);
        unsigned char *base = shbuf_get_pointer(sb), tmp[16];
        unsigned long l;

        unsigned char *r = shbuf_get_read_pointer(sb, &l);
        ck_assert_ptr_eq(r, base);
        ck_assert_uint_eq(l, 0);
        unsigned char *w = shbuf_get_write_pointer(sb, &l);
        ck_assert_ptr_eq(w, base);
        ck_assert_uint_eq(l, 10);

        memcpy(w, "0123456", 7);
        ck_assert_int_eq(shbuf_inc_write_pointer(sb, 7), 0);
        r = shbuf_get_read_pointer(sb, &l);
        ck_assert_ptr_eq(r, base);
        ck_assert_uint_eq(l, 7);
        ck_assert_mem_eq(r, "0123456", 7);
        ck_assert_int_eq(shbuf_inc_read_pointer(sb, 7), 0);

        /* Write position 7: only 3 contiguous bytes up to the end. */
        w = shbuf_get_write_pointer(sb, &l);
        ck_assert_ptr_eq(w, base + 7);
        ck_assert_uint_eq(l, 3);
        memcpy(w, "abc", 3);
        ck_assert_int_eq(shbuf_inc_write_pointer(sb, 3), 0);
        w = shbuf_get_write_pointer(sb, &l);
        ck_assert_ptr_eq(w, base);
        ck_assert_uint_eq(l, 7);
        memcpy(w, "de", 2);
        ck_assert_int_eq(shbuf_inc_write_pointer(sb, 2), 0);

        /* Reading: 3 bytes up to the end, then 2 from the start. */
        r = shbuf_get_read_pointer(sb, &l);
        ck_assert_ptr_eq(r, base + 7);
        ck_assert_uint_eq(l, 3);
        ck_assert_int_eq(shbuf_inc_read_pointer(sb, 3), 0);
        r = shbuf_get_read_pointer(sb, &l);
        ck_assert_ptr_eq(r, base);
        ck_assert_uint_eq(l, 2);
        ck_assert_mem_eq(r, "de", 2);
        ck_assert_int_eq(shbuf_inc_read_pointer(sb, 2), 0);
        ck_assert_int_eq(shbuf_read(sb, tmp, sizeof(tmp)), 0);
        r = shbuf_get_read_pointer(sb, &l);
        ck_assert_ptr_eq(r, base + 2);
        ck_assert_uint_eq(l, 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_copy_across_wrap) {
        shbuf *sb = t_mk(0, 7);
        unsigned char *base = shbuf_get_pointer(sb), out[16];

        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "ABCDE", 5), 5);
        ck_assert_int_eq(shbuf_read(sb, out, 5), 5);
        ck_assert_mem_eq(out, "ABCDE", 5);
        /* Starts at 5, wraps after 2 bytes. */
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "fghijkl", 7), 7);
        ck_assert_mem_eq(base + 5, "fg", 2);
        ck_assert_mem_eq(base, "hijkl", 5);
        ck_assert_int_eq(shbuf_is_full(sb), 1);
        ck_assert_int_eq(shbuf_read(sb, out, 3), 3);
        ck_assert_mem_eq(out, "fgh", 3);
        ck_assert_int_eq(shbuf_read(sb, out, 16), 4);
        ck_assert_mem_eq(out, "ijkl", 4);

        shbuf_status st;
        snapshot(sb, &st);
        ck_assert_uint_eq(st.read_idx, 5);
        ck_assert_uint_eq(st.length, 0);
        ck_assert_uint_eq(st.write_count, 2);
        ck_assert_uint_eq(st.read_count, 3);
        shbuf_free(sb);
}
END_TEST

/*
 * Copies big enough for streaming stores (4 KiB and more), at every
 * alignment of the ring position and of the caller's buffer, across the
 * wrap, with the stores on (the default) and off: what comes out is what
 * went in, and nothing next to the written range changes.
 */
START_TEST(test_big_copies_every_alignment) {
        const unsigned long size = 3 * 4096 + 61; /* odd, so positions drift */
        ck_assert_int_eq(setenv("SHBUF_STREAM_STORES", _i ? "0" : "1", 1), 0);
        shbuf *sb = t_mk(0, size);
        unsigned char *in = malloc(size + 64), *out = malloc(size + 64);
        ck_assert_ptr_nonnull(in);
        ck_assert_ptr_nonnull(out);
        uint32_t x = 12345;
        unsigned long total = 0;

        for (unsigned round = 0; round < 150; round++) {
                unsigned long n = 4096 + (round * 977) % (size - 4096 + 1), skew = round % 61;
                for (unsigned long i = 0; i < n; i++) {
                        x = x * 1103515245u + 12345u;
                        in[skew + i] = (unsigned char) (x >> 16);
                }
                /* The byte after the write must survive it. */
                shbuf_status st;
                snapshot(sb, &st);
                unsigned char *base = shbuf_get_pointer(sb);
                unsigned long after = (st.read_idx + st.length + n) % size;
                unsigned char guard = base[after];
                ck_assert_int_eq(shbuf_write(sb, in + skew, n), (long) n);
                if (n < size)
                        ck_assert_uint_eq(base[after], guard);
                memset(out, 0, size + 64);
                ck_assert_int_eq(shbuf_read(sb, out + (skew * 7) % 61, n), (long) n);
                ck_assert_msg(memcmp(out + (skew * 7) % 61, in + skew, n) == 0,
                              "round %u: %lu bytes from ring position %lu differ", round, n, st.read_idx);
                total += n;
        }
        ck_assert_uint_gt(total, 150 * 4096);
        free(in);
        free(out);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_empty_full) {
        shbuf *sb = t_mk(0, 8);
        unsigned char buf[8] = "12345678";

        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        ck_assert_int_eq(shbuf_is_full(sb), 0);
        ck_assert_int_eq(shbuf_read(sb, buf, 8), 0);
        ck_assert_int_eq(shbuf_write(sb, buf, 1), 1);
        ck_assert_int_eq(shbuf_is_empty(sb), 0);
        ck_assert_int_eq(shbuf_is_full(sb), 0);
        ck_assert_int_eq(shbuf_write(sb, buf, 8), 7);
        ck_assert_int_eq(shbuf_is_empty(sb), 0);
        ck_assert_int_eq(shbuf_is_full(sb), 1);
        ck_assert_int_eq(shbuf_write(sb, buf, 8), 0);
        ck_assert_int_eq(shbuf_read(sb, buf, 8), 8);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_over_commit) {
        shbuf *sb = t_mk(0, 16);
        shbuf_status before, after;

        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "hello", 5), 5);
        snapshot(sb, &before);
        ASSERT_FAILS(shbuf_inc_read_pointer(sb, 6), EINVAL);
        ASSERT_FAILS(shbuf_inc_read_pointer(sb, ULONG_MAX), EINVAL);
        ASSERT_FAILS(shbuf_inc_write_pointer(sb, 12), EINVAL);
        ASSERT_FAILS(shbuf_inc_write_pointer(sb, ULONG_MAX), EINVAL);
        snapshot(sb, &after);
        assert_status_eq(&before, &after);
        ck_assert_int_eq(shbuf_inc_write_pointer(sb, 11), 0);
        ck_assert_int_eq(shbuf_inc_read_pointer(sb, 16), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_ignore_flags) {
        shbuf *sb = t_mk(0, 16);
        shbuf_status *st = shbuf_get_status(sb);
        shbuf_status before, after;
        unsigned char buf[8];

        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        st->ignore_write_inc = 1;
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        snapshot(sb, &before);
        /* The commit is dropped, the flag cleared, nothing else changes. */
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "abcd", 4), 0);
        snapshot(sb, &after);
        before.ignore_write_inc = 0;
        assert_status_eq(&before, &after);
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "abcd", 4), 4);

        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        st->ignore_write_inc = 1;
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ck_assert_int_eq(shbuf_inc_write_pointer(sb, 3), 0);
        snapshot(sb, &after);
        ck_assert_uint_eq(after.length, 4);
        ck_assert_int_eq(after.ignore_write_inc, 0);

        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        st->ignore_read_inc = 1;
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        snapshot(sb, &before);
        ck_assert_int_eq(shbuf_inc_read_pointer(sb, 2), 0);
        snapshot(sb, &after);
        before.ignore_read_inc = 0;
        assert_status_eq(&before, &after);

        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        st->ignore_read_inc = 1;
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ck_assert_int_eq(shbuf_read(sb, buf, 4), 0);
        snapshot(sb, &after);
        ck_assert_uint_eq(after.length, 4);
        ck_assert_int_eq(after.ignore_read_inc, 0);
        ck_assert_int_eq(shbuf_read(sb, buf, 4), 4);
        ck_assert_mem_eq(buf, "abcd", 4);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_counters_and_backlog) {
        shbuf *sb = t_mk(0, 16);
        shbuf_status st;
        unsigned char buf[16];

        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        shbuf_get_status(sb)->backlog_target = 4;
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "abcdef", 6), 6);
        ck_assert_int_eq(shbuf_read(sb, buf, 2), 2);
        snapshot(sb, &st);
        ck_assert_uint_eq(st.backlog, 2);
        ck_assert_int_eq(shbuf_read(sb, buf, 4), 4);
        snapshot(sb, &st);
        ck_assert_uint_eq(st.backlog, 4);
        ck_assert_uint_eq(st.write_count, 1);
        ck_assert_uint_eq(st.read_count, 2);
        /* The backlog is the data just before read_idx. */
        ck_assert_mem_eq(shbuf_get_pointer(sb) + st.read_idx - st.backlog, "cdef", 4);
        /* Writing over it shrinks it. */
        ck_assert_int_eq(shbuf_write(sb, buf, 14), 14);
        snapshot(sb, &st);
        ck_assert_uint_eq(st.backlog, 2);
        ck_assert_uint_eq(st.write_count, 2);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_reset_zero) {
        shbuf *sb = t_mk(0, 16);
        unsigned char *base = shbuf_get_pointer(sb), buf[4];
        shbuf_status st;

        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        shbuf_get_status(sb)->backlog_target = 3;
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "hello", 5), 5);
        ck_assert_int_eq(shbuf_read(sb, buf, 2), 2);

        ck_assert_int_eq(shbuf_reset(sb), 0);
        snapshot(sb, &st);
        ck_assert_uint_eq(st.read_idx, 0);
        ck_assert_uint_eq(st.length, 0);
        ck_assert_uint_eq(st.backlog, 0);
        ck_assert_uint_eq(st.backlog_target, 3);
        ck_assert_uint_eq(st.write_count, 1);
        ck_assert_uint_eq(st.read_count, 1);
        ck_assert_mem_eq(base, "hello", 5);

        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "xyz", 3), 3);
        ck_assert_int_eq(shbuf_zero(sb), 0);
        snapshot(sb, &st);
        ck_assert_uint_eq(st.length, 0);
        ck_assert_uint_eq(st.write_count, 2);
        for (int i = 0; i < 16; i++)
                ck_assert_uint_eq(base[i], 0);
        shbuf_free(sb);
}
END_TEST

/* A look on one side returns the span at offset off of the data, len long. */
static void assert_span(shbuf *sb, bool reading, unsigned long off, unsigned long len) {
        unsigned long l;
        unsigned char *p = reading ? shbuf_get_read_pointer(sb, &l) : shbuf_get_write_pointer(sb, &l);
        ck_assert_ptr_eq(p, shbuf_get_pointer(sb) + off);
        ck_assert_uint_eq(l, len);
}

/*
 * A look may skip the lock and use the ring as the same thread's last look
 * or commit on that side left it (status.c, wake.c). It must still answer
 * as a look under the lock would: see the room (data) the peer made since
 * when the request needs it, and see a reset by the peer, or an edit of the
 * status, that moved the position, also when another thread of ours made
 * it, or when a wait took the news first. Loop: which of those.
 */
static void *reset_thread(void *sb) {
        return (void *) (intptr_t) shbuf_reset(sb);
}

START_TEST(test_look_after_commit) {
        shbuf *w = t_mk(0, 100);
        shbuf *r = shbuf_open(t_key(0));
        ck_assert_ptr_nonnull(r);
        unsigned char buf[100] = {0};

        switch (_i) {
        case 0: /* the room the reader made since: no short write */
                ck_assert_int_eq(shbuf_write(w, buf, 70), 70);
                ck_assert_int_eq(shbuf_read(r, buf, 70), 70);
                ck_assert_int_eq(shbuf_write(w, buf, 60), 60);
                break;
        case 1: /* a span: as long as a fresh look finds it */
                ck_assert_int_eq(shbuf_write(w, buf, 70), 70);
                ck_assert_int_eq(shbuf_read(r, buf, 10), 10);
                ck_assert_int_eq(shbuf_write(w, buf, 30), 30); /* wraps to 0, 10 free */
                ck_assert_int_eq(shbuf_read(r, buf, 60), 60);
                assert_span(w, false, 0, 70);
                /* Up to the end of the ring, the kept ring may answer. */
                ck_assert_int_eq(shbuf_inc_write_pointer(w, 30), 0);
                assert_span(w, false, 30, 40);
                break;
        case 2: /* the reader reset the buffer */
                ck_assert_int_eq(shbuf_write(w, buf, 10), 10);
                ck_assert_int_eq(shbuf_reset(r), 0);
                assert_span(w, false, 0, 100);
                break;
        case 3: /* the writer itself moved the ring under the status lock */
                ck_assert_int_eq(shbuf_write(w, buf, 10), 10);
                ck_assert_int_eq(shbuf_status_lock(w), 0);
                shbuf_get_status(w)->read_idx = 50;
                shbuf_get_status(w)->length = 0;
                ck_assert_int_eq(shbuf_status_unlock(w), 0);
                assert_span(w, false, 50, 50);
                break;
        case 4: /* the read side: the data left, then the writer's reset */
                ck_assert_int_eq(shbuf_write(w, buf, 100), 100);
                ck_assert_int_eq(shbuf_read(r, buf, 10), 10);
                assert_span(r, true, 10, 90);
                ck_assert_int_eq(shbuf_inc_read_pointer(r, 10), 0);
                ck_assert_int_eq(shbuf_reset(w), 0);
                assert_span(r, true, 0, 0);
                ck_assert_int_eq(shbuf_read(r, buf, 1), 0);
                break;
        case 5: /* another thread of the writer's reset the buffer */
        {
                pthread_t t;
                void *ret;
                ck_assert_int_eq(shbuf_write(w, buf, 10), 10);
                ck_assert_int_eq(pthread_create(&t, NULL, reset_thread, w), 0);
                ck_assert_int_eq(pthread_join(t, &ret), 0);
                ck_assert_ptr_null(ret);
                assert_span(w, false, 0, 100);
                break;
        }
        case 6: /* the reader reset the buffer, and the writer's wait saw it */
                ck_assert_int_eq(shbuf_write(w, buf, 10), 10);
                ck_assert_int_eq(shbuf_reset(r), 0);
                ck_assert_int_eq(shbuf_wait_timeout(w, 0), 0);
                assert_span(w, false, 0, 100);
                break;
        case 7: /* a look that found nothing, then the writer's commit */
                assert_span(r, true, 0, 0);
                ck_assert_int_eq(shbuf_read(r, buf, 1), 0);
                ck_assert_int_eq(shbuf_write(w, buf, 10), 10);
                ck_assert_int_eq(shbuf_read(r, buf, 5), 5);
                assert_span(r, true, 5, 5);
                ck_assert_int_eq(shbuf_inc_read_pointer(r, 5), 0);
                ck_assert_int_eq(shbuf_write(w, buf, 3), 3);
                ck_assert_int_eq(shbuf_read(r, buf, 100), 3);
                break;
        case 8: /* the reader moved the ring under the status lock and notified */
                ck_assert_int_eq(shbuf_write(w, buf, 10), 10);
                ck_assert_int_eq(shbuf_status_lock(r), 0);
                shbuf_get_status(r)->read_idx = 50;
                shbuf_get_status(r)->length = 0;
                ck_assert_int_eq(shbuf_status_unlock(r), 0);
                ck_assert_int_eq(shbuf_notify(r), 0);
                assert_span(w, false, 50, 50);
                break;
        }
        shbuf_free(r);
        shbuf_free(w);
}
END_TEST

/*
 * A look that finds nothing new, and a wait for news that came already, do
 * not take the status lock (wake.c, shbuf__recall()): a side that caught up
 * with its peer leaves the lock's cache line to the peer, who needs it for
 * the commit awaited. Shown by holding the lock from the other side
 * meanwhile: the second look, or the wait, must still return, and right.
 * Loop: 0 a read look, 1 a write look, 2 a wait.
 */
struct lockless {
        shbuf *sb;
        int what;
        _Atomic int stage; /* 1: first look done; 2: the lock is held; 3: second done */
        unsigned long len;
        int r;
};

static void stage_wait(_Atomic int *stage, int want) {
        while (atomic_load(stage) < want)
                usleep(1000);
}

static void *lockless_thread(void *arg) {
        struct lockless *a = arg;
        unsigned char buf[8];
        unsigned long l;

        a->r = a->what == 1 ? shbuf_get_write_pointer(a->sb, &l) != NULL : shbuf_read(a->sb, buf, 8) == 0;
        atomic_store(&a->stage, 1);
        stage_wait(&a->stage, 2);
        if (a->what == 2) {
                a->r = a->r && shbuf_wait_timeout(a->sb, 10000) == 0;
        } else {
                unsigned char *p = a->what == 1 ? shbuf_get_write_pointer(a->sb, &l)
                                                : shbuf_get_read_pointer(a->sb, &l);
                a->r = a->r && p != NULL;
                a->len = l;
        }
        atomic_store(&a->stage, 3);
        return NULL;
}

START_TEST(test_look_without_lock) {
        shbuf *w = t_mk(0, 100);
        shbuf *r = shbuf_open(t_key(0));
        ck_assert_ptr_nonnull(r);
        struct lockless a = {.sb = _i == 1 ? w : r, .what = _i};
        shbuf *holder = _i == 1 ? r : w;
        unsigned char buf[100] = {0};
        pthread_t t;

        if (_i == 1)
                ck_assert_int_eq(shbuf_write(w, buf, 100), 100);
        /* The wait's spin would look without the lock too: this is about
         * the wait that does not spin. */
        ck_assert_int_eq(shbuf_set_busy_spin(r, 0), 0);
        ck_assert_int_eq(pthread_create(&t, NULL, lockless_thread, &a), 0);
        stage_wait(&a.stage, 1);
        if (_i == 2)
                ck_assert_int_eq(shbuf_write(w, buf, 10), 10);
        ck_assert_int_eq(shbuf_status_lock(holder), 0);
        atomic_store(&a.stage, 2);
        int64_t t0 = t_now_ms();
        while (atomic_load(&a.stage) < 3 && t_now_ms() - t0 < 2000)
                usleep(1000);
        int done = atomic_load(&a.stage) == 3;
        ck_assert_int_eq(shbuf_status_unlock(holder), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_msg(done, "the look (case %d) waited for the status lock", _i);
        ck_assert_int_eq(a.r, 1);
        ck_assert_uint_eq(a.len, 0);
        if (_i == 2)
                ck_assert_int_eq(shbuf_read(r, buf, 100), 10);
        shbuf_free(r);
        shbuf_free(w);
}
END_TEST

/* Status block values no ring can have: an edit to them is refused. */
struct corruption {
        const char *what;
        unsigned long read_idx, length, backlog;
};

static const struct corruption corruptions[] = {
        {"read_idx == size", 32, 0, 0},
        {"read_idx huge", ULONG_MAX, 0, 0},
        {"length > size", 0, 33, 0},
        {"length huge", 0, ULONG_MAX, 0},
        {"backlog > size - length", 0, 10, 23},
        {"backlog huge", 0, 0, ULONG_MAX},
};

/*
 * The status block is a view: an edit the ring cannot hold is refused at
 * shbuf_status_unlock() (EINVAL), which still releases the lock, and never
 * reaches shared memory, where the other side would find it.
 */
START_TEST(test_impossible_edit_refused) {
        const struct corruption *c = &corruptions[_i];
        shbuf *sb = t_mk(0, 32);
        unsigned char buf[8];

        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "abc", 3), 3);
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        shbuf_status *st = shbuf_get_status(sb);
        st->read_idx = c->read_idx;
        st->length = c->length;
        st->backlog = c->backlog;
        ASSERT_FAILS(shbuf_status_unlock(sb), EINVAL);
        /* Not held any more: a second unlock is refused, a lock works. */
        ASSERT_FAILS(shbuf_status_unlock(sb), EPERM);
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        ck_assert_uint_eq(shbuf_get_status(sb)->read_idx, 0);
        ck_assert_uint_eq(shbuf_get_status(sb)->length, 3);
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(t_key(0), NULL, &info), 0);
        ck_assert_int_eq(info.status_valid, 1);
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);
        ck_assert_mem_eq(buf, "abc", 3);
        shbuf_free(sb);
}
END_TEST

/* ---- peers and notification ---------------------------------------------- */

START_TEST(test_ebusy_second_client) {
        shbuf *sb = t_mk(0, 64);
        struct t_child first = t_start_client(t_key(0));

        struct t_child second = t_fork(c_try_open, t_key(0), NULL);
        int code = t_finish(&second, 5000);
        ck_assert_msg(code == EBUSY, "second client: exit %d (%s), expected EBUSY", code,
                      code > 0 ? strerror(code) : "?");

        /* Once the first leaves, another may come. */
        t_command(first.to, 'f');
        ck_assert_int_eq(t_get(first.from, 5000), 'd');
        ck_assert_int_eq(t_finish(&first, 5000), 0);
        struct t_child third = t_fork(c_try_open, t_key(0), NULL);
        ck_assert_int_eq(t_finish(&third, 5000), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_dead_client_does_not_block) {
        shbuf *sb = t_mk(0, 64);
        struct t_child c = t_start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        t_command(c.to, 'x');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        /* Died without shbuf_free(). */
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        struct t_child d = t_start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        t_command(d.to, 'f');
        ck_assert_int_eq(t_finish(&d, 5000), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_is_connected) {
        shbuf *sb = t_mk(0, 64);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        struct t_child c = t_start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        t_command(c.to, 'c');
        ck_assert_int_eq(t_get(c.from, 5000), '1');
        t_command(c.to, 'f');
        ck_assert_int_eq(t_get(c.from, 5000), 'd');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        shbuf_free(sb);
}
END_TEST

/* ---- backends --------------------------------------------------------------- */

START_TEST(test_backend_list) {
        const char *const *b = shbuf_backends();
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_nonnull(b[0]);
        ck_assert_str_eq(b[0], shbuf_default_backend());
        bool found = false;
        for (size_t i = 0; b[i]; i++) {
                ck_assert_msg(strcmp(b[i], "sysv") == 0 || strcmp(b[i], "posix") == 0, "backend '%s'", b[i]);
                found = found || strcmp(b[i], t_backend()) == 0;
        }
        ck_assert_msg(found, "SHBUF_BACKEND=%s is not in shbuf_backends()", t_backend());

        shbuf *sb = t_mk(0, 16);
        ck_assert_str_eq(shbuf_get_backend(sb), t_backend());
        shbuf_free(sb);

        /* An explicit choice. */
        shbuf_options o = {.backend = t_backend(), .mode = 0640};
        sb = shbuf_create_with(t_key(1), 16, &o);
        ck_assert_msg(sb != NULL, "shbuf_create_with: %s", strerror(errno));
        ck_assert_str_eq(shbuf_get_backend(sb), t_backend());
        shbuf_info info;
        ck_assert_int_eq(shbuf_inspect(t_key(1), t_backend(), &info), 0);
        ck_assert_uint_eq(info.mode & 0777, 0640);
        shbuf *cl = shbuf_open_with(t_key(1), &(shbuf_options){.backend = t_backend()});
        ck_assert_msg(cl != NULL, "shbuf_open_with: %s", strerror(errno));
        shbuf_free(cl);
        shbuf_free(sb);

        shbuf_options bad_flags = {.flags = SHBUF_NO_SIGBUS_TRAP << 1};
        ASSERT_NULL(shbuf_create_with(t_key(2), 16, &bad_flags), EINVAL);
        ASSERT_NULL(shbuf_open(t_key(2)), ENOENT);
}
END_TEST

START_TEST(test_unknown_backend) {
        /* shbuf.h: EINVAL for an unknown backend name, ENOTSUP for a known
         * one this build lacks. */
        shbuf_options o = {.backend = "nope"};
        ASSERT_NULL(shbuf_create_with(t_key(0), 16, &o), EINVAL);
        ASSERT_NULL(shbuf_open_with(t_key(0), &o), EINVAL);
        if (!t_have_backend("posix")) {
                o.backend = "posix";
                ASSERT_NULL(shbuf_create_with(t_key(0), 16, &o), ENOTSUP);
                ASSERT_NULL(shbuf_open_with(t_key(0), &o), ENOTSUP);
        }
        if (!t_have_backend("sysv")) {
                o.backend = "sysv";
                ASSERT_NULL(shbuf_create_with(t_key(0), 16, &o), ENOTSUP);
                ASSERT_NULL(shbuf_open_with(t_key(0), &o), ENOTSUP);
        }
        /* Unknown flags are refused too. */
        shbuf_options f = {.flags = 0x80};
        ASSERT_NULL(shbuf_create_with(t_key(0), 16, &f), EINVAL);
        ASSERT_NULL(shbuf_open_with(t_key(0), &f), EINVAL);
        /* SHBUF_BACKEND naming no backend makes creating fail (a named
         * backend never falls back); opening searches every backend whatever
         * the environment says. This runs in its own process. */
        setenv("SHBUF_BACKEND", "nope", 1);
        ASSERT_NULL(shbuf_create(t_key(0), 16), EINVAL);
        ASSERT_NULL(shbuf_open(t_key(0)), ENOENT);
}
END_TEST

/* ---- permissions ------------------------------------------------------------ */

/* The modes of every OS object of the buffer under key (its data segment,
 * if the backend has one without a key, is the one of this size), as the OS
 * reports them; asserts that the buffer has all its objects. */
static int object_modes(key_t key, unsigned long size, unsigned modes[8]) {
        struct t_object o[8];
        int n = t_collect_objects(key, getpid(), size, o, 8);
        ck_assert_msg(n == t_desc()->nobjects, "%d objects of the buffer 0x%08x, expected %d", n,
                      (unsigned) key, t_desc()->nobjects);
        for (int i = 0; i < n; i++)
                modes[i] = o[i].mode;
        return n;
}

START_TEST(test_access) {
        const unsigned long size = 4099;
        shbuf *sb = t_mk(0, size);
        unsigned modes[8];
        shbuf_info info;

        int n = object_modes(t_key(0), size, modes);
        for (int i = 0; i < n; i++)
                ck_assert_uint_eq(modes[i], 0600);
        ck_assert_int_eq(shbuf_inspect(t_key(0), NULL, &info), 0);
        ck_assert_uint_eq(info.mode & 0777, 0600);

        ck_assert_int_eq(shbuf_access(sb, 0640), 0);
        ck_assert_int_eq(object_modes(t_key(0), size, modes), n);
        for (int i = 0; i < n; i++)
                ck_assert_uint_eq(modes[i], 0640);
        ck_assert_int_eq(shbuf_inspect(t_key(0), NULL, &info), 0);
        ck_assert_uint_eq(info.mode & 0777, 0640);

        /* Only the permission bits are applied. */
        ck_assert_int_eq(shbuf_access(sb, 01777), 0);
        object_modes(t_key(0), size, modes);
        for (int i = 0; i < n; i++)
                ck_assert_uint_eq(modes[i], 0777);
        ck_assert_int_eq(shbuf_access(sb, 0600), 0);
        shbuf_free(sb);
}
END_TEST

/* ---- main ----------------------------------------------------------------- */

int main(void) {
        Suite *s = suite_create("api");
        TCase *tc;

        t_init();
        tc = t_case(s, "lifetime", 20);
        tcase_add_test(tc, test_create_open_free);
        tcase_add_test(tc, test_enoent);
        tcase_add_test(tc, test_eexist);
        tcase_add_test(tc, test_einval_size_zero);
        tcase_add_test(tc, test_high_key);
        tcase_add_test(tc, test_null_arguments);
        tcase_add_test(tc, test_unlock_by_non_holder);
        tcase_add_test(tc, test_free_null);
        tcase_add_test(tc, test_key_zero_chooses);
        tcase_add_loop_test(tc, test_odd_sizes, 0, (int) (sizeof(odd_sizes) / sizeof(odd_sizes[0])));

        tc = t_case(s, "ring", 20);
        tcase_add_test(tc, test_pointers_across_wrap);
        tcase_add_test(tc, test_copy_across_wrap);
        tcase_add_loop_test(tc, test_big_copies_every_alignment, 0, 2);
        tcase_add_test(tc, test_empty_full);
        tcase_add_test(tc, test_over_commit);
        tcase_add_test(tc, test_ignore_flags);
        tcase_add_test(tc, test_counters_and_backlog);
        tcase_add_test(tc, test_reset_zero);
        tcase_add_loop_test(tc, test_look_after_commit, 0, 9);
        tcase_add_loop_test(tc, test_look_without_lock, 0, 3);
        tcase_add_loop_test(tc, test_impossible_edit_refused, 0,
                            (int) (sizeof(corruptions) / sizeof(corruptions[0])));

        tc = t_case(s, "peers", 20);
        tcase_add_test(tc, test_ebusy_second_client);
        tcase_add_test(tc, test_dead_client_does_not_block);
        tcase_add_test(tc, test_is_connected);

        tc = t_case(s, "backends", 20);
        tcase_add_test(tc, test_backend_list);
        tcase_add_test(tc, test_unknown_backend);

        tc = t_case(s, "permissions", 20);
        tcase_add_test(tc, test_access);

        return t_run(s, "check_api");
}
