/*
 * The select descriptor (shbuf_notify_enable(), shbuf_get_select_fd(),
 * shbuf_post_select()).
 *
 * The descriptor handed out is an epoll instance holding two sources: the
 * wake-up source and the peer's pidfd. So it turns readable both after a
 * notification and when the peer dies, without any thread watching for
 * deaths. The wake-up source is, in order of preference:
 *
 *   - the backend's own channel, where it can be polled (POSIX message
 *     queues on Linux): no thread, no extra object;
 *   - a FIFO of this side's ("SHBUF_FIFO_DIR/shbuf-KKKKKKKK-p.fifo" or
 *     "-c.fifo"), into which the committing peer writes a byte itself: no
 *     thread hop between the peer's commit and our poll() returning;
 *   - a notifier thread that blocks in the backend's channel and forwards
 *     each wake-up as a byte into a pipe (the original libshbuf design),
 *     used where no FIFO can be made.
 *
 * The descriptor is armed by shbuf_notify_enable() and by every
 * shbuf_post_select(): arming publishes "waiting" (and how to be woken), so
 * the peer's next commit sends one wake-up, and only one, per cycle of poll
 * + post_select.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "handle.h"

enum source { SOURCE_CHANNEL, SOURCE_FIFO, SOURCE_THREAD };

struct shbuf__notifier {
        enum source source;
        int epfd;
        int fd[2]; /* SOURCE_FIFO: fd[0] is the FIFO; SOURCE_THREAD: a pipe */
        /* Wakes a shbuf_wait() sleeping on the descriptor when another
         * thread drained it with shbuf_post_select(): what woke that thread
         * may be news to the sleeper too. */
        int kick;
        bool stop;
        pthread_t thread;
};

/* ---- the wake-up FIFOs ------------------------------------------------- */

void shbuf__fifo_path(char *buf, size_t n, key_t key, int side) {
        snprintf(buf, n, "%s/shbuf-%08x-%c.fifo", SHBUF_FIFO_DIR, (unsigned) key,
                 side == SHBUF__PROVIDER ? 'p' : 'c');
}

/* Make this side's FIFO and open it. O_RDWR: opening does not wait for a
 * writer, and the FIFO always has a reader, so no writer gets SIGPIPE. */
static int fifo_make(shbuf *sb) {
        char path[128];
        struct stat st;
        int mode = sb->backend->get_mode(sb);

        if (mode < 0)
                return mode;
        shbuf__fifo_path(path, sizeof(path), sb->key, sb->side);
        /* A FIFO of ours left by a process that died: replace it. Anything
         * else under the name is not touched. */
        if (lstat(path, &st) == 0) {
                if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
                        return -EEXIST;
                if (unlink(path) < 0)
                        return -errno;
        }
        if (mkfifo(path, 0600) < 0)
                return -errno;
        int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        /* The buffer's mode, so that a peer allowed to use the buffer may
         * write here; mkfifo() would have applied the umask. */
        if (fd < 0 || fchmod(fd, (mode_t) mode | 0200) < 0) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                unlink(path);
                return r;
        }
        return fd;
}

static void fifo_remove(shbuf *sb) {
        char path[128];
        shbuf__fifo_path(path, sizeof(path), sb->key, sb->side);
        unlink(path);
}

void shbuf__fifo_close_peer(shbuf *sb) {
        if (sb->peer_fifo_fd >= 0)
                close(sb->peer_fifo_fd);
        sb->peer_fifo_fd = -1;
}

/*
 * Wake the peer through its FIFO. Called from committing threads, so the
 * cached descriptor has a mutex of its own (not the handle's: a program may
 * notify while another thread waits, and waits hold the handle mutex); a
 * new generation means the peer made a new FIFO and the old descriptor
 * leads nowhere.
 */
int shbuf__fifo_kick(shbuf *sb) {
        uint32_t gen = atomic_load(&shbuf__other(sb)->fifo_gen);
        int r = 0;

        pthread_mutex_lock(&sb->fifo_mutex);
        if (sb->peer_fifo_fd < 0 || sb->peer_fifo_gen != gen) {
                char path[128];
                struct stat st;
                shbuf__fifo_close_peer(sb);
                shbuf__fifo_path(path, sizeof(path), sb->key, !sb->side);
                int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))) {
                        close(fd);
                        fd = -1;
                        errno = EPROTO;
                }
                if (fd < 0)
                        r = -errno;
                sb->peer_fifo_fd = fd;
                sb->peer_fifo_gen = gen;
        }
        /* A full FIFO is readable already: nothing is lost. */
        if (r == 0 && write(sb->peer_fifo_fd, "w", 1) < 0 && errno != EAGAIN)
                r = -errno;
        pthread_mutex_unlock(&sb->fifo_mutex);
        return r;
}

int shbuf__fifo_chmod(shbuf *sb, int mode) {
        struct shbuf__notifier *n = sb->notifier;
        if (n && n->source == SOURCE_FIFO && fchmod(n->fd[0], (mode_t) mode | 0200) < 0)
                return -errno;
        return 0;
}

/* ---- the notifier thread (fallback) ------------------------------------ */

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
                (void) !write(n->fd[1], "n", 1);
                if (r < 0)
                        break; /* the channel is gone; the byte stays */
        }
        return NULL;
}

/* ---- the descriptor ----------------------------------------------------- */

static void watch_fd(struct shbuf__notifier *n, int fd) {
        if (fd < 0)
                return;
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.fd = fd;
        (void) epoll_ctl(n->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* With sb->mutex held: the peer's pidfd changed. The old one, closed,
 * left the epoll set by itself. */
void shbuf__notifier_peer_changed(shbuf *sb) {
        if (sb->notifier)
                watch_fd(sb->notifier, sb->peer_pidfd);
}

static void notifier_free(shbuf *sb, struct shbuf__notifier *n) {
        if (n->epfd >= 0)
                close(n->epfd);
        if (n->kick >= 0)
                close(n->kick);
        for (int i = 0; i < 2; i++)
                if (n->fd[i] >= 0)
                        close(n->fd[i]);
        if (n->source == SOURCE_FIFO)
                fifo_remove(sb);
        free(n);
}

static uint32_t wait_how(const struct shbuf__notifier *n) {
        return n->source == SOURCE_FIFO ? SHBUF__WAIT_FIFO : SHBUF__WAIT_CHANNEL;
}

static void arm(shbuf *sb, struct shbuf__notifier *n) {
        struct shbuf__peer *me = shbuf__self(sb);
        atomic_store(&me->wants_space, 0);
        atomic_store(&me->waiting, wait_how(n));
}

static int notifier_start(shbuf *sb) {
        struct shbuf__notifier *n = calloc(1, sizeof(*n));
        int src, r;

        if (!n)
                return -ENOMEM;
        n->fd[0] = n->fd[1] = -1;
        n->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        n->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (n->kick < 0 || n->epfd < 0 || fcntl(n->epfd, F_SETFL, O_NONBLOCK) < 0)
                goto fail_errno;

        if (sb->backend->caps & SHBUF__CAP_POLLABLE) {
                n->source = SOURCE_CHANNEL;
                src = sb->backend->recv_fd(sb);
                if (src < 0) {
                        r = src;
                        goto fail;
                }
        } else if ((src = fifo_make(sb)) >= 0) {
                n->source = SOURCE_FIFO;
                n->fd[0] = src;
                /* Before arming: a peer that sees us wait through a FIFO
                 * must also see that it is a new one. */
                atomic_fetch_add(&shbuf__self(sb)->fifo_gen, 1);
        } else {
                n->source = SOURCE_THREAD;
                if (pipe2(n->fd, O_CLOEXEC | O_NONBLOCK) < 0)
                        goto fail_errno;
                src = n->fd[0];
        }
        watch_fd(n, src);

        pthread_mutex_lock(&sb->mutex);
        sb->notifier = n;
        shbuf__peer_refresh(sb);
        watch_fd(n, sb->peer_pidfd);
        pthread_mutex_unlock(&sb->mutex);

        if (n->source == SOURCE_THREAD) {
                r = shbuf__thread_start(&n->thread, notifier_main, sb);
                if (r < 0) {
                        pthread_mutex_lock(&sb->mutex);
                        sb->notifier = NULL;
                        pthread_mutex_unlock(&sb->mutex);
                        goto fail;
                }
        }
        arm(sb, n);
        return 0;

fail_errno:
        r = -errno;
fail:
        notifier_free(sb, n);
        return r;
}

static void notifier_stop(shbuf *sb) {
        struct shbuf__notifier *n = sb->notifier;

        atomic_store(&shbuf__self(sb)->waiting, 0);
        pthread_mutex_lock(&sb->mutex);
        n->stop = true;
        pthread_mutex_unlock(&sb->mutex);
        if (n->source == SOURCE_THREAD) {
                /* The thread sleeps in the channel: a message to ourselves
                 * wakes it; if the channel is gone it has returned already. */
                (void) sb->backend->send(sb, sb->side);
                pthread_join(n->thread, NULL);
        }
        pthread_mutex_lock(&sb->mutex);
        sb->notifier = NULL;
        pthread_mutex_unlock(&sb->mutex);
        notifier_free(sb, n);
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

/* Take what woke us; how many wake-ups there were, or -errno. One system
 * call in the usual case: a short read means the FIFO or pipe is empty, and
 * a queue with more than one message left stays readable for the next round. */
static int drain_source(shbuf *sb, struct shbuf__notifier *n) {
        if (n->source == SOURCE_CHANNEL)
                return sb->backend->drain(sb, 1);
        char buf[64];
        ssize_t got, total = 0;
        while ((got = read(n->fd[0], buf, sizeof(buf))) == (ssize_t) sizeof(buf))
                total += got;
        return (int) (total + (got > 0 ? got : 0));
}

/* Whether the peer is gone; probing its pidfd costs a system call. */
static bool peer_gone(shbuf *sb, bool probe) {
        pthread_mutex_lock(&sb->mutex);
        shbuf__peer_refresh(sb);
        bool gone = shbuf__peer_gone(sb, probe);
        pthread_mutex_unlock(&sb->mutex);
        return gone;
}

int shbuf__post_select(shbuf *sb) {
        struct shbuf__notifier *n = sb->notifier;

        if (!n)
                return -EINVAL;
        /* A peer that left is seen without a system call. Nothing is drained
         * then: the descriptor stays readable, the peer is not coming back. */
        if (peer_gone(sb, false))
                return -EPIPE;
        int r = drain_source(sb, n);
        if (r < 0) {
                atomic_store(&sb->removed, true);
                return r;
        }
        /* Readable without a wake-up: the peer's pidfd, so it died. Only
         * then is asking worth a system call. */
        if (r == 0 && peer_gone(sb, true))
                return -EPIPE;
        /* Re-arm. The program looks at the status after this call, so any
         * commit before this store is seen then, any later one wakes us. */
        arm(sb, n);
        /* A shbuf_wait() in another thread may sleep on the descriptor we
         * just drained: let it look at its event count again. */
        pthread_mutex_lock(&sb->mutex);
        bool other_sleeper = sb->receiving && !pthread_equal(sb->receiver, pthread_self());
        pthread_mutex_unlock(&sb->mutex);
        if (other_sleeper)
                (void) eventfd_write(n->kick, 1);
        return 0;
}

int shbuf__notifier_wait(shbuf *sb, int timeout_ms) {
        struct shbuf__notifier *n = sb->notifier;
        struct pollfd p[2] = {
                {.fd = n->epfd, .events = POLLIN},
                {.fd = n->kick, .events = POLLIN},
        };
        int r = poll(p, 2, timeout_ms);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        if (p[1].revents) {
                eventfd_t v;
                (void) eventfd_read(n->kick, &v);
        }
        return p[0].revents ? shbuf__post_select(sb) : 0;
}
