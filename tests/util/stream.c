/*
 * One end of a verified stream. See stream.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "stream.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"

#define MAX_CHUNK 65536

struct end {
        shbuf *sb;
        const struct stream_opts *o;
        char *err;
        size_t errlen;
        int fd;              /* select descriptor in poll mode */
        struct t_stream gen; /* the data */
        uint64_t chunks;     /* state of the chunk-size generator */
        uint64_t done;
        unsigned char *tmp, *expect;
};

static int fail(struct end *e, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err, e->errlen, fmt, ap);
        va_end(ap);
        return -1;
}

/* A chunk size: mostly large, sometimes tiny, so that every alignment of
 * the wrap gets exercised. */
static uint64_t chunk(struct end *e, uint64_t limit) {
        uint64_t r = t_rand64(&e->chunks);
        uint64_t n = (r & 7) == 0 ? 1 + (r >> 8) % 64 : 1 + (r >> 8) % MAX_CHUNK;
        return n < limit ? n : limit;
}

/*
 * Sleep until the peer did something. Returns 0, 1 when the peer is gone
 * (EPIPE), -1 on any other failure.
 */
static int block(struct end *e) {
        if (!e->o->use_poll) {
                if (shbuf_wait(e->sb) == 0)
                        return 0;
                if (errno == EPIPE)
                        return 1;
                return fail(e, "shbuf_wait: %s", strerror(errno));
        }
        struct pollfd p = {.fd = e->fd, .events = POLLIN};
        int n = poll(&p, 1, e->o->stall_ms);
        if (n < 0 && errno == EINTR)
                return 0;
        if (n < 0)
                return fail(e, "poll: %s", strerror(errno));
        if (n == 0)
                return fail(e, "select descriptor stayed quiet for %d ms after %llu bytes", e->o->stall_ms,
                            (unsigned long long) e->done);
        if (shbuf_post_select(e->sb) == 0)
                return 0;
        if (errno == EPIPE)
                return 1;
        return fail(e, "shbuf_post_select: %s", strerror(errno));
}

static int write_some(struct end *e, uint64_t *pend, uint64_t *off) {
        if (e->o->zero_copy) {
                unsigned long l;
                unsigned char *p = shbuf_get_write_pointer(e->sb, &l);
                if (!p)
                        return fail(e, "shbuf_get_write_pointer: %s", strerror(errno));
                if (l == 0)
                        return 0;
                uint64_t n = chunk(e, e->o->bytes - e->done);
                if (n > l)
                        n = l;
                t_stream_fill(&e->gen, p, n);
                if (shbuf_inc_write_pointer(e->sb, n) < 0)
                        return fail(e, "shbuf_inc_write_pointer(%llu): %s", (unsigned long long) n,
                                    strerror(errno));
                e->done += n;
                return 1;
        }
        if (*off == *pend) {
                *pend = chunk(e, e->o->bytes - e->done);
                *off = 0;
                t_stream_fill(&e->gen, e->tmp, *pend);
        }
        long w = shbuf_write(e->sb, e->tmp + *off, *pend - *off);
        if (w < 0)
                return fail(e, "shbuf_write: %s", strerror(errno));
        if ((uint64_t) w > *pend - *off)
                return fail(e, "shbuf_write stored %ld of %llu bytes", w,
                            (unsigned long long) (*pend - *off));
        *off += (uint64_t) w;
        e->done += (uint64_t) w;
        return w > 0;
}

static int verify(struct end *e, const unsigned char *got, uint64_t n) {
        t_stream_fill(&e->gen, e->expect, n);
        if (memcmp(got, e->expect, n) == 0)
                return 0;
        for (uint64_t i = 0; i < n; i++)
                if (got[i] != e->expect[i])
                        return fail(e, "byte %llu of the stream is 0x%02x, expected 0x%02x",
                                    (unsigned long long) (e->done + i), got[i], e->expect[i]);
        return 0;
}

static int read_some(struct end *e) {
        if (e->o->zero_copy) {
                unsigned long l;
                const unsigned char *p = shbuf_get_read_pointer(e->sb, &l);
                if (!p)
                        return fail(e, "shbuf_get_read_pointer: %s", strerror(errno));
                if (l == 0)
                        return 0;
                uint64_t n = chunk(e, e->o->bytes - e->done);
                if (n > l)
                        n = l;
                if (verify(e, p, n) < 0)
                        return -1;
                if (shbuf_inc_read_pointer(e->sb, n) < 0)
                        return fail(e, "shbuf_inc_read_pointer(%llu): %s", (unsigned long long) n,
                                    strerror(errno));
                e->done += n;
                return 1;
        }
        uint64_t n = chunk(e, e->o->bytes - e->done);
        long r = shbuf_read(e->sb, e->tmp, n);
        if (r < 0)
                return fail(e, "shbuf_read: %s", strerror(errno));
        if ((uint64_t) r > n)
                return fail(e, "shbuf_read returned %ld for %llu bytes", r, (unsigned long long) n);
        if (r > 0 && verify(e, e->tmp, (uint64_t) r) < 0)
                return -1;
        e->done += (uint64_t) r;
        return r > 0;
}

static int run(struct end *e) {
        uint64_t pend = 0, off = 0;

        while (e->done < e->o->bytes) {
                int r = e->o->writer ? write_some(e, &pend, &off) : read_some(e);
                if (r < 0)
                        return -1;
                if (r > 0)
                        continue;
                r = block(e);
                if (r < 0)
                        return -1;
                if (r > 0)
                        return fail(e, "peer went away after %llu of %llu bytes",
                                    (unsigned long long) e->done, (unsigned long long) e->o->bytes);
        }
        if (!e->o->writer)
                return 0;
        /* Stay until the reader has taken everything: a provider that freed
         * now would remove the ring under the reader's feet. */
        for (;;) {
                int empty = shbuf_is_empty(e->sb);
                if (empty < 0)
                        return fail(e, "shbuf_is_empty: %s", strerror(errno));
                if (empty)
                        return 0;
                int r = block(e);
                if (r < 0)
                        return -1;
                if (r > 0) {
                        /* The reader left: fine only if it took everything. */
                        empty = shbuf_is_empty(e->sb);
                        if (empty == 1)
                                return 0;
                        return fail(e, "reader went away with data left in the ring");
                }
        }
}

int stream_run(shbuf *sb, const struct stream_opts *o, char *err, size_t errlen) {
        struct end e = {.sb = sb, .o = o, .err = err, .errlen = errlen, .fd = -1};
        int r;

        err[0] = 0;
        t_stream_init(&e.gen, o->seed);
        e.chunks = o->seed ^ (o->writer ? 0x5157u : 0x7e4du);
        e.tmp = malloc(MAX_CHUNK);
        e.expect = malloc(MAX_CHUNK);
        if (!e.tmp || !e.expect) {
                r = fail(&e, "out of memory");
                goto out;
        }
        if (o->use_poll) {
                if (shbuf_notify_enable(sb, 1) < 0) {
                        r = fail(&e, "shbuf_notify_enable: %s", strerror(errno));
                        goto out;
                }
                e.fd = shbuf_get_select_fd(sb);
                if (e.fd < 0) {
                        r = fail(&e, "shbuf_get_select_fd: %s", strerror(errno));
                        goto out;
                }
        }
        r = run(&e);
        if (o->use_poll && shbuf_notify_enable(sb, 0) < 0 && r == 0)
                r = fail(&e, "shbuf_notify_enable(0): %s", strerror(errno));
out:
        free(e.tmp);
        free(e.expect);
        return r;
}

bool stream_parse_api(const char *s, bool *ret_zero_copy) {
        if (strcmp(s, "copy") == 0 || strcmp(s, "ptr") == 0) {
                *ret_zero_copy = strcmp(s, "ptr") == 0;
                return true;
        }
        return false;
}

bool stream_parse_wait(const char *s, bool *ret_use_poll) {
        if (strcmp(s, "wait") == 0 || strcmp(s, "poll") == 0) {
                *ret_use_poll = strcmp(s, "poll") == 0;
                return true;
        }
        return false;
}
