/*
 * The kernel's own byte streams, each at its best for throughput:
 *
 * - pipe: pipe2() with its default capacity, as most programs use it;
 * - pipe-sized: the same, grown with F_SETPIPE_SZ to the capacity the shared
 *   rings get (what a performance-minded user does);
 * - vmsplice: the producer builds messages in pages it hands to a pipe of
 *   that size with vmsplice() instead of copying them in with write();
 * - fifo: a named pipe (mkfifo), default capacity;
 * - socketpair: an AF_UNIX stream socketpair with 4 MiB socket buffers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench.h"

#define MIB (1024 * 1024)
#define SOCKET_BUFFER (4 * MIB)

static int prepare_fail(char *err, size_t len, const char *what) {
        int e = errno;
        snprintf(err, len, "%s: %s", what, strerror(e));
        return -e;
}

static int pipe_prepare(struct bench_link *l, char *err, size_t len) {
        if (pipe2(l->fd, O_CLOEXEC) < 0)
                return prepare_fail(err, len, "pipe2");
        return 0;
}

/* What an unprivileged process may set (/proc/sys/fs/pipe-max-size). */
static int pipe_max_size(void) {
        FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
        unsigned long long v = 0;
        if (f) {
                char line[32], *end;
                if (fgets(line, sizeof(line), f)) {
                        errno = 0;
                        v = strtoull(line, &end, 10);
                        if (errno || end == line || v > 1u << 30)
                                v = 0;
                }
                fclose(f);
        }
        return (int) v;
}

static int pipe_sized_prepare(struct bench_link *l, char *err, size_t len) {
        int r = pipe_prepare(l, err, len);
        if (r < 0)
                return r;
        /* Without CAP_SYS_RESOURCE a pipe grows to pipe-max-size at most:
         * then it gets that, and the report says what it got. */
        int want = (int) l->c->capacity, max = pipe_max_size();
        if (fcntl(l->fd[1], F_SETPIPE_SZ, want) < 0 &&
            (errno != EPERM || max <= 0 || fcntl(l->fd[1], F_SETPIPE_SZ, max < want ? max : want) < 0))
                return prepare_fail(err, len, "F_SETPIPE_SZ");
        return 0;
}

static int pipe_capacity(const struct bench_link *l) {
        return l->fd[1] >= 0 ? fcntl(l->fd[1], F_GETPIPE_SZ) : -1;
}

static int fd_open(struct bench_end *e) {
        e->fd = e->link->fd[e->sender ? 1 : 0];
        return 0;
}

static long fd_send(struct bench_end *e, const unsigned char *p, size_t n) {
        for (;;) {
                ssize_t r = write(e->fd, p, n);
                if (r > 0)
                        return r;
                if (r < 0 && bench_retry(errno))
                        continue;
                return bench_fail(e, r < 0 ? errno : EIO, "write: %s",
                                  r < 0 ? strerror(errno) : "no progress");
        }
}

static long fd_recv(struct bench_end *e, unsigned char *p, size_t n) {
        for (;;) {
                ssize_t r = read(e->fd, p, n);
                if (r > 0)
                        return r;
                if (r < 0 && bench_retry(errno))
                        continue;
                return bench_fail(e, r < 0 ? errno : EPIPE, "read: %s",
                                  r < 0 ? strerror(errno) : "end of file before the end marker");
        }
}

static void fd_close(struct bench_end *e) {
        if (e->fd >= 0)
                close(e->fd);
        e->fd = -1;
}

static void pipe_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len, "pipe2(), default capacity (%d bytes); write() and read()", pipe_capacity(l));
}

static void pipe_sized_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len, "pipe2() grown with F_SETPIPE_SZ to %d bytes; write() and read()",
                 pipe_capacity(l));
}

const struct bench_transport bench_tr_pipe = {
        .name = "pipe",
        .title = "pipe, default capacity",
        .prepare = pipe_prepare,
        .open = fd_open,
        .send = fd_send,
        .recv = fd_recv,
        .close = fd_close,
        .describe = pipe_describe,
};

const struct bench_transport bench_tr_pipe_sized = {
        .name = "pipe-sized",
        .title = "pipe, sized with F_SETPIPE_SZ",
        .stream_only = true,
        .prepare = pipe_sized_prepare,
        .open = fd_open,
        .send = fd_send,
        .recv = fd_recv,
        .close = fd_close,
        .describe = pipe_sized_describe,
};

/* ---- vmsplice ------------------------------------------------------------ */

/*
 * The producer writes each message into a staging area of twice the pipe's
 * capacity P and splices those pages into the pipe. A page may be reused
 * only once the consumer has read what was spliced from it: the pipe never
 * holds more than P bytes, so once everything up to stream offset x is
 * spliced, everything up to x - P has been read, and a piece of at most P
 * bytes written 2P bytes further on overwrites only data already read.
 */
struct vmsplice_state {
        unsigned char *stage;
        size_t size, off, piece_max;
};

static int vmsplice_open(struct bench_end *e) {
        fd_open(e);
        if (!e->sender)
                return 0;
        int cap = fcntl(e->fd, F_GETPIPE_SZ);
        if (cap <= 0)
                return bench_fail(e, errno, "F_GETPIPE_SZ: %s", strerror(errno));
        struct vmsplice_state *s = calloc(1, sizeof(*s));
        if (!s)
                return bench_fail(e, ENOMEM, "out of memory");
        s->piece_max = (size_t) cap;
        s->size = 2 * (size_t) cap;
        s->stage = aligned_alloc(4096, s->size);
        if (!s->stage) {
                free(s);
                return bench_fail(e, ENOMEM, "out of memory");
        }
        e->priv = s;
        return 0;
}

static long vmsplice_send(struct bench_end *e, const unsigned char *p, size_t n) {
        struct vmsplice_state *s = e->priv;
        size_t piece = n < s->piece_max ? n : s->piece_max;
        if (piece > s->size - s->off)
                piece = s->size - s->off;
        memcpy(s->stage + s->off, p, piece);
        for (size_t done = 0; done < piece;) {
                struct iovec iov = {.iov_base = s->stage + s->off + done, .iov_len = piece - done};
                ssize_t r = vmsplice(e->fd, &iov, 1, 0);
                if (r > 0) {
                        done += (size_t) r;
                        continue;
                }
                if (r < 0 && bench_retry(errno))
                        continue;
                return bench_fail(e, r < 0 ? errno : EIO, "vmsplice: %s",
                                  r < 0 ? strerror(errno) : "no progress");
        }
        s->off = (s->off + piece) % s->size;
        return (long) piece;
}

static void vmsplice_close(struct bench_end *e) {
        struct vmsplice_state *s = e->priv;
        fd_close(e);
        if (s) {
                free(s->stage);
                free(s);
        }
        e->priv = NULL;
}

static void vmsplice_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len, "the producer's pages spliced with vmsplice() into a pipe of %d bytes; read()",
                 pipe_capacity(l));
}

const struct bench_transport bench_tr_vmsplice = {
        .name = "vmsplice",
        .title = "pipe fed with vmsplice()",
        .stream_only = true,
        .prepare = pipe_sized_prepare,
        .open = vmsplice_open,
        .send = vmsplice_send,
        .recv = fd_recv,
        .close = vmsplice_close,
        .describe = vmsplice_describe,
};

/* ---- FIFO ------------------------------------------------------------------ */

static int fifo_prepare(struct bench_link *l, char *err, size_t len) {
        int r = bench_path_prepare(l, "fifo", err, len);
        if (r == 0 && mkfifo(l->path, 0600) < 0) {
                r = prepare_fail(err, len, "mkfifo");
                l->path[0] = '\0';
        }
        return r;
}

static int fifo_open(struct bench_end *e) {
        /* The consumer opens first, without waiting for a writer; the
         * producer, started after it, then finds a reader. */
        int fd = e->sender ? open(e->link->path, O_WRONLY | O_CLOEXEC)
                           : open(e->link->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return bench_fail(e, errno, "open %s: %s", e->link->path, strerror(errno));
        if (!e->sender && fcntl(fd, F_SETFL, 0) < 0) {
                int r = bench_fail(e, errno, "fcntl: %s", strerror(errno));
                close(fd);
                return r;
        }
        e->fd = fd;
        return 0;
}

static void fifo_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len, "mkfifo(), default capacity; write() and read()");
}

const struct bench_transport bench_tr_fifo = {
        .name = "fifo",
        .title = "FIFO (named pipe)",
        .stream_only = true,
        .prepare = fifo_prepare,
        .cleanup = bench_path_cleanup,
        .open = fifo_open,
        .send = fd_send,
        .recv = fd_recv,
        .close = fd_close,
        .describe = fifo_describe,
};

/* ---- socketpair ------------------------------------------------------------- */

static void set_sockbuf(int fd, int size) {
        /* As root the FORCE variants pass net.core.[rw]mem_max. */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int socketpair_prepare(struct bench_link *l, char *err, size_t len) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->fd) < 0)
                return prepare_fail(err, len, "socketpair");
        set_sockbuf(l->fd[0], SOCKET_BUFFER);
        set_sockbuf(l->fd[1], SOCKET_BUFFER);
        return 0;
}

static void socketpair_describe(const struct bench_link *l, char *buf, size_t len) {
        int snd = -1, rcv = -1;
        socklen_t sl = sizeof(snd);
        getsockopt(l->fd[1], SOL_SOCKET, SO_SNDBUF, &snd, &sl);
        sl = sizeof(rcv);
        getsockopt(l->fd[0], SOL_SOCKET, SO_RCVBUF, &rcv, &sl);
        snprintf(buf, len,
                 "AF_UNIX SOCK_STREAM socketpair, %d MiB buffers asked, SO_SNDBUF %d and SO_RCVBUF %d "
                 "granted; write() and read()",
                 SOCKET_BUFFER / MIB, snd, rcv);
}

const struct bench_transport bench_tr_socketpair = {
        .name = "socketpair",
        .title = "Unix socketpair",
        .prepare = socketpair_prepare,
        .open = fd_open,
        .send = fd_send,
        .recv = fd_recv,
        .close = fd_close,
        .describe = socketpair_describe,
};
