/*
 * libshbuf, through its public API only: the copying API (shbuf_write(),
 * shbuf_read()) and the zero-copy API (shbuf_get_write_pointer() and
 * shbuf_inc_write_pointer(), the same for reading). Each side blocks the way
 * the case says: in shbuf_wait(), in poll() on the select descriptor, or in
 * shbuf_wait() after the opt-in spin (shbuf_set_spin()).
 *
 * The zero-copy sides move the same bytes as every other transport's: the
 * producer copies each message from its own buffer into the ring (the way
 * shbuf_write() copies, bench_copy_in()), the consumer copies it out into
 * its own buffer. So the two APIs are compared like for like, and with the
 * naive ring, which copies the same way; a program that builds its data in
 * the ring, or consumes it there, saves one of those copies on top.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libshbuf/shbuf.h>

#include "bench.h"

/* The opt-in spin of the "spin" cases, on both sides, in microseconds. */
#define SPIN_US 50
#define STR_(x) #x
#define STR(x) STR_(x)

struct sb_end {
        shbuf *sb;
        int selfd; /* the select descriptor, or -1 */
};

static key_t token_key(uint64_t token) {
        return (key_t) (uint32_t) token;
}

static int sb_open(struct bench_end *e) {
        const struct bench_case *c = e->c;
        shbuf_options opts;
        struct sb_end *s = calloc(1, sizeof(*s));
        if (!s)
                return bench_fail(e, ENOMEM, "out of memory");
        s->selfd = -1;
        memset(&opts, 0, sizeof(opts));
        opts.backend = c->backend;
        if (e->creator) {
                s->sb = shbuf_create_with(0, c->capacity, &opts);
                if (s->sb)
                        e->link->token = (uint32_t) shbuf_get_key(s->sb);
        } else {
                s->sb = shbuf_open_with(token_key(e->link->token), &opts);
        }
        e->priv = s;
        if (!s->sb)
                return bench_fail(e, errno, "%s (%s): %s", e->creator ? "shbuf_create" : "shbuf_open",
                                  c->backend, strerror(errno));
        if (c->wait == BENCH_SPIN && shbuf_set_spin(s->sb, SPIN_US) < 0)
                return bench_fail(e, errno, "shbuf_set_spin: %s", strerror(errno));
        /* Only the receiving end waits for news through the descriptor; a
         * sender that finds the ring full waits in shbuf_wait(). */
        if (c->wait == BENCH_SELECT && !e->sender) {
                if (shbuf_notify_enable(s->sb, 1) < 0)
                        return bench_fail(e, errno, "shbuf_notify_enable: %s", strerror(errno));
                if ((s->selfd = shbuf_get_select_fd(s->sb)) < 0)
                        return bench_fail(e, errno, "shbuf_get_select_fd: %s", strerror(errno));
        }
        return 0;
}

static void sb_close(struct bench_end *e) {
        struct sb_end *s = e->priv;
        if (s)
                shbuf_free(s->sb);
        free(s);
        e->priv = NULL;
}

/* Block until the peer moves. */
static int sb_block(struct bench_end *e) {
        struct sb_end *s = e->priv;
        for (;;) {
                if (s->selfd < 0) {
                        if (shbuf_wait(s->sb) == 0)
                                return 0;
                        if (bench_retry(errno))
                                continue;
                        return bench_fail(e, errno, "shbuf_wait: %s", strerror(errno));
                }
                struct pollfd p = {.fd = s->selfd, .events = POLLIN};
                if (poll(&p, 1, -1) < 0) {
                        if (bench_retry(errno))
                                continue;
                        return bench_fail(e, errno, "poll on the select descriptor: %s", strerror(errno));
                }
                if (shbuf_post_select(s->sb) < 0)
                        return bench_fail(e, errno, "shbuf_post_select: %s", strerror(errno));
                return 0;
        }
}

static long copy_send(struct bench_end *e, const unsigned char *p, size_t n) {
        struct sb_end *s = e->priv;
        for (;;) {
                long r = shbuf_write(s->sb, p, n);
                if (r > 0)
                        return r;
                if (r < 0)
                        return bench_fail(e, errno, "shbuf_write: %s", strerror(errno));
                int err = sb_block(e);
                if (err < 0)
                        return err;
        }
}

static long copy_recv(struct bench_end *e, unsigned char *p, size_t n) {
        struct sb_end *s = e->priv;
        for (;;) {
                long r = shbuf_read(s->sb, p, n);
                if (r > 0)
                        return r;
                if (r < 0)
                        return bench_fail(e, errno, "shbuf_read: %s", strerror(errno));
                int err = sb_block(e);
                if (err < 0)
                        return err;
        }
}

/* The zero-copy pointer of this end (write or read) with its contiguous
 * bytes (room or data) in *ret_len, waiting while there are none. */
static unsigned char *zc_span(struct bench_end *e, unsigned long *ret_len, long *ret_err) {
        struct sb_end *s = e->priv;
        for (;;) {
                unsigned char *q = e->sender ? shbuf_get_write_pointer(s->sb, ret_len)
                                             : shbuf_get_read_pointer(s->sb, ret_len);
                if (!q) {
                        *ret_err =
                                bench_fail(e, errno, "%s: %s",
                                           e->sender ? "shbuf_get_write_pointer" : "shbuf_get_read_pointer",
                                           strerror(errno));
                        return NULL;
                }
                if (*ret_len > 0)
                        return q;
                int err = sb_block(e);
                if (err < 0) {
                        *ret_err = err;
                        return NULL;
                }
        }
}

static long zc_send(struct bench_end *e, const unsigned char *p, size_t n) {
        struct sb_end *s = e->priv;
        unsigned long l;
        long err;
        unsigned char *q = zc_span(e, &l, &err);
        if (!q)
                return err;
        size_t m = l < n ? l : n;
        bench_copy_in(q, p, m);
        if (shbuf_inc_write_pointer(s->sb, m) < 0)
                return bench_fail(e, errno, "shbuf_inc_write_pointer: %s", strerror(errno));
        return (long) m;
}

static long zc_recv(struct bench_end *e, unsigned char *p, size_t n) {
        struct sb_end *s = e->priv;
        unsigned long l;
        long err;
        const unsigned char *q = zc_span(e, &l, &err);
        if (!q)
                return err;
        size_t m = l < n ? l : n;
        memcpy(p, q, m);
        if (shbuf_inc_read_pointer(s->sb, m) < 0)
                return bench_fail(e, errno, "shbuf_inc_read_pointer: %s", strerror(errno));
        return (long) m;
}

/* A buffer still there after both sides freed their handles was left
 * behind by the library: worth an error. After a failure, it is removed. */
static int sb_cleanup(struct bench_link *l, bool ok, char *err, size_t len) {
        shbuf_info info;
        key_t key = token_key(l->token);
        if (!l->token || shbuf_inspect(key, l->c->backend, &info) < 0)
                return 0;
        (void) shbuf_remove(key, l->c->backend);
        if (!ok)
                return 0;
        snprintf(err, len, "buffer %#x was left behind after shbuf_free()", (unsigned) key);
        return -1;
}

static const char *wait_text(enum bench_wait w) {
        switch (w) {
        case BENCH_SELECT:
                return "the receiver waits in poll() on shbuf_get_select_fd()";
        case BENCH_SPIN:
                return "both sides spin up to " STR(
                        SPIN_US) " us (shbuf_set_spin()) before they sleep in shbuf_wait()";
        default:
                return "waits in shbuf_wait()";
        }
}

static void copy_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len, "libshbuf %s backend, %llu-byte ring; shbuf_write() and shbuf_read(); %s",
                 l->c->backend, (unsigned long long) l->c->capacity, wait_text(l->c->wait));
}

static void zc_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len,
                 "libshbuf %s backend, %llu-byte ring; the zero-copy pointers, one copy in and one out "
                 "(as every transport here); %s",
                 l->c->backend, (unsigned long long) l->c->capacity, wait_text(l->c->wait));
}

const struct bench_transport bench_tr_shbuf = {
        .name = "shbuf",
        .title = "libshbuf, copying API",
        .cleanup = sb_cleanup,
        .open = sb_open,
        .send = copy_send,
        .recv = copy_recv,
        .close = sb_close,
        .describe = copy_describe,
};

const struct bench_transport bench_tr_shbuf_zc = {
        .name = "shbuf-zc",
        .title = "libshbuf, zero-copy API",
        .stream_only = true,
        .cleanup = sb_cleanup,
        .open = sb_open,
        .send = zc_send,
        .recv = zc_recv,
        .close = sb_close,
        .describe = zc_describe,
};
