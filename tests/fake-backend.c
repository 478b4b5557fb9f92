/*
 * An in-memory backend: the core's whole contract without kernel IPC, like
 * SDL's dummy drivers. A buffer is a control block and a data block on the
 * heap, found by key in a table of this process; wake-ups are counters
 * with a condition variable per side, the select source a pipe per side.
 * Both handles of a buffer live in one process, so the core (ring, status
 * view, freezing, waking, waiting, threads) can be tested without the
 * kernel's objects, and fuzzed with made-up control blocks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake-backend.h"

#define FAKE_BUFFERS 64

struct fake_buffer {
        bool used, removed;
        key_t key;
        int mode;
        struct shbuf__control *control;
        unsigned char *data;
        uint64_t data_size;
        unsigned users;
        /* Wake-ups by side: a count and a condition variable; the select
         * source is a pipe. */
        pthread_cond_t cond[2];
        unsigned wakeups[2];
        int select_pipe[2][2];
        unsigned present[2]; /* presence tokens held, by side */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_buffer table[FAKE_BUFFERS];

static struct fake_buffer *B(struct shbuf__map *m) {
        return m->priv;
}

static struct fake_buffer *find(key_t key) {
        for (int i = 0; i < FAKE_BUFFERS; i++)
                if (table[i].used && !table[i].removed && table[i].key == key)
                        return &table[i];
        return NULL;
}

static void release(struct fake_buffer *b) {
        if (--b->users > 0 || !b->removed)
                return;
        free(b->control);
        free(b->data);
        for (int side = 0; side < 2; side++) {
                pthread_cond_destroy(&b->cond[side]);
                for (int i = 0; i < 2; i++)
                        if (b->select_pipe[side][i] >= 0)
                                close(b->select_pipe[side][i]);
        }
        memset(b, 0, sizeof(*b));
}

static int fake_create(struct shbuf__map *m, key_t key, int mode) {
        int r = 0;
        pthread_mutex_lock(&table_lock);
        struct fake_buffer *b = NULL;
        for (int i = 0; i < FAKE_BUFFERS && !b; i++)
                if (!table[i].used)
                        b = &table[i];
        if (find(key))
                r = -EEXIST;
        else if (!b)
                r = -ENOSPC;
        if (r == 0) {
                b->control = aligned_alloc(SHBUF__CACHELINE, SHBUF__CONTROL_SIZE);
                b->data = calloc(1, m->data_size);
                if (!b->control || !b->data) {
                        free(b->control);
                        free(b->data);
                        b->control = NULL;
                        b->data = NULL;
                        r = -ENOMEM;
                }
        }
        if (r == 0) {
                memset(b->control, 0, SHBUF__CONTROL_SIZE);
                b->used = true;
                b->key = key;
                b->mode = mode;
                b->data_size = m->data_size;
                b->users = 1;
                for (int side = 0; side < 2; side++) {
                        pthread_cond_init(&b->cond[side], NULL);
                        b->select_pipe[side][0] = b->select_pipe[side][1] = -1;
                }
                m->priv = b;
                m->key = key;
                m->control = b->control;
                m->control_size = SHBUF__CONTROL_SIZE;
                m->data = b->data;
        }
        pthread_mutex_unlock(&table_lock);
        return r;
}

static int fake_attach_control(struct shbuf__map *m, key_t key) {
        pthread_mutex_lock(&table_lock);
        struct fake_buffer *b = find(key);
        if (b) {
                b->users++;
                m->priv = b;
                m->key = key;
                m->control = b->control;
                m->control_size = SHBUF__CONTROL_SIZE;
        }
        pthread_mutex_unlock(&table_lock);
        return b ? 0 : -ENOENT;
}

static int fake_attach_rest(struct shbuf__map *m) {
        if (B(m)->data_size != m->data_size)
                return -EPROTO;
        m->data = B(m)->data;
        return 0;
}

static void fake_detach(struct shbuf__map *m, bool remove) {
        struct fake_buffer *b = B(m);
        if (!b)
                return;
        pthread_mutex_lock(&table_lock);
        if (remove) {
                b->removed = true;
                for (int side = 0; side < 2; side++)
                        pthread_cond_broadcast(&b->cond[side]);
        }
        release(b);
        pthread_mutex_unlock(&table_lock);
        m->priv = NULL;
        m->control = NULL;
        m->data = NULL;
}

static int fake_set_mode(struct shbuf__map *m, int mode) {
        B(m)->mode = mode;
        return 0;
}

static int fake_get_mode(struct shbuf__map *m) {
        return B(m)->mode;
}

static int fake_check_alive(struct shbuf__map *m) {
        return B(m)->removed ? -EPIPE : 0;
}

/* Both sides live in this process: a side is present while a handle of
 * it holds its token. */
static int fake_hold_presence(struct shbuf__map *m, int side) {
        pthread_mutex_lock(&table_lock);
        B(m)->present[side]++;
        pthread_mutex_unlock(&table_lock);
        return 0;
}

static void fake_drop_presence(struct shbuf__map *m, int side) {
        pthread_mutex_lock(&table_lock);
        if (B(m)->present[side] > 0)
                B(m)->present[side]--;
        pthread_mutex_unlock(&table_lock);
}

static int fake_presence(struct shbuf__map *m, int side) {
        pthread_mutex_lock(&table_lock);
        int r = B(m)->present[side] > 0;
        pthread_mutex_unlock(&table_lock);
        return r;
}

static int fake_await_absence(struct shbuf__map *m, int side) {
        /* A cancellation point while the side is present. */
        while (fake_presence(m, side) > 0)
                usleep(1000);
        return 0;
}

static int fake_send(struct shbuf__map *m, int side, bool via_select) {
        struct fake_buffer *b = B(m);
        pthread_mutex_lock(&table_lock);
        if (via_select && b->select_pipe[side][1] >= 0)
                (void) !write(b->select_pipe[side][1], "w", 1);
        else {
                b->wakeups[side]++;
                pthread_cond_broadcast(&b->cond[side]);
        }
        pthread_mutex_unlock(&table_lock);
        return 0;
}

static int fake_recv(struct shbuf__map *m, int side, int timeout_ms, int watch_fd) {
        struct fake_buffer *b = B(m);
        struct timespec until;
        int r = 0;
        (void) watch_fd; /* the peer is a thread of ours: it does not die alone */
        if (timeout_ms >= 0) {
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += timeout_ms / 1000;
                until.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
                if (until.tv_nsec >= 1000000000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000;
                }
        }
        pthread_mutex_lock(&table_lock);
        while (b->wakeups[side] == 0 && !b->removed && r == 0)
                r = timeout_ms < 0 ? pthread_cond_wait(&b->cond[side], &table_lock)
                                   : pthread_cond_timedwait(&b->cond[side], &table_lock, &until);
        int got = b->wakeups[side] > 0;
        if (got)
                b->wakeups[side]--;
        bool removed = b->removed;
        pthread_mutex_unlock(&table_lock);
        return got ? 1 : removed ? -EPIPE : 0;
}

static int fake_drain(struct shbuf__map *m, int side) {
        pthread_mutex_lock(&table_lock);
        int n = (int) B(m)->wakeups[side];
        B(m)->wakeups[side] = 0;
        pthread_mutex_unlock(&table_lock);
        return n;
}

static int fake_open_select(struct shbuf__map *m, int side, int mode) {
        struct fake_buffer *b = B(m);
        (void) mode;
        pthread_mutex_lock(&table_lock);
        int r = pipe2(b->select_pipe[side], O_CLOEXEC | O_NONBLOCK) < 0 ? -errno : b->select_pipe[side][0];
        pthread_mutex_unlock(&table_lock);
        return r;
}

static int fake_drain_select(struct shbuf__map *m, int side) {
        char buf[64];
        ssize_t got;
        int n = 0;
        while ((got = read(B(m)->select_pipe[side][0], buf, sizeof(buf))) > 0)
                n += (int) got;
        return n;
}

static void fake_close_select(struct shbuf__map *m, int side) {
        struct fake_buffer *b = B(m);
        pthread_mutex_lock(&table_lock);
        for (int i = 0; i < 2; i++) {
                if (b->select_pipe[side][i] >= 0)
                        close(b->select_pipe[side][i]);
                b->select_pipe[side][i] = -1;
        }
        pthread_mutex_unlock(&table_lock);
}

static int fake_list(int (*fn)(const struct shbuf__found *f, void *userdata), void *userdata) {
        (void) fn;
        (void) userdata;
        return 0;
}

static int fake_remove_key(key_t key) {
        (void) key;
        return -ENOENT;
}

const struct shbuf__backend shbuf__backend_fake = {
        .name = "fake",
        .id = SHBUF__BACKEND_FAKE,
        .caps = SHBUF__CAP_RECV_TIMED,
        .create = fake_create,
        .attach_control = fake_attach_control,
        .attach_rest = fake_attach_rest,
        .detach = fake_detach,
        .set_mode = fake_set_mode,
        .get_mode = fake_get_mode,
        .check_alive = fake_check_alive,
        .hold_presence = fake_hold_presence,
        .drop_presence = fake_drop_presence,
        .presence = fake_presence,
        .await_absence = fake_await_absence,
        .send = fake_send,
        .recv = fake_recv,
        .drain = fake_drain,
        .open_select = fake_open_select,
        .drain_select = fake_drain_select,
        .close_select = fake_close_select,
        .list = fake_list,
        .remove_key = fake_remove_key,
};
