/*
 * Liveness of the other side.
 *
 * The other side's pid, state and lock tag are in its side block. The core
 * follows the pid it saw there with a pidfd (os.h) where the system has
 * them: it turns readable when the peer exits, for any reason including
 * SIGKILL, so that a sleeper can include it in its sleep and learn of the
 * death at once, without polling. Without pidfds the core asks
 * kill(pid, 0) before sleeping and caps its sleeps (sleep.c).
 *
 * Everything here runs with sb->mutex held unless it says otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "handle.h"

void shbuf__peer_close(shbuf *sb) {
        if (sb->peer.pidfd >= 0)
                close(sb->peer.pidfd);
        sb->peer.pidfd = -1;
        sb->peer.pid = 0;
        sb->peer.tag = 0;
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
        int fd = pid <= INT32_MAX ? shbuf__os_pidfd_open((pid_t) pid) : -ESRCH;
        if (fd >= 0)
                sb->peer.pidfd = fd;
        else if (fd == -ESRCH)
                atomic_store(&sb->peer.died, true);
        /* Otherwise (no pidfds, EMFILE) kill(pid, 0) has to do. */
        shbuf__select_peer_changed(sb);
}

int shbuf__peer_fd(shbuf *sb) {
        return atomic_load(&sb->peer.died) ? -1 : sb->peer.pidfd;
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
        if (sb->peer.pidfd >= 0) {
                /* A sleep watches the pidfd and a death before it makes it
                 * return at once, so only a probe pays for asking. */
                if (!probe)
                        return false;
                struct pollfd p = {.fd = sb->peer.pidfd, .events = POLLIN};
                if (poll(&p, 1, 0) > 0) {
                        atomic_store(&sb->peer.died, true);
                        return true;
                }
                return false;
        }
        uint32_t pid = atomic_load(&o->pid);
        if (pid > INT32_MAX || !shbuf__os_pid_alive((pid_t) pid)) {
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
 * replaced by a new one, a recycled pid) or written by a hostile peer, and
 * counts as dead. Takes sb->mutex.
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
