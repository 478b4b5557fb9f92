/*
 * The select descriptor (shbuf_notify_enable(), shbuf_get_select_fd(),
 * shbuf_post_select()).
 *
 * The descriptor handed out is an epoll instance holding two sources: the
 * wake-up source and the peer's pidfd. So it turns readable both after a
 * notification and when the peer dies, without any thread watching for
 * deaths. The wake-up source is the backend's own channel where it can be
 * polled (POSIX message queues on Linux), with no thread at all; otherwise a
 * notifier thread blocks in the backend's channel and forwards each wake-up
 * as a byte into a pipe (the original libshbuf design).
 *
 * The descriptor is armed by shbuf_notify_enable() and by every
 * shbuf_post_select(): arming publishes "waiting", so the peer's next commit
 * sends one wake-up, and only one, per cycle of poll + post_select.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "handle.h"

struct shbuf__notifier {
        int epfd;
        int pipe[2]; /* thread → select descriptor, when the channel cannot be polled */
        bool has_thread;
        bool stop;
        pthread_t thread;
};

static void *notifier_main(void *arg) {
        shbuf *sb = arg;
        struct shbuf__notifier *n = sb->notifier;

        for (;;) {
                int r = sb->backend->recv(sb);
                pthread_mutex_lock(&sb->mutex);
                bool stop = n->stop;
                pthread_mutex_unlock(&sb->mutex);
                if (stop)
                        break;
                if (r == -EINTR)
                        continue;
                /* A full pipe already reads as readable: nothing is lost. */
                (void) !write(n->pipe[1], "n", 1);
                if (r < 0)
                        break; /* the channel is gone; the byte stays */
        }
        return NULL;
}

static void watch_pidfd(struct shbuf__notifier *n, int pidfd) {
        if (pidfd < 0)
                return;
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.fd = pidfd;
        (void) epoll_ctl(n->epfd, EPOLL_CTL_ADD, pidfd, &ev);
}

/* With sb->mutex held: the peer's pidfd changed. The old one, closed,
 * left the epoll set by itself. */
void shbuf__notifier_peer_changed(shbuf *sb) {
        if (sb->notifier)
                watch_pidfd(sb->notifier, sb->peer_pidfd);
}

static void notifier_free(struct shbuf__notifier *n) {
        if (n->epfd >= 0)
                close(n->epfd);
        if (n->pipe[0] >= 0)
                close(n->pipe[0]);
        if (n->pipe[1] >= 0)
                close(n->pipe[1]);
        free(n);
}

static int notifier_start(shbuf *sb) {
        struct shbuf__notifier *n = calloc(1, sizeof(*n));
        int src, r;

        if (!n)
                return -ENOMEM;
        n->pipe[0] = n->pipe[1] = -1;
        n->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (n->epfd < 0 || fcntl(n->epfd, F_SETFL, O_NONBLOCK) < 0)
                goto fail_errno;

        if (sb->backend->caps & SHBUF__CAP_POLLABLE) {
                src = sb->backend->recv_fd(sb);
                if (src < 0) {
                        r = src;
                        goto fail;
                }
        } else {
                if (pipe2(n->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                        goto fail_errno;
                src = n->pipe[0];
        }
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.fd = src;
        if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, src, &ev) < 0)
                goto fail_errno;

        pthread_mutex_lock(&sb->mutex);
        sb->notifier = n;
        shbuf__peer_refresh(sb);
        watch_pidfd(n, sb->peer_pidfd);
        pthread_mutex_unlock(&sb->mutex);

        if (!(sb->backend->caps & SHBUF__CAP_POLLABLE)) {
                r = shbuf__thread_start(&n->thread, notifier_main, sb);
                if (r < 0) {
                        pthread_mutex_lock(&sb->mutex);
                        sb->notifier = NULL;
                        pthread_mutex_unlock(&sb->mutex);
                        goto fail;
                }
                n->has_thread = true;
        }
        atomic_store(&shbuf__self(sb)->waiting, 1);
        return 0;

fail_errno:
        r = -errno;
fail:
        notifier_free(n);
        return r;
}

static void notifier_stop(shbuf *sb) {
        struct shbuf__notifier *n = sb->notifier;

        atomic_store(&shbuf__self(sb)->waiting, 0);
        pthread_mutex_lock(&sb->mutex);
        n->stop = true;
        pthread_mutex_unlock(&sb->mutex);
        if (n->has_thread) {
                /* The thread sleeps in the channel: a message to ourselves
                 * wakes it; if the channel is gone it has returned already. */
                (void) sb->backend->send(sb, sb->side);
                pthread_join(n->thread, NULL);
        }
        pthread_mutex_lock(&sb->mutex);
        sb->notifier = NULL;
        pthread_mutex_unlock(&sb->mutex);
        notifier_free(n);
}

int shbuf__notify_enable(shbuf *sb, bool enable) {
        if (enable == (sb->notifier != NULL))
                return 0;
        if (enable)
                return notifier_start(sb);
        notifier_stop(sb);
        return 0;
}

int shbuf__select_fd(shbuf *sb) {
        struct shbuf__notifier *n = sb->notifier;
        return n ? n->epfd : -EINVAL;
}

int shbuf__post_select(shbuf *sb) {
        struct shbuf__notifier *n = sb->notifier;
        int r = 0;

        if (!n)
                return -EINVAL;
        pthread_mutex_lock(&sb->mutex);
        shbuf__peer_refresh(sb);
        if (shbuf__peer_gone(sb, true)) {
                /* Leave the descriptor readable: the peer is not coming back. */
                pthread_mutex_unlock(&sb->mutex);
                return -EPIPE;
        }
        pthread_mutex_unlock(&sb->mutex);

        if (n->has_thread) {
                char buf[64];
                while (read(n->pipe[0], buf, sizeof(buf)) > 0)
                        ;
        } else {
                r = sb->backend->drain(sb);
                if (r < 0) {
                        atomic_store(&sb->removed, true);
                        return r;
                }
        }
        /* Re-arm. The program looks at the status after this call, so any
         * commit before this store is seen then, any later one wakes us. */
        atomic_store(&shbuf__self(sb)->waiting, 1);
        return 0;
}

int shbuf__notifier_wait(shbuf *sb, int timeout_ms) {
        struct pollfd p = {.fd = sb->notifier->epfd, .events = POLLIN};
        int n = poll(&p, 1, timeout_ms);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ETIMEDOUT;
        return shbuf__post_select(sb);
}
