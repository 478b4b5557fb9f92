/*
 * The status helpers: every one takes the status lock, loads and validates
 * the status block into a ring snapshot, applies ring arithmetic, stores the
 * result and releases the lock. Pointers handed out are computed from the
 * validated snapshot, never from shared memory directly, so a hostile peer
 * cannot steer them outside the data block.
 *
 * Copies (shbuf_read/shbuf_write) run outside the lock: only this side
 * consumes (or produces), so what it saw as readable (or free) can only grow
 * while it copies.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "handle.h"

/*
 * Lock, load a validated snapshot. On error the lock is not held. look says
 * which side of the ring the caller works on, for the wake-up policy.
 */
static int begin(shbuf *sb, struct shbuf__ring *ret, enum shbuf__look look) {
        int r = shbuf__lock(sb);
        if (r < 0)
                return r;
        r = shbuf__ring_load(ret, &sb->control->status, sb->size);
        if (r < 0) {
                shbuf__unlock(sb);
                return r;
        }
        /* Whatever the peer committed up to here, this thread has now seen. */
        shbuf__saw(sb, look, shbuf__ring_free(ret));
        return 0;
}

int shbuf__status_lock(shbuf *sb) {
        struct shbuf__ring ring;
        /* The lock is handed to the program only over a valid status. */
        return begin(sb, &ring, SHBUF__LOOK_OTHER);
}

int shbuf__get_read(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len) {
        struct shbuf__ring ring;
        uint64_t off, len;
        int r = begin(sb, &ring, SHBUF__LOOK_READ);
        if (r < 0)
                return r;
        shbuf__unlock(sb);
        shbuf__ring_readable(&ring, &off, &len);
        *ret_ptr = sb->data + off;
        *ret_len = len;
        return 0;
}

int shbuf__get_write(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len) {
        struct shbuf__ring ring;
        uint64_t off, len;
        int r = begin(sb, &ring, SHBUF__LOOK_WRITE);
        if (r < 0)
                return r;
        shbuf__unlock(sb);
        shbuf__ring_writable(&ring, &off, &len);
        *ret_ptr = sb->data + off;
        *ret_len = len;
        return 0;
}

/* Apply one commit; returns 1 committed, 0 ignored, -errno. */
static int commit(shbuf *sb, uint64_t n, int (*op)(struct shbuf__ring *, uint64_t), enum shbuf__look look) {
        struct shbuf__ring ring;
        int r = begin(sb, &ring, look);
        if (r < 0)
                return r;
        r = op(&ring, n);
        if (r >= 0)
                shbuf__ring_store(&ring, &sb->control->status);
        shbuf__unlock(sb);
        if (r >= 0)
                shbuf__after_commit(sb, look == SHBUF__LOOK_READ, shbuf__ring_free(&ring));
        return r;
}

int shbuf__commit_read(shbuf *sb, uint64_t n) {
        return commit(sb, n, shbuf__ring_consume, SHBUF__LOOK_READ);
}

int shbuf__commit_write(shbuf *sb, uint64_t n) {
        return commit(sb, n, shbuf__ring_produce, SHBUF__LOOK_WRITE);
}

long shbuf__read(shbuf *sb, unsigned char *buf, uint64_t n) {
        struct shbuf__ring ring;
        uint64_t off, len, done = 0;
        int r = begin(sb, &ring, SHBUF__LOOK_READ);
        if (r < 0)
                return r;
        shbuf__unlock(sb);

        /* Counts are returned as long: never move more than fits. */
        if (n > LONG_MAX)
                n = LONG_MAX;
        if (n > ring.length)
                n = ring.length;
        while (done < n) {
                /* At most two pieces: up to the end of the ring, then from 0. */
                shbuf__ring_readable(&ring, &off, &len);
                if (len > n - done)
                        len = n - done;
                memcpy(buf + done, sb->data + off, len);
                ring.read_idx = (off + len) % ring.size;
                ring.length -= len;
                done += len;
        }
        if (done == 0)
                return 0;
        r = shbuf__commit_read(sb, done);
        if (r < 0)
                return r;
        return r == 0 ? 0 : (long) done;
}

long shbuf__write(shbuf *sb, const unsigned char *buf, uint64_t n) {
        struct shbuf__ring ring;
        uint64_t off, len, done = 0;
        int r = begin(sb, &ring, SHBUF__LOOK_WRITE);
        if (r < 0)
                return r;
        shbuf__unlock(sb);

        if (n > LONG_MAX)
                n = LONG_MAX;
        if (n > shbuf__ring_free(&ring))
                n = shbuf__ring_free(&ring);
        while (done < n) {
                shbuf__ring_writable(&ring, &off, &len);
                if (len > n - done)
                        len = n - done;
                memcpy(sb->data + off, buf + done, len);
                ring.length += len;
                done += len;
        }
        if (done == 0)
                return 0;
        r = shbuf__commit_write(sb, done);
        if (r < 0)
                return r;
        return r == 0 ? 0 : (long) done;
}

static int predicate(shbuf *sb, bool full) {
        struct shbuf__ring ring;
        int r = begin(sb, &ring, full ? SHBUF__LOOK_WRITE : SHBUF__LOOK_READ);
        if (r < 0)
                return r;
        shbuf__unlock(sb);
        return full ? ring.length == ring.size : ring.length == 0;
}

int shbuf__is_empty(shbuf *sb) {
        return predicate(sb, false);
}

int shbuf__is_full(shbuf *sb) {
        return predicate(sb, true);
}

int shbuf__reset(shbuf *sb, bool zero) {
        struct shbuf__ring ring;
        int r = begin(sb, &ring, SHBUF__LOOK_OTHER);
        if (r < 0)
                return r;
        shbuf__ring_reset(&ring);
        shbuf__ring_store(&ring, &sb->control->status);
        /* Zeroing under the lock keeps a writer from filling the ring while
         * it is being cleared. */
        if (zero)
                memset(sb->data, 0, sb->size);
        shbuf__unlock(sb);
        shbuf__after_commit(sb, true, ring.size);
        return 0;
}
