/*
 * Liveness of the other side, and the sentinel thread.
 *
 * The other side's pid and state are in the control block. On Linux the core
 * holds a pidfd of the peer: it becomes readable when the peer exits, for any
 * reason including SIGKILL, so a sleeper can be woken promptly without
 * periodic checks. Where the backend's wake-up channel cannot be polled
 * (SysV message queues), a sentinel thread polls the pidfd and the waiter's
 * deadline and turns either into a wake-up message to this side.
 *
 * Everything here runs with sb->mutex held unless it says otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "handle.h"

int64_t shbuf__now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pidfd_open_cloexec(uint32_t pid) {
#ifdef SYS_pidfd_open
        /* pidfds are close-on-exec by definition. */
        int fd = (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
        return fd < 0 ? -errno : fd;
#else
        (void) pid;
        return -ENOSYS;
#endif
}

/*
 * Is a process still running? kill(pid, 0) also answers yes for a zombie: a
 * process that died but was not reaped yet, for instance the child of a
 * provider that is itself waiting for the lock the child held. A pidfd tells
 * them apart: it reads as ready once the process has exited.
 */
bool shbuf__pid_alive(uint32_t pid) {
        if (pid == 0 || pid > INT32_MAX)
                return false;
        int fd = pidfd_open_cloexec(pid);
        if (fd >= 0) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                bool exited = poll(&p, 1, 0) > 0;
                close(fd);
                return !exited;
        }
        if (fd == -ESRCH)
                return false;
        /* No pidfds here: EPERM means it exists but belongs to somebody else. */
        return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}

void shbuf__peer_close(shbuf *sb) {
        if (sb->peer_pidfd >= 0)
                close(sb->peer_pidfd);
        sb->peer_pidfd = -1;
        sb->peer_pid = 0;
}

int shbuf__peer_refresh(shbuf *sb) {
        struct shbuf__peer *o = shbuf__other(sb);
        uint32_t pid = atomic_load(&o->pid);

        if (atomic_load(&o->state) != SHBUF__PEER_ATTACHED || pid == sb->peer_pid)
                return 0;

        /* A (new) peer: follow its pid from now on. */
        shbuf__peer_close(sb);
        sb->peer_pid = pid;
        atomic_store(&sb->peer_died, false);
        int fd = pidfd_open_cloexec(pid);
        if (fd >= 0)
                sb->peer_pidfd = fd;
        else if (fd == -ESRCH || fd == -EINVAL)
                atomic_store(&sb->peer_died, true);
        /* Other failures (ENOSYS, EMFILE) leave us with kill(pid, 0) checks. */
        shbuf__notifier_peer_changed(sb);
        if (sb->sentinel)
                shbuf__sentinel_arm(sb, -2);
        return 0;
}

bool shbuf__peer_gone(shbuf *sb, bool probe) {
        struct shbuf__peer *o = shbuf__other(sb);

        if (atomic_load(&sb->removed))
                return true;
        switch (atomic_load(&o->state)) {
        case SHBUF__PEER_NONE:
                return false; /* not connected yet: waiting for it is fine */
        case SHBUF__PEER_ATTACHED:
                break;
        default:
                return true;
        }
        if (atomic_load(&sb->peer_died))
                return true;
        if (sb->peer_pidfd >= 0) {
                /* Waits do not ask: every sleep watches the pidfd (the poll
                 * in the wait, or the sentinel) and sets peer_died, so a death
                 * before the sleep makes it return at once. */
                if (!probe)
                        return false;
                struct pollfd p = {.fd = sb->peer_pidfd, .events = POLLIN};
                if (poll(&p, 1, 0) > 0) {
                        atomic_store(&sb->peer_died, true);
                        return true;
                }
                return false;
        }
        if (!shbuf__pid_alive(atomic_load(&o->pid))) {
                atomic_store(&sb->peer_died, true);
                return true;
        }
        return false;
}

int shbuf__peer_connected(shbuf *sb) {
        int r;
        pthread_mutex_lock(&sb->mutex);
        shbuf__peer_refresh(sb);
        r = atomic_load(&shbuf__other(sb)->state) == SHBUF__PEER_ATTACHED && !shbuf__peer_gone(sb, true) &&
            sb->backend->check_alive(sb) == 0;
        pthread_mutex_unlock(&sb->mutex);
        return r;
}

/* ---- the sentinel ------------------------------------------------------- */

struct shbuf__sentinel {
        pthread_t thread;
        int kick[2]; /* a pipe: writing to it makes the thread re-read its orders */
        int64_t deadline;
        bool stop;
};

static void *sentinel_main(void *arg) {
        shbuf *sb = arg;
        struct shbuf__sentinel *s = sb->sentinel;

        for (;;) {
                pthread_mutex_lock(&sb->mutex);
                bool stop = s->stop;
                int64_t deadline = s->deadline;
                int pidfd = atomic_load(&sb->peer_died) ? -1 : sb->peer_pidfd;
                pthread_mutex_unlock(&sb->mutex);
                if (stop)
                        break;

                int timeout = -1;
                if (deadline >= 0) {
                        int64_t left = deadline - shbuf__now_ms();
                        timeout = left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int) left;
                }
                struct pollfd p[2] = {
                        {.fd = s->kick[0], .events = POLLIN},
                        {.fd = pidfd, .events = POLLIN},
                };
                int n = poll(p, 2, timeout);
                if (n < 0)
                        continue; /* EINTR */
                if (p[0].revents) {
                        char buf[64];
                        while (read(s->kick[0], buf, sizeof(buf)) > 0)
                                ;
                        continue;
                }
                if (n > 0 && (p[1].revents & POLLIN)) {
                        atomic_store(&sb->peer_died, true);
                        (void) sb->backend->send(sb, sb->side);
                        continue;
                }
                if (n == 0) {
                        pthread_mutex_lock(&sb->mutex);
                        if (s->deadline == deadline)
                                s->deadline = -1;
                        pthread_mutex_unlock(&sb->mutex);
                        (void) sb->backend->send(sb, sb->side);
                }
        }
        return NULL;
}

/*
 * Tell the sentinel about a new deadline (-1: none; -2: keep the deadline,
 * re-read the peer). Starts it on first use. Called without sb->mutex held
 * for deadlines, with it held for -2 (from shbuf__peer_refresh()).
 */
int shbuf__sentinel_arm(shbuf *sb, int64_t deadline) {
        struct shbuf__sentinel *s = sb->sentinel;

        if (!s) {
                if (deadline == -2)
                        return 0;
                s = calloc(1, sizeof(*s));
                if (!s)
                        return -ENOMEM;
                if (pipe2(s->kick, O_CLOEXEC | O_NONBLOCK) < 0) {
                        int r = -errno;
                        free(s);
                        return r;
                }
                s->deadline = deadline;
                pthread_mutex_lock(&sb->mutex);
                sb->sentinel = s;
                pthread_mutex_unlock(&sb->mutex);
                int r = shbuf__thread_start(&s->thread, sentinel_main, sb);
                if (r < 0) {
                        pthread_mutex_lock(&sb->mutex);
                        sb->sentinel = NULL;
                        pthread_mutex_unlock(&sb->mutex);
                        close(s->kick[0]);
                        close(s->kick[1]);
                        free(s);
                        return r;
                }
                return 0;
        }
        if (deadline == -2) {
                (void) !write(s->kick[1], "p", 1);
                return 0;
        }
        /* Only a change of deadline costs a system call. */
        pthread_mutex_lock(&sb->mutex);
        bool changed = s->deadline != deadline;
        s->deadline = deadline;
        pthread_mutex_unlock(&sb->mutex);
        if (changed)
                (void) !write(s->kick[1], "d", 1);
        return 0;
}

/* Called without sb->mutex held. */
void shbuf__sentinel_stop(shbuf *sb) {
        struct shbuf__sentinel *s = sb->sentinel;
        if (!s)
                return;
        pthread_mutex_lock(&sb->mutex);
        s->stop = true;
        pthread_mutex_unlock(&sb->mutex);
        (void) !write(s->kick[1], "s", 1);
        pthread_join(s->thread, NULL);
        close(s->kick[0]);
        close(s->kick[1]);
        sb->sentinel = NULL;
        free(s);
}
