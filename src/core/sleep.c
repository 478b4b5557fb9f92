/*
 * One sleep in this side's wake-up channel, until a wake-up, a deadline or
 * the peer's death, whichever comes first.
 *
 * A backend with timed receives (SHBUF__CAP_RECV_TIMED) is handed the
 * deadline and the peer's pidfd and does it all in one system call; for
 * one without, the helper thread (alarm.c) sends the wake-up. Where there
 * are no pidfds, sleeps last at most LIVENESS_MS, after which the caller
 * asks whether the peer is still there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "handle.h"

#define LIVENESS_MS 200

int shbuf__sleep_channel(shbuf *sb, int64_t deadline_ms) {
        int r;

        pthread_mutex_lock(&sb->mutex);
        shbuf__peer_refresh(sb);
        int peer_fd = shbuf__peer_fd(sb);
        /* Nobody to tell us of the peer's death: look again now and then. */
        if (peer_fd < 0 && atomic_load(&shbuf__other(sb)->state) == SHBUF__SIDE_ATTACHED) {
                int64_t cap = shbuf__os_now_ms() + LIVENESS_MS;
                if (deadline_ms < 0 || cap < deadline_ms)
                        deadline_ms = cap;
        }
        if (!(sb->backend->caps & SHBUF__CAP_RECV_TIMED)) {
                r = shbuf__alarm_arm(sb, deadline_ms);
                pthread_mutex_unlock(&sb->mutex);
                if (r < 0)
                        return r;
                r = sb->backend->recv(&sb->map, sb->side, -1, -1);
                pthread_mutex_lock(&sb->mutex);
                shbuf__alarm_disarm(sb);
                pthread_mutex_unlock(&sb->mutex);
                return r;
        }
        /* Our own copy: another thread may replace the handle's meanwhile. */
        int watch = peer_fd >= 0 ? fcntl(peer_fd, F_DUPFD_CLOEXEC, 0) : -1;
        pthread_mutex_unlock(&sb->mutex);
        r = sb->backend->recv(&sb->map, sb->side, shbuf__ms_left(deadline_ms), watch);
        if (watch >= 0)
                close(watch);
        return r;
}
