/*
 * NNG's pipeline (PUSH to PULL) over ipc:// (a Unix socket in the run's
 * private directory), with NNG's default queues, and the receive size
 * limit (NNG_OPT_RECVMAXSZ, 1 MiB by default) lifted so 1 MiB messages pass.
 * nng_send() copies the producer's message, nng_recv() copies it into the
 * consumer's buffer.
 *
 * Why NNG moves only tens of thousands of messages a second, whatever their
 * size: it hands every message from thread to thread. Measured on the
 * project's 2-CPU machine (strace -f -c, 64-byte messages), each message
 * cost about 18 futex calls across the two processes, two readv() and two
 * getrandom(); the receiving process made 5-7 context switches and spent
 * 20-40 us of CPU per message, busy, not asleep. Send and receive queues
 * (NNG_OPT_SENDBUF, NNG_OPT_RECVBUF, up to 8192 messages) did not help:
 * 23-35 k messages/s against 37-45 k with the defaults, so the defaults are
 * its best here. The number of NNG's threads is fixed when NNG is built.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "bench.h"

struct nng_end {
        nng_socket sock;
        bool open;
};

static int nng_prepare(struct bench_link *l, char *err, size_t len) {
        return bench_path_prepare(l, "nng", err, len);
}

static int nng_fail(struct bench_end *e, const char *what, int rv) {
        return bench_fail(e, rv == NNG_EINTR ? EINTR : EIO, "%s: %s", what, nng_strerror(rv));
}

static int pipeline_open(struct bench_end *e) {
        struct nng_end *n = calloc(1, sizeof(*n));
        char url[sizeof(e->link->path) + 8];
        int rv;
        if (!n)
                return bench_fail(e, ENOMEM, "out of memory");
        e->priv = n;
        if ((rv = e->sender ? nng_push0_open(&n->sock) : nng_pull0_open(&n->sock)) != 0)
                return nng_fail(e, e->sender ? "nng_push0_open" : "nng_pull0_open", rv);
        n->open = true;
        if (!e->sender && (rv = nng_socket_set_size(n->sock, NNG_OPT_RECVMAXSZ, 0)) != 0)
                return nng_fail(e, "lifting the message size limit", rv);
        snprintf(url, sizeof(url), "ipc://%s", e->link->path);
        if ((rv = e->creator ? nng_listen(n->sock, url, NULL, 0) : nng_dial(n->sock, url, NULL, 0)) != 0)
                return nng_fail(e, e->creator ? "nng_listen" : "nng_dial", rv);
        return 0;
}

static long pipeline_send(struct bench_end *e, const unsigned char *p, size_t n) {
        struct nng_end *s = e->priv;
        for (;;) {
                int rv = nng_send(s->sock, (void *) p, n, 0);
                if (rv == 0)
                        return (long) n;
                if (rv == NNG_EINTR && !bench_stop)
                        continue;
                return nng_fail(e, "nng_send", rv);
        }
}

static long pipeline_recv(struct bench_end *e, unsigned char *p, size_t n) {
        struct nng_end *s = e->priv;
        for (;;) {
                size_t got = n;
                int rv = nng_recv(s->sock, p, &got, 0);
                if (rv == 0 && got == n)
                        return (long) n;
                if (rv == 0)
                        return bench_fail(e, EBADMSG, "nng_recv: a message of %zu bytes, expected %zu", got,
                                          n);
                if (rv == NNG_EINTR && !bench_stop)
                        continue;
                return nng_fail(e, "nng_recv", rv);
        }
}

static void pipeline_close(struct bench_end *e) {
        struct nng_end *s = e->priv;
        if (s && s->open)
                nng_close(s->sock);
        free(s);
        e->priv = NULL;
}

static void pipeline_describe(const struct bench_link *l, char *buf, size_t len) {
        snprintf(buf, len,
                 "NNG %s pipeline (PUSH/PULL) over ipc://, default queues, no message size limit; "
                 "nng_send(), "
                 "nng_recv()",
                 nng_version());
}

const struct bench_transport bench_tr_nng_pipeline = {
        .name = "nng-pipeline",
        .title = "NNG pipeline, ipc://",
        .prepare = nng_prepare,
        .cleanup = bench_path_cleanup,
        .open = pipeline_open,
        .send = pipeline_send,
        .recv = pipeline_recv,
        .close = pipeline_close,
        .describe = pipeline_describe,
};
