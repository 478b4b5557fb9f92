/*
 * An in-memory backend for testing the core without kernel IPC (SDL's dummy
 * drivers): the control and data blocks are plain memory the test owns, the
 * lock never sleeps and wake-ups go nowhere. Used by the fuzzer, where the
 * control block is whatever bytes the fuzzer made up.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>

#include "fake-backend.h"

static int fake_lock_sleep(shbuf *sb, int timeout_ms) {
        (void) sb;
        (void) timeout_ms;
        /* Nothing will ever wake us: report the wait object as gone, so a
         * lock word the fuzzer holds makes the call fail instead of hang. */
        return -EPIPE;
}

static int fake_ok(shbuf *sb) {
        (void) sb;
        return 0;
}

static int fake_send(shbuf *sb, int side) {
        (void) sb;
        (void) side;
        return 0;
}

const struct shbuf__backend shbuf__backend_fake = {
        .name = "fake",
        .id = 0x7f,
        .caps = 0,
        .check_alive = fake_ok,
        .lock_sleep = fake_lock_sleep,
        .lock_wake = fake_ok,
        .send = fake_send,
};

void fake_handle_init(shbuf *sb, struct shbuf__control *control, unsigned char *data, uint64_t size) {
        sb->backend = &shbuf__backend_fake;
        sb->control = control;
        sb->control_size = sizeof(*control);
        sb->data = data;
        sb->size = size;
        sb->side = SHBUF__CLIENT;
        sb->pid = 1234567;
        /* Unique, as the library's handles get it: per-thread bookkeeping
         * (what a thread saw, the ring its last commit left) is keyed by it,
         * and must not carry over from one input to the next. */
        static uint64_t next_id = 1;
        sb->id = next_id++;
        sb->peer_pidfd = -1;
        shbuf__wake_init(sb);
}
