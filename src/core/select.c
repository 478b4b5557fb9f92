/*
 * The select descriptor (shbuf_notify_enable(), shbuf_get_select_fd(),
 * shbuf_post_select()).
 *
 * The descriptor must turn readable after a notification and when the
 * peer goes away. It is served in one of two ways:
 *
 *   - merged: where the backend has a select source of its own (a POSIX
 *     message queue is pollable; the SysV backend makes a FIFO that the
 *     committing peer writes into) and the system can merge descriptors
 *     (epoll), the descriptor is an fdset holding that source and the
 *     peer's pidfd. No thread, and no hop between the peer's commit and
 *     the program's poll() returning.
 *   - forwarded: otherwise a notifier thread sleeps in the wake-up channel
 *     as a wait would (sleep.c) and writes a byte into a pipe for every
 *     wake-up and at the peer's death: the original libshbuf design.
 *
 * Either way the side stays armed (WAITING in its wait word, with SELECT
 * when merged) from shbuf_notify_enable() on; the peer sends one wake-up
 * and then nothing until shbuf_post_select() took it and cleared PENDING.
 * So one poll() + shbuf_post_select() cycle costs the peer at most one
 * send, and nothing can pile up.
 *
 * The structure is guarded by sb->mutex. Enabling and disabling may come
 * from any thread at any time: a shbuf_wait() sleeping on the descriptor
 * counts as a user, and disabling kicks the users awake and waits for them
 * to leave before anything is closed or freed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "handle.h"

struct shbuf__select {
        int fd;          /* what the program polls */
        int set;         /* merged: the fdset; -1 when forwarded */
        int source;      /* merged: the backend's select source */
        int peer_fd;     /* merged: our copy of the pidfd in the set, -1 if none */
        uint32_t peer_pid;
        int kick_r, kick_w; /* wakes a wait sleeping here */
        int pipe_r, pipe_w; /* forwarded: the pipe the thread writes into */
        pthread_t thread;   /* forwarded: the notifier thread */
        bool in_channel;    /* ... which sleeps in the channel now */
        bool stop, closing;
};

static uint32_t arm_how(const struct shbuf__select *s) {
        return s->set >= 0 ? SHBUF__WAIT_SELECT : 0;
}

/* Under sb->mutex: the pidfd in the set follows the handle's. */
static void follow_peer(shbuf *sb, struct shbuf__select *s) {
        if (s->set < 0 || (s->peer_pid == sb->peer.pid && (s->peer_fd >= 0) == (shbuf__peer_fd(sb) >= 0)))
                return;
        if (s->peer_fd >= 0) {
                shbuf__os_fdset_del(s->set, s->peer_fd);
                close(s->peer_fd);
        }
        int fd = shbuf__peer_fd(sb);
        s->peer_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
        s->peer_pid = sb->peer.pid;
        if (s->peer_fd >= 0)
                (void) shbuf__os_fdset_add(s->set, s->peer_fd);
}

void shbuf__select_peer_changed(shbuf *sb) {
        if (sb->select)
                follow_peer(sb, sb->select);
}

/* ---- forwarded: the notifier thread ----------------------------------- */

/*
 * It holds the receiver role while it sleeps in the channel, as a wait
 * does (wait.c): one receiver at a time, so that the wake-up that stops it
 * cannot be taken by a wait, nor a wait's by it.
 */
static void *notifier_main(void *arg) {
        shbuf *sb = arg;
        pthread_mutex_lock(&sb->mutex);
        struct shbuf__select *s = sb->select;
        while (!s->stop) {
                if (sb->receiving) {
                        pthread_cond_wait(&sb->cond, &sb->mutex);
                        continue;
                }
                sb->receiving = true;
                s->in_channel = true;
                pthread_mutex_unlock(&sb->mutex);
                int r = shbuf__sleep_channel(sb, -1);
                pthread_mutex_lock(&sb->mutex);
                sb->receiving = false;
                s->in_channel = false;
                sb->wake_gen++;
                pthread_cond_broadcast(&sb->cond);
                if (s->stop)
                        break;
                if (r == -EINTR)
                        continue;
                /* Took it: no more wake-ups until shbuf_post_select()
                 * re-arms, one per cycle of the program's. */
                if (r == 1)
                        shbuf__wait_disarm(sb, true);
                /* A wake-up, the peer's death, or the channel gone: the
                 * program hears of each through the pipe. */
                if (r != 0 || shbuf__peer_gone(sb, true))
                        shbuf__os_event_post(s->pipe_w);
                if (r < 0 || shbuf__peer_gone(sb, false))
                        break; /* the byte stays: the descriptor stays readable */
        }
        pthread_mutex_unlock(&sb->mutex);
        return NULL;
}

/* With sb->mutex held: end the sleep of whoever sleeps in this side's
 * channel now (a wait, or the notifier thread). */
static void wake_receiver(shbuf *sb) {
        if (sb->backend->caps & SHBUF__CAP_RECV_TIMED)
                (void) sb->backend->send(&sb->map, sb->side, false);
        else
                (void) sb->backend->send_self(&sb->map, sb->side);
}

/* ---- enabling and disabling --------------------------------------------- */

static void select_free(shbuf *sb, struct shbuf__select *s) {
        if (s->set >= 0)
                close(s->set);
        if (s->peer_fd >= 0)
                close(s->peer_fd);
        if (s->source >= 0)
                sb->backend->close_select(&sb->map, sb->side);
        shbuf__os_event_close(s->kick_r, s->kick_w);
        shbuf__os_event_close(s->pipe_r, s->pipe_w);
        free(s);
}

/* Merge the backend's source and the peer's pidfd: 0, or -errno when this
 * system or backend cannot (the caller then forwards). */
static int merge(shbuf *sb, struct shbuf__select *s) {
        int mode = sb->backend->get_mode(&sb->map);
        if (!sb->backend->open_select || mode < 0)
                return -ENOTSUP;
        s->set = shbuf__os_fdset_new();
        if (s->set < 0)
                return s->set;
        s->source = sb->backend->open_select(&sb->map, sb->side, mode);
        if (s->source < 0)
                return s->source;
        int r = shbuf__os_fdset_add(s->set, s->source);
        if (r < 0)
                return r;
        s->fd = s->set;
        return 0;
}

static void unmerge(shbuf *sb, struct shbuf__select *s) {
        if (s->source >= 0)
                sb->backend->close_select(&sb->map, sb->side);
        if (s->set >= 0)
                close(s->set);
        s->source = s->set = -1;
}

/* With sb->mutex held. */
static int enable(shbuf *sb) {
        struct shbuf__select *s = calloc(1, sizeof(*s));
        int r;
        if (!s)
                return -ENOMEM;
        s->set = s->source = s->peer_fd = s->kick_r = s->kick_w = s->pipe_r = s->pipe_w = -1;
        r = shbuf__os_event_new(&s->kick_r, &s->kick_w);
        if (r < 0)
                goto fail;
        if (merge(sb, s) < 0) {
                unmerge(sb, s);
                r = shbuf__os_event_new(&s->pipe_r, &s->pipe_w);
                if (r < 0)
                        goto fail;
                s->fd = s->pipe_r;
        }
        sb->select = s;
        shbuf__peer_refresh(sb);
        follow_peer(sb, s);
        if (s->set >= 0) {
                /* Wake-ups go to the source from now on: what the channel
                 * holds is nobody's, and neither is its PENDING. */
                (void) sb->backend->drain(&sb->map, sb->side);
                atomic_fetch_and(&shbuf__self(sb)->wait, ~SHBUF__WAIT_PENDING);
        } else {
                r = shbuf__thread_start(&s->thread, notifier_main, sb);
                if (r < 0) {
                        sb->select = NULL;
                        goto fail;
                }
        }
        /* A wait asleep in the channel moves over to the descriptor (or
         * leaves the channel to the notifier thread). */
        if (sb->receiving)
                wake_receiver(sb);
        shbuf__wait_arm(sb, arm_how(s));
        (void) shbuf__heavy_fence();
        /* A peer that left before: its pidfd is not in the set (nor anyone's
         * wake-up on the way), so the descriptor is made readable here. */
        if (s->set >= 0 && shbuf__peer_gone(sb, true))
                shbuf__wake_side(sb->backend, &sb->map, sb->side);
        return 0;
fail:
        select_free(sb, s);
        return r;
}

/* With sb->mutex held; returns with it held. */
static void disable(shbuf *sb) {
        struct shbuf__select *s = sb->select;
        if (s->closing)
                return; /* another thread is at it */
        s->closing = true;
        /* Waits sleeping on the descriptor leave it first. */
        while (sb->select_users > 0) {
                shbuf__os_event_post(s->kick_w);
                pthread_cond_wait(&sb->cond, &sb->mutex);
        }
        if (s->set < 0) {
                s->stop = true;
                /* End its sleep in the channel, where it is the only one. */
                if (s->in_channel)
                        wake_receiver(sb);
                pthread_cond_broadcast(&sb->cond);
                pthread_mutex_unlock(&sb->mutex);
                pthread_join(s->thread, NULL);
                pthread_mutex_lock(&sb->mutex);
        }
        sb->select = NULL;
        /* A wake-up sent to the source goes with it. */
        shbuf__wait_disarm(sb, true);
        select_free(sb, s);
        pthread_cond_broadcast(&sb->cond);
}

int shbuf__notify_enable(shbuf *sb, bool enable_it) {
        int r = 0;
        pthread_mutex_lock(&sb->mutex);
        if (enable_it && !sb->select)
                r = enable(sb);
        else if (!enable_it && sb->select)
                disable(sb);
        pthread_mutex_unlock(&sb->mutex);
        return r;
}

int shbuf__select_fd(shbuf *sb) {
        pthread_mutex_lock(&sb->mutex);
        int fd = sb->select && !sb->select->closing ? sb->select->fd : -EINVAL;
        pthread_mutex_unlock(&sb->mutex);
        return fd;
}

/* ---- draining ------------------------------------------------------------ */

/* With sb->mutex held: take what woke the descriptor and re-arm. The
 * program looks at the ring after this, so any commit before the re-arm
 * is seen then and any later one wakes us. */
static int drain_and_arm(shbuf *sb, struct shbuf__select *s) {
        if (shbuf__peer_gone(sb, false))
                return -EPIPE; /* nothing drained: the descriptor stays readable */
        int n;
        if (s->set >= 0) {
                n = sb->backend->drain_select(&sb->map, sb->side);
                if (n < 0) {
                        atomic_store(&sb->peer.removed, true);
                        return n;
                }
        } else {
                char buf[64];
                ssize_t got;
                n = 0;
                while ((got = read(s->pipe_r, buf, sizeof(buf))) > 0)
                        n += (int) got;
        }
        /* Readable with no wake-up: the peer's pidfd, so it died (a probe
         * costs a system call, only worth it then). */
        if (n == 0 && shbuf__peer_gone(sb, true))
                return -EPIPE;
        if (s->set >= 0)
                atomic_fetch_and(&shbuf__self(sb)->wait, ~SHBUF__WAIT_PENDING);
        shbuf__wait_arm(sb, arm_how(s));
        (void) shbuf__heavy_fence();
        return 0;
}

int shbuf__post_select(shbuf *sb) {
        pthread_mutex_lock(&sb->mutex);
        struct shbuf__select *s = sb->select;
        int r = -EINVAL;
        if (s && !s->closing && shbuf__trapped(sb)) {
                r = -EPIPE; /* the descriptor stays readable */
        } else if (s && !s->closing) {
                shbuf__peer_refresh(sb);
                r = drain_and_arm(sb, s);
                /* A wait in another thread may sleep on what we drained. */
                if (r == 0 && sb->select_users > 0)
                        shbuf__os_event_post(s->kick_w);
        }
        pthread_mutex_unlock(&sb->mutex);
        return r;
}

int shbuf__select_sleep(shbuf *sb, int d, int64_t deadline_ms) {
        struct shbuf__select *s = sb->select;
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = s->kick_r, .events = POLLIN}};
        /* A shbuf_post_select() of another thread may have taken the
         * wake-up of news we have not seen: it kicks only users, so look
         * once more now that we are one. */
        sb->select_users++;
        if (shbuf__news(sb, d)) {
                sb->select_users--;
                return 1;
        }
        pthread_mutex_unlock(&sb->mutex);
        int n = poll(p, 2, shbuf__ms_left(deadline_ms));
        int err = errno;
        pthread_mutex_lock(&sb->mutex);
        sb->select_users--;
        if (s->closing) {
                pthread_cond_broadcast(&sb->cond);
                return 1; /* look again: the descriptor is going away */
        }
        if (n < 0)
                return err == EINTR ? -EINTR : -err;
        if (n == 0)
                return 0;
        if (p[1].revents)
                shbuf__os_event_clear(s->kick_r);
        if (p[0].revents) {
                int r = drain_and_arm(sb, s);
                if (r < 0)
                        return r;
        }
        return 1;
}
