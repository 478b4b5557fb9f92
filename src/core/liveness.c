/*
 * Liveness of the other side.
 *
 * The truth is the kernel's: each side holds a presence token while its
 * process lives (a SysV semaphore raised with SEM_UNDO, or an
 * open-file-description lock on the POSIX control object; backend.h), and
 * the kernel gives it back when that process dies, for any reason and in
 * whatever pid namespace. So a side is gone when it left (its state says
 * so) or when its token is free. Pids are not trusted for this: two
 * containers may share an IPC namespace but not a pid namespace, and a pid
 * from the other one names nobody, or somebody else.
 *
 * A sleeper learns of the peer's death at once through a descriptor it
 * sleeps on too (the peer fd): within one pid namespace (each side
 * publishes its own) that is a pidfd of the peer, which turns readable the
 * moment it exits. Otherwise (another namespace, or a system without
 * pidfds) a watcher thread blocks in the kernel on the peer's token
 * (await_absence()) and posts an event when it is freed.
 *
 * Everything here runs with sb->mutex held unless it says otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "handle.h"

/* ---- the watcher -------------------------------------------------------- */

struct shbuf__watcher {
        shbuf *sb;
        int side;
        pthread_t thread;
        int ev_r, ev_w;
};

SHBUF__CANCELLED_HERE static void *watcher_main(void *arg) {
        struct shbuf__watcher *w = arg;
        shbuf *sb = w->sb;
        if (sb->backend->await_absence(&sb->map, w->side) == 0) {
                atomic_store(&sb->peer.died, true);
                shbuf__os_event_post(w->ev_w);
        }
        return NULL;
}

/* Watch the peer's token; its event is the peer fd from then on. */
static void watcher_start(shbuf *sb) {
        struct shbuf__watcher *w = calloc(1, sizeof(*w));
        if (!w)
                return;
        w->sb = sb;
        w->side = !sb->side;
        if (shbuf__os_event_new(&w->ev_r, &w->ev_w) < 0) {
                free(w);
                return;
        }
        if (shbuf__thread_start(&w->thread, watcher_main, w) < 0) {
                shbuf__os_event_close(w->ev_r, w->ev_w);
                free(w);
                return;
        }
        sb->peer.watcher = w;
}

static void watcher_stop(shbuf *sb) {
        struct shbuf__watcher *w = sb->peer.watcher;
        if (!w)
                return;
        pthread_cancel(w->thread);
        pthread_join(w->thread, NULL);
        shbuf__os_event_close(w->ev_r, w->ev_w);
        free(w);
        sb->peer.watcher = NULL;
}

void shbuf__peer_close(shbuf *sb) {
        watcher_stop(sb);
        if (sb->peer.pidfd >= 0)
                close(sb->peer.pidfd);
        sb->peer.pidfd = -1;
        sb->peer.pid = 0;
        sb->peer.tag = 0;
}

/* Whether the peer's pid names the peer here: the same pid namespace. */
static bool pid_usable(shbuf *sb, const struct shbuf__side_block *o) {
        return sb->pidns != 0 && atomic_load(&o->pidns) == sb->pidns;
}

void shbuf__peer_refresh(shbuf *sb) {
        struct shbuf__side_block *o = shbuf__other(sb);
        uint32_t pid = atomic_load(&o->pid);
        uint32_t tag = atomic_load(&o->tag);

        if (atomic_load(&o->state) != SHBUF__SIDE_ATTACHED || (pid == sb->peer.pid && tag == sb->peer.tag))
                return;

        /* A (new) peer: follow it from now on. */
        shbuf__peer_close(sb);
        sb->peer.pid = pid;
        sb->peer.tag = tag;
        atomic_store(&sb->peer.died, false);
        if (pid_usable(sb, o) && pid <= INT32_MAX) {
                int fd = shbuf__os_pidfd_open((pid_t) pid);
                if (fd >= 0)
                        sb->peer.pidfd = fd;
        }
        if (sb->peer.pidfd < 0)
                watcher_start(sb);
        shbuf__select_peer_changed(sb);
}

int shbuf__peer_fd(shbuf *sb) {
        /* Readable for good once the peer died: no sleep watches it then. */
        if (atomic_load(&sb->peer.died))
                return -1;
        if (sb->peer.pidfd >= 0)
                return sb->peer.pidfd;
        return sb->peer.watcher ? sb->peer.watcher->ev_r : -1;
}

/* Ask the kernel: is the other side's presence token held? */
static bool absent(shbuf *sb) {
        return sb->backend->presence(&sb->map, !sb->side) == 0;
}

bool shbuf__peer_gone(shbuf *sb, bool probe) {
        struct shbuf__side_block *o = shbuf__other(sb);

        if (atomic_load(&sb->peer.removed))
                return true;
        switch (atomic_load(&o->state)) {
        case SHBUF__SIDE_NONE:
                return false; /* not connected yet: waiting for it is fine */
        case SHBUF__SIDE_ATTACHED:
                break;
        default:
                return true;
        }
        if (atomic_load(&sb->peer.died))
                return true;
        /* A sleep watches the pidfd, or asks after a capped sleep, so a
         * death before the sleep makes it return at once: only a probe
         * pays for asking. */
        if (!probe)
                return false;
        int fd = shbuf__peer_fd(sb);
        if (fd >= 0) {
                /* Cheaper than asking the backend; a foreign peer's watcher
                 * posts here. */
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 0) > 0) {
                        atomic_store(&sb->peer.died, true);
                        return true;
                }
        }
        if (absent(sb)) {
                atomic_store(&sb->peer.died, true);
                return true;
        }
        return false;
}

int shbuf__peer_connected(shbuf *sb) {
        pthread_mutex_lock(&sb->mutex);
        shbuf__peer_refresh(sb);
        int r = atomic_load(&shbuf__other(sb)->state) == SHBUF__SIDE_ATTACHED &&
                !shbuf__peer_gone(sb, true) && sb->backend->check_alive(&sb->map) == 0 &&
                !shbuf__trapped(sb);
        pthread_mutex_unlock(&sb->mutex);
        return r;
}

/*
 * Whether the status lock's holder, known by its tag, may still hold it:
 * the handle attached on one of the two sides now. A tag that is neither
 * side's current one was left by a handle that is gone (a crashed client
 * replaced by a new one) or written by a hostile peer, and counts as dead.
 * Takes sb->mutex.
 */
bool shbuf__tag_alive(shbuf *sb, uint32_t tag) {
        const struct shbuf__control *c = sb->control;
        if (tag == sb->tag)
                return true;
        if (tag == 0 || tag != atomic_load(&c->side[!sb->side].tag) ||
            atomic_load(&c->side[!sb->side].state) != SHBUF__SIDE_ATTACHED)
                return false;
        pthread_mutex_lock(&sb->mutex);
        shbuf__peer_refresh(sb);
        bool alive = !shbuf__peer_gone(sb, true);
        pthread_mutex_unlock(&sb->mutex);
        return alive;
}
