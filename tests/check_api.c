/*
 * The public API of <libshbuf/shbuf.h>, function by function, with every
 * error SPEC §2 lists. Backend-neutral: registered once per compiled backend,
 * which SHBUF_BACKEND selects. Peers are forked children that open the
 * buffer anew (a handle must not be used across fork()).
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
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "test-util.h"

/* ---- helpers -------------------------------------------------------------- */

static shbuf *mk(unsigned n, unsigned long size) {
        shbuf *sb = t_create(t_key(n), size);
        ck_assert_msg(sb != NULL, "shbuf_create(0x%08x, %lu): %s", (unsigned) t_key(n), size,
                      strerror(errno));
        return sb;
}

static void put(int fd, char c) {
        ck_assert_int_eq(t_write_all(fd, &c, 1), 0);
}

/* A child's commands: one byte, or 0 after a minute or at EOF (the tests
 * have long timed out by then). */
static char cget(int fd) {
        return t_get(fd, 60000);
}

/*
 * A client that opens and then obeys commands: 'f' free and exit, 'x' exit
 * without freeing (as if it crashed), 'w' write "abc", 'c' answer whether it
 * sees the provider as connected, 'U' try to release the status lock ('P'
 * if refused with EPERM). It answers 'o' after opening, 'E' if that
 * failed (exit code: errno).
 */
static int c_client(key_t key, int in, int out, void *arg) {
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (!sb) {
                int e = errno;
                t_put(out, 'E');
                return e;
        }
        t_put(out, 'o');
        for (;;) {
                char c = cget(in);
                switch (c) {
                case 'x':
                        _exit(0);
                case 'w':
                        t_put(out, shbuf_write(sb, (const unsigned char *) "abc", 3) == 3 ? 'w' : 'E');
                        break;
                case 'c':
                        t_put(out, shbuf_is_connected(sb) == 1 ? '1' : '0');
                        break;
                case 'U':
                        errno = 0;
                        t_put(out, shbuf_status_unlock(sb) == -1 && errno == EPERM ? 'P' : 'E');
                        break;
                default: /* 'f' or EOF */
                        shbuf_free(sb);
                        t_put(out, 'd');
                        return 0;
                }
        }
}

/* Try to open once; the exit code is 0 on success, else errno. */
static int c_try_open(key_t key, int in, int out, void *arg) {
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (!sb)
                return errno;
        shbuf_free(sb);
        return 0;
}

static struct t_child start_client(key_t key) {
        struct t_child c = t_fork(c_client, key, NULL);
        char r = t_get(c.from, 5000);
        ck_assert_msg(r == 'o', "the client could not open 0x%08x (%c)", (unsigned) key, r ? r : '?');
        return c;
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

#define ASSERT_FAILS(expr, err)                                                                             \
        do {                                                                                                \
                errno = 0;                                                                                  \
                ck_assert_msg((expr) == -1, #expr " did not fail");                                         \
                ck_assert_msg(errno == (err), #expr ": errno %d (%s), expected %d (%s)", errno,             \
                              strerror(errno), (err), strerror(err));                                       \
        } while (0)

#define ASSERT_NULL(expr, err)                                                                              \
        do {                                                                                                \
                errno = 0;                                                                                  \
                ck_assert_msg((expr) == NULL, #expr " did not fail");                                       \
                ck_assert_msg(errno == (err), #expr ": errno %d (%s), expected %d (%s)", errno,             \
                              strerror(errno), (err), strerror(err));                                       \
        } while (0)

/* ---- lifetime ------------------------------------------------------------- */

START_TEST(test_create_open_free) {
        shbuf *sb = mk(0, 4096);

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
        struct t_child c = start_client(t_key(0));
        put(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        unsigned char buf[8];
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);
        ck_assert_mem_eq(buf, "abc", 3);
        put(c.to, 'f');
        ck_assert_int_eq(t_get(c.from, 5000), 'd');
        ck_assert_int_eq(t_finish(&c, 5000), 0);

        /* A client that left may be followed by a new one. */
        c = start_client(t_key(0));
        put(c.to, 'f');
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
        shbuf *sb = mk(0, 64);
        ASSERT_NULL(shbuf_create(t_key(0), 64), EEXIST);
        ASSERT_NULL(shbuf_create(t_key(0), 128), EEXIST);
        /* The failed attempts did not damage the buffer. */
        ck_assert_int_eq(shbuf_write(sb, (const unsigned char *) "xy", 2), 2);
        unsigned char b[2];
        ck_assert_int_eq(shbuf_read(sb, b, 2), 2);
        ck_assert_mem_eq(b, "xy", 2);
        struct t_child c = start_client(t_key(0));
        put(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);

        /* Freed by the provider: the key can be used again. */
        sb = mk(0, 64);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_einval_size_zero) {
        ASSERT_NULL(t_create(t_key(2), 0), EINVAL);
        /* Nothing was left behind. */
        ASSERT_NULL(shbuf_open(t_key(2)), ENOENT);
        shbuf *sb = mk(2, 1);
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
        shbuf *sb = mk(0, 64);
        ASSERT_FAILS(shbuf_status_unlock(sb), EPERM);
        struct t_child c = start_client(t_key(0));
        ck_assert_int_eq(shbuf_status_lock(sb), 0);
        pthread_t t;
        void *refused;
        ck_assert_int_eq(pthread_create(&t, NULL, unlock_thread, sb), 0);
        pthread_join(t, &refused);
        ck_assert_ptr_eq(refused, (void *) 1);
        put(c.to, 'U');
        ck_assert_int_eq(t_get(c.from, 5000), 'P');
        ck_assert_int_eq(shbuf_status_unlock(sb), 0);
        ASSERT_FAILS(shbuf_status_unlock(sb), EPERM);
        put(c.to, 'f');
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
        shbuf *sb = mk(0, 16);
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

        struct t_child c = start_client(ka);
        put(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        ck_assert_int_eq(shbuf_is_empty(a), 0);
        put(c.to, 'f');
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
        shbuf *sb = mk(0, size);
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
        struct t_child c = start_client(t_key(0));
        put(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        free(in);
        free(out);
        shbuf_free(sb);
}
END_TEST

/* ---- ring through the API ------------------------------------------------- */

START_TEST(test_pointers_across_wrap) {
        shbuf *sb = mk(0, 10);
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
        shbuf *sb = mk(0, 7);
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
        shbuf *sb = mk(0, size);
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
        shbuf *sb = mk(0, 8);
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
        shbuf *sb = mk(0, 16);
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
        shbuf *sb = mk(0, 16);
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
        shbuf *sb = mk(0, 16);
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
        shbuf *sb = mk(0, 16);
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
        shbuf *w = mk(0, 100);
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
        shbuf *w = mk(0, 100);
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
        shbuf *sb = mk(0, 32);
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
        shbuf *sb = mk(0, 64);
        struct t_child first = start_client(t_key(0));

        struct t_child second = t_fork(c_try_open, t_key(0), NULL);
        int code = t_finish(&second, 5000);
        ck_assert_msg(code == EBUSY, "second client: exit %d (%s), expected EBUSY", code,
                      code > 0 ? strerror(code) : "?");

        /* Once the first leaves, another may come. */
        put(first.to, 'f');
        ck_assert_int_eq(t_get(first.from, 5000), 'd');
        ck_assert_int_eq(t_finish(&first, 5000), 0);
        struct t_child third = t_fork(c_try_open, t_key(0), NULL);
        ck_assert_int_eq(t_finish(&third, 5000), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_dead_client_does_not_block) {
        shbuf *sb = mk(0, 64);
        struct t_child c = start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        put(c.to, 'x');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        /* Died without shbuf_free(). */
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        struct t_child d = start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        put(d.to, 'f');
        ck_assert_int_eq(t_finish(&d, 5000), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_is_connected) {
        shbuf *sb = mk(0, 64);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        struct t_child c = start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_connected(sb), 1);
        put(c.to, 'c');
        ck_assert_int_eq(t_get(c.from, 5000), '1');
        put(c.to, 'f');
        ck_assert_int_eq(t_get(c.from, 5000), 'd');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        ck_assert_int_eq(shbuf_is_connected(sb), 0);
        shbuf_free(sb);
}
END_TEST

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
        shbuf *sb = mk(0, 64);
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
        shbuf *sb = mk(0, 64);
        struct t_child c = start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_empty(sb), 1);

        put(c.to, 'w');
        int64_t t0 = t_now_ms();
        /* Wake-ups may be spurious: wait until the data is there. */
        while (shbuf_is_empty(sb) == 1) {
                ck_assert_int_eq(shbuf_wait(sb), 0);
                ck_assert_int_lt(t_now_ms() - t0, 5000);
        }
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        /* The client leaves: the next wait reports it. */
        put(c.to, 'f');
        ck_assert_int_eq(t_get(c.from, 5000), 'd');
        unsigned char buf[4];
        ck_assert_int_eq(shbuf_read(sb, buf, 4), 3);
        ASSERT_FAILS(shbuf_wait_timeout(sb, 2000), EPIPE);
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
}
END_TEST

/*
 * Hysteresis must not deadlock: a writer asleep for space is woken only once
 * half the ring is free, but a reader that took less than that and then
 * waits for data owes it the wake-up, and sends it before it sleeps.
 */
START_TEST(test_writer_woken_before_reader_sleeps) {
        key_t key = t_key(0);
        shbuf *sb = mk(0, 4096);
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
        unsigned char *p = !sb ? NULL : reading ? shbuf_get_read_pointer(sb, &l) : shbuf_get_write_pointer(sb, &l);
        if (!p || l == 0)
                return 10;
        t_put(out, 'g');
        int delay_ms = (unsigned char) cget(in);
        t_sleep_ms(delay_ms);
        if (!reading)
                p[0] = 'x';
        if ((reading ? shbuf_inc_read_pointer(sb, 1) : shbuf_inc_write_pointer(sb, 1)) < 0)
                return 11;
        (void) cget(in); /* until told to go */
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
static struct wait_cost wait_for_commit(shbuf *sb, struct t_child *c, int delay_ms, bool use_poll, look_fn look) {
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
        put(c->to, (char) delay_ms);
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
        shbuf *sb = mk(0, 4096);
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
        put(c.to, 'f');
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
        shbuf *sb = mk(1, 64);
        ASSERT_FAILS(shbuf_set_busy_spin(sb, 100001), EINVAL);
        ASSERT_FAILS(shbuf_set_busy_spin(NULL, 1), EINVAL);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_wait_timeout) {
        shbuf *sb = mk(0, 64);
        ck_assert_int_eq(shbuf_is_empty(sb), 1);

        int64_t t0 = t_now_ms();
        ASSERT_FAILS(shbuf_wait_timeout(sb, 200), ETIMEDOUT);
        int64_t took = t_now_ms() - t0;
        ck_assert_int_ge(took, 190);
        ck_assert_int_lt(took, 2000);
        ASSERT_FAILS(shbuf_wait_timeout(sb, 0), ETIMEDOUT);

        /* Also with a live, idle peer. */
        struct t_child c = start_client(t_key(0));
        ck_assert_int_eq(shbuf_is_empty(sb), 1);
        /* The client's arrival may count as news once. */
        (void) shbuf_wait_timeout(sb, 0);
        t0 = t_now_ms();
        ASSERT_FAILS(shbuf_wait_timeout(sb, 300), ETIMEDOUT);
        took = t_now_ms() - t0;
        ck_assert_int_ge(took, 290);
        ck_assert_int_lt(took, 2000);
        put(c.to, 'f');
        ck_assert_int_eq(t_finish(&c, 5000), 0);
        shbuf_free(sb);
}
END_TEST

START_TEST(test_select_fd) {
        shbuf *sb = mk(0, 64);
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

        struct t_child c = start_client(t_key(0));
        /* The client's arrival may have made it readable: drain. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0)
                ck_assert_int_eq(shbuf_post_select(sb), 0);
        ck_assert_int_eq(poll(&p, 1, 100), 0);

        put(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        ck_assert_int_eq(poll(&p, 1, 3000), 1);
        ck_assert_int_ne(p.revents & POLLIN, 0);
        ck_assert_int_eq(shbuf_post_select(sb), 0);
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);
        ck_assert_int_eq(poll(&p, 1, 100), 0);

        /* A second cycle works the same. */
        put(c.to, 'w');
        ck_assert_int_eq(t_get(c.from, 5000), 'w');
        ck_assert_int_eq(poll(&p, 1, 3000), 1);
        ck_assert_int_eq(shbuf_post_select(sb), 0);
        ck_assert_int_eq(shbuf_read(sb, buf, sizeof(buf)), 3);

        /* The peer goes away: readable, and post_select says EPIPE. */
        put(c.to, 'f');
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

        shbuf *sb = mk(0, 16);
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
        ck_assert_msg(n == t_desc()->nobjects, "%d objects of the buffer 0x%08x, expected %d", n, (unsigned) key,
                      t_desc()->nobjects);
        for (int i = 0; i < n; i++)
                modes[i] = o[i].mode;
        return n;
}

START_TEST(test_access) {
        const unsigned long size = 4099;
        shbuf *sb = mk(0, size);
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

/* ---- foreign objects under the key (needs SysV) ----------------------------- */

static size_t control_size(void) {
        /* Ask the kernel what size a SysV control segment has. */
        shbuf_options o = {.backend = "sysv"};
        shbuf *sb = shbuf_create_with(t_key(9), 16, &o);
        struct shmid_ds ds;
        ck_assert_msg(sb != NULL, "shbuf_create_with(sysv): %s", strerror(errno));
        int id = shmget(t_key(9), 0, 0);
        ck_assert_int_ge(id, 0);
        ck_assert_int_eq(shmctl(id, IPC_STAT, &ds), 0);
        shbuf_free(sb);
        return ds.shm_segsz;
}

START_TEST(test_eproto_foreign_segment) {
        if (!t_have_backend("sysv"))
                return;
        const size_t csize = control_size();
        const size_t sizes[] = {csize, csize * 2, 100, 0};
        const key_t key = t_key(1);

        for (int v = 0; v < 4; v++) {
                size_t size = sizes[v] ? sizes[v] : csize;
                int id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
                ck_assert_msg(id >= 0, "shmget: %s", strerror(errno));
                unsigned char *p = shmat(id, NULL, 0);
                ck_assert_ptr_ne(p, (void *) -1);
                /* Variant 3: all zeros, like a fresh segment of another program. */
                for (size_t i = 0; i < size; i++)
                        p[i] = sizes[v] ? (unsigned char) (i * 13 + 5) : 0;
                unsigned char *copy = malloc(size);
                ck_assert_ptr_nonnull(copy);
                memcpy(copy, p, size);
                ck_assert_int_eq(shmdt(p), 0);

                ASSERT_NULL(shbuf_open(key), EPROTO);
                ASSERT_NULL(t_create(key, 4096), EEXIST);
                shbuf_info info;
                ASSERT_FAILS(shbuf_inspect(key, NULL, &info), EPROTO);
                ASSERT_FAILS(shbuf_remove(key, NULL), EPROTO);
                ck_assert_int_eq(t_gc_removes(key), 0);
                ck_assert_int_eq(t_lists(key), 0);

                /* Still there, same id, same size, same bytes, unattached. */
                struct shmid_ds ds;
                ck_assert_int_eq(shmget(key, 0, 0), id);
                ck_assert_int_eq(shmctl(id, IPC_STAT, &ds), 0);
                ck_assert_uint_eq(ds.shm_segsz, size);
                ck_assert_uint_eq(ds.shm_nattch, 0);
                ck_assert_int_eq(ds.shm_perm.mode & 0777, 0600);
                p = shmat(id, NULL, SHM_RDONLY);
                ck_assert_ptr_ne(p, (void *) -1);
                ck_assert_mem_eq(p, copy, size);
                shmdt(p);
                free(copy);
                /* Nothing else was made under the key either. */
                ck_assert_int_eq(semget(key, 0, 0), -1);
                ck_assert_int_eq(msgget(key, 0), -1);
                ck_assert_int_eq(shmctl(id, IPC_RMID, NULL), 0);
        }
}
END_TEST

START_TEST(test_foreign_sem_and_queue) {
        if (strcmp(t_backend(), "sysv") != 0)
                return;
        const key_t key = t_key(1);

        int sem = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
        ck_assert_int_ge(sem, 0);
        ASSERT_NULL(t_create(key, 64), EEXIST);
        ck_assert_int_eq(semget(key, 0, 0), sem);
        ck_assert_int_eq(shmget(key, 0, 0), -1);
        ck_assert_int_eq(msgget(key, 0), -1);
        ck_assert_int_eq(semctl(sem, 0, IPC_RMID), 0);

        int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
        ck_assert_int_ge(q, 0);
        ASSERT_NULL(t_create(key, 64), EEXIST);
        ck_assert_int_eq(msgget(key, 0), q);
        ck_assert_int_eq(shmget(key, 0, 0), -1);
        ck_assert_int_eq(semget(key, 0, 0), -1);
        ck_assert_int_eq(msgctl(q, IPC_RMID, NULL), 0);
}
END_TEST

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
        shbuf *sb = mk(0, 5000);
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

        struct t_child c = start_client(t_key(0));
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
        put(c.to, 'f');
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

        shbuf *sb = mk(1, 64);
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
        tcase_add_test(tc, test_status_lock_edit_notify);
        tcase_add_test(tc, test_wait_wakes_on_commit);
        tcase_add_test(tc, test_wait_timeout);
        tcase_add_test(tc, test_writer_woken_before_reader_sleeps);
        tcase_add_loop_test(tc, test_wait_spins_through_peer_transfer, 0, 8);
        tcase_add_loop_test(tc, test_wait_spin_is_bounded, 0, 2);
        tcase_add_loop_test(tc, test_set_busy_spin, 0, 4);
        tcase_add_test(tc, test_select_fd);

        tc = t_case(s, "backends", 20);
        tcase_add_test(tc, test_backend_list);
        tcase_add_test(tc, test_unknown_backend);

        tc = t_case(s, "objects", 20);
        tcase_add_test(tc, test_access);
        tcase_add_test(tc, test_eproto_foreign_segment);
        tcase_add_test(tc, test_foreign_sem_and_queue);
        tcase_add_test(tc, test_list_inspect);
        tcase_add_test(tc, test_remove_and_gc);

        return t_run(s, "check_api");
}
