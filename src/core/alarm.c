/*
 * The helper thread of backends whose receive has no timeout (SysV:
 * msgrcv() waits for a message or a signal, nothing else).
 *
 * A thread of such a backend sleeps in the channel; this thread watches
 * its deadline and the peer's death (a pidfd) and, when either comes,
 * ends the sleep with a wake-up the backend sends to the sleeping side
 * itself (send_self(), which gets through even a channel a neighbour
 * filled). It is started by the first sleep that needs it and sleeps in
 * poll() the rest of the time: an infinite wait costs it nothing until the
 * peer dies. Backends with timed receives never start it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "handle.h"

struct shbuf__alarm {
        pthread_t thread;
        int kick_r, kick_w;
        int64_t deadline; /* of the armed sleep; -1: none */
        int64_t watching; /* the deadline the thread sleeps towards now */
        bool armed;       /* a thread sleeps in the channel */
        bool fired;       /* ... and was sent its wake-up */
        bool stop;
        int peer_fd;      /* the thread's own copy of the peer's pidfd */
        uint32_t peer_pid;
};

/* Under sb->mutex: the thread's copy of the pidfd follows the handle's. */
static void follow_peer(shbuf *sb, struct shbuf__alarm *a) {
        if (a->peer_pid == sb->peer.pid && (a->peer_fd >= 0) == (shbuf__peer_fd(sb) >= 0))
                return;
        if (a->peer_fd >= 0)
                close(a->peer_fd);
        int fd = shbuf__peer_fd(sb);
        a->peer_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
        a->peer_pid = sb->peer.pid;
}

static void fire(shbuf *sb, struct shbuf__alarm *a) {
        if (a->armed && !a->fired) {
                a->fired = true;
                (void) sb->backend->send_self(&sb->map, sb->side);
        }
}

static void *alarm_main(void *arg) {
        shbuf *sb = arg;
        pthread_mutex_lock(&sb->mutex);
        struct shbuf__alarm *a = sb->alarm;
        while (!a->stop) {
                follow_peer(sb, a);
                a->watching = a->armed ? a->deadline : -1;
                int timeout = shbuf__ms_left(a->watching);
                struct pollfd p[2] = {{.fd = a->kick_r, .events = POLLIN}, {.fd = a->peer_fd, .events = POLLIN}};
                pthread_mutex_unlock(&sb->mutex);
                int n = poll(p, 2, timeout);
                pthread_mutex_lock(&sb->mutex);
                if (n < 0)
                        continue;
                if (p[0].revents)
                        shbuf__os_event_clear(a->kick_r);
                if (p[1].revents) {
                        atomic_store(&sb->peer.died, true);
                        close(a->peer_fd);
                        a->peer_fd = -1;
                        fire(sb, a);
                } else if (a->armed && a->deadline >= 0 && shbuf__ms_left(a->deadline) == 0) {
                        fire(sb, a);
                }
        }
        pthread_mutex_unlock(&sb->mutex);
        return NULL;
}

/* With sb->mutex held. */
int shbuf__alarm_arm(shbuf *sb, int64_t deadline_ms) {
        struct shbuf__alarm *a = sb->alarm;
        if (!a) {
                a = calloc(1, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                a->peer_fd = -1;
                a->watching = -1;
                int r = shbuf__os_event_new(&a->kick_r, &a->kick_w);
                if (r < 0) {
                        free(a);
                        return r;
                }
                sb->alarm = a;
                r = shbuf__thread_start(&a->thread, alarm_main, sb);
                if (r < 0) {
                        sb->alarm = NULL;
                        shbuf__os_event_close(a->kick_r, a->kick_w);
                        free(a);
                        return r;
                }
        }
        a->armed = true;
        a->fired = false;
        a->deadline = deadline_ms;
        /* Only a sooner deadline, or a new peer, needs the thread's
         * attention now: it would wake too late otherwise. */
        bool sooner = deadline_ms >= 0 && (a->watching < 0 || deadline_ms < a->watching);
        if (sooner || a->peer_pid != sb->peer.pid)
                shbuf__os_event_post(a->kick_w);
        return 0;
}

/* With sb->mutex held. */
void shbuf__alarm_disarm(shbuf *sb) {
        if (sb->alarm)
                sb->alarm->armed = false;
}

/* Without sb->mutex held. */
void shbuf__alarm_stop(shbuf *sb) {
        pthread_mutex_lock(&sb->mutex);
        struct shbuf__alarm *a = sb->alarm;
        if (!a) {
                pthread_mutex_unlock(&sb->mutex);
                return;
        }
        a->stop = true;
        shbuf__os_event_post(a->kick_w);
        pthread_mutex_unlock(&sb->mutex);
        pthread_join(a->thread, NULL);
        sb->alarm = NULL;
        if (a->peer_fd >= 0)
                close(a->peer_fd);
        shbuf__os_event_close(a->kick_r, a->kick_w);
        free(a);
}
