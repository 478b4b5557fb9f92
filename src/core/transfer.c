/*
 * The data path: looks, copies and commits, without a lock.
 *
 * The writer owns the head, the reader the tail (layout.h). A look reads
 * its own position and the other one; a commit stores its own position
 * and commit count, plain stores to its own cache line, and then looks at
 * the peer's wait word to see whether it sleeps (wake.c). That is all the
 * synchronisation a transfer needs: the other role's position only moves
 * away from us (more data for a reader, more room for a writer), so what a
 * look saw stays true until our commit, and we need not even re-read it
 * while what we saw last time still covers what is asked (a cached copy,
 * dropped when a status-lock holder moves the ring to a new epoch).
 *
 * Every call of a direction first sets its busy mark and then checks that
 * no status-lock holder froze the ring (view.c); while one has, copies and
 * looks find nothing to do, and a zero-copy commit waits (bounded) for the
 * thaw. Threads of this process that use one direction of a handle are
 * serialised (serial.c), so each shbuf_write() lands whole.
 *
 * Everything read from shared memory is validated before it is used:
 * positions outside [0, 2S), or a length over S, make the call fail with
 * EPROTO, and pointers are computed from validated values only, so a
 * hostile peer cannot steer them outside the data block.
 *
 * A peer that truncated an object under our mappings makes our next access
 * fault; the SIGBUS trap (memtrap.c) replaces the mapping with zeros and
 * marks the handle. Each call looks at that mark once, after its last
 * access and before its commit, so that zeros are never handed on as data
 * nor committed: the call fails with EPIPE.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <string.h>

#include "handle.h"

/* What a look found on one direction. */
struct look {
        uint64_t own;    /* this role's position */
        uint64_t avail;  /* data to read, or room to write */
        uint64_t off;    /* the offset of own in the ring */
        uint64_t contig; /* how much of avail lies in one piece from off */
        bool frozen;     /* a status-lock holder froze the ring: avail is 0 */
};

/* What a look needs: a span (get_*_pointer()), or at least n bytes
 * (copies and commits). The cached peer position serves n bytes while it
 * shows that many, and a span only when it reaches the end of the ring,
 * where a fresh look would stop too: a span is what the program sees, and
 * one shorter than what is there would make a program that polls for more
 * wait for ever. */
#define SPAN UINT64_MAX

static uint64_t avail_of(shbuf *sb, enum shbuf__dir d, uint64_t own, uint64_t peer) {
        return d == SHBUF__READ ? shbuf__pos_distance(sb->size, own, peer)
                                : sb->size - shbuf__pos_distance(sb->size, peer, own);
}

static void set_mark(shbuf *sb, enum shbuf__dir d, uint32_t flags) {
        struct shbuf__dirstate *ds = &sb->dir[d];
        uint32_t w = ds->mark | flags | (ds->transfer ? SHBUF__MARK_TRANSFER : 0);
        atomic_store_explicit(&sb->control->mark[d].word, w, memory_order_release);
}

/* Start a call of direction d, with its serial lock held. */
static void enter(shbuf *sb, enum shbuf__dir d) {
        struct shbuf__dirstate *ds = &sb->dir[d];
        bool biased = shbuf__serial_enter(&ds->serial);
        ds->biased = biased;
        atomic_store_explicit(&ds->busy, true, memory_order_relaxed);
        /* Who is at work, and where: the CPU tells a waiter whether
         * spinning for us can help (spin.c). A hint, asked for now and
         * then: a thread moves between CPUs far less often than it calls. */
        if (ds->calls++ % 32 == 0) {
                int cpu = shbuf__os_cpu();
                ds->mark = (sb->side == SHBUF__CLIENT ? SHBUF__MARK_SIDE : 0) |
                           (cpu >= 0 ? (uint32_t) (cpu + 1) << SHBUF__MARK_CPU_SHIFT : 0);
        }
        set_mark(sb, d, SHBUF__MARK_BUSY);
        /* The mark, then the look at the state (view.c). */
        shbuf__light_fence(sb);
}

static void leave(shbuf *sb, enum shbuf__dir d) {
        struct shbuf__dirstate *ds = &sb->dir[d];
        set_mark(sb, d, 0);
        atomic_store_explicit(&ds->busy, false, memory_order_relaxed);
        shbuf__serial_leave(&ds->serial, ds->biased);
}

/* Whether own and peer, positions of direction d, form a possible ring. */
static bool possible(shbuf *sb, enum shbuf__dir d, uint64_t own, uint64_t peer) {
        return d == SHBUF__READ ? shbuf__pos_check(sb->size, peer, own) == 0
                                : shbuf__pos_check(sb->size, own, peer) == 0;
}

/*
 * The ring is frozen. By a live holder, a look finds nothing to do until it
 * thaws; by one that died, or by a scribbling peer, it is thawed now (by
 * taking the lock, if that needs no wait: we are busy, and a new holder
 * waits for that), or nobody ever would.
 */
static void thaw_if_orphaned(shbuf *sb) {
        uint32_t tag = atomic_load(&sb->control->lock.owner) & SHBUF__LOCK_TAG_MASK;
        if (tag == sb->tag || (tag != 0 && shbuf__tag_alive(sb, tag)))
                return;
        shbuf__thaw_orphaned(sb);
}

/*
 * Look at direction d, within a call. need: the bytes the caller wants at
 * least (the cached peer position is used if it shows as many); SPAN for
 * any. Returns 0 or -EPROTO.
 */
static int look(shbuf *sb, enum shbuf__dir d, uint64_t need, struct look *ret) {
        struct shbuf__dirstate *ds = &sb->dir[d];
        struct shbuf__role *own = shbuf__own_role(sb, d), *peer = shbuf__peer_role(sb, d);
        uint32_t st = atomic_load_explicit(&sb->control->lock.state, memory_order_acquire);

        if (st & SHBUF__STATE_FROZEN) {
                thaw_if_orphaned(sb);
                /* Finding nothing to do, the caller may sleep: ask to hear
                 * of the thaw, unless it came meanwhile (view.c). */
                st = atomic_fetch_or(&sb->control->lock.state, SHBUF__STATE_THAW(sb->side));
        }
        ret->frozen = st & SHBUF__STATE_FROZEN;
        if ((st & ~SHBUF__STATE_FLAGS) != ds->epoch) {
                ds->epoch = st & ~SHBUF__STATE_FLAGS;
                ds->cached = false;
        }
        /* Our own position, from shared memory: only we write it, so the
         * line is usually in our cache, and reading it lets a direction
         * change hands between the processes. */
        ret->own = atomic_load_explicit(&own->pos, memory_order_relaxed);
        if (ret->own >= 2 * sb->size)
                return -EPROTO;
        ret->off = shbuf__pos_offset(sb->size, ret->own);
        if (ret->frozen) {
                ret->avail = ret->contig = 0;
                return 0;
        }
        uint64_t p = ds->peer_pos;
        if (atomic_load_explicit(&ds->refresh, memory_order_relaxed)) {
                atomic_store_explicit(&ds->refresh, false, memory_order_relaxed);
                ds->cached = false;
        }
        bool reuse = ds->cached && possible(sb, d, ret->own, p) &&
                     (need == SPAN ? avail_of(sb, d, ret->own, p) >= sb->size - ret->off
                                   : avail_of(sb, d, ret->own, p) >= need);
        if (!reuse) {
                /* The count first: a wait compares it, and it must not be
                 * newer than the position we act on. */
                ds->peer_count = atomic_load_explicit(&peer->count, memory_order_acquire);
                p = atomic_load_explicit(&peer->pos, memory_order_acquire);
                ds->peer_pos = p;
                ds->cached = true;
                shbuf__note_look(sb, d, ds->peer_count);
        }
        if (!possible(sb, d, ret->own, p)) {
                ds->cached = false;
                return -EPROTO;
        }
        ret->avail = avail_of(sb, d, ret->own, p);
        ret->contig = sb->size - ret->off < ret->avail ? sb->size - ret->off : ret->avail;
        if (d == SHBUF__WRITE)
                atomic_store_explicit(&ds->space_low, ret->avail < sb->size / 2, memory_order_relaxed);
        return 0;
}

/*
 * Commit n bytes of direction d after look lk. Returns 1 committed, 0
 * dropped by the one-shot ignore flag, or -EINVAL when n is more than
 * there is (nothing changes).
 */
static int commit(shbuf *sb, enum shbuf__dir d, const struct look *lk, uint64_t n) {
        struct shbuf__role *own = shbuf__own_role(sb, d);

        sb->dir[d].transfer = false;
        if (atomic_load_explicit(&own->ignore, memory_order_relaxed)) {
                atomic_store_explicit(&own->ignore, 0, memory_order_relaxed);
                return 0;
        }
        if (n > lk->avail)
                return -EINVAL;
        /* The data (and, for a writer, the streaming stores' fence) before
         * the position; the position before the count, which waiters look
         * at. */
        atomic_store_explicit(&own->pos, shbuf__pos_advance(sb->size, lk->own, n), memory_order_release);
        atomic_store_explicit(&own->count, atomic_load_explicit(&own->count, memory_order_relaxed) + 1,
                              memory_order_release);
        if (d == SHBUF__READ) {
                /* The backlog's measure, until it reaches the ring size. */
                uint64_t consumed = atomic_load_explicit(&own->consumed, memory_order_relaxed);
                if (consumed < sb->size)
                        atomic_store_explicit(&own->consumed, sb->size - consumed > n ? consumed + n : sb->size,
                                              memory_order_relaxed);
        }
        return 1;
}

/* After a commit: tell the peer. r is commit()'s result. */
static void tell(shbuf *sb, enum shbuf__dir d, const struct look *lk, uint64_t n, int r) {
        if (r == 0) {
                /* A dropped commit changes no count: announce it, to the
                 * peer and to ourselves. The call returns what a full (or
                 * empty) ring returns, and a program that waits then must
                 * not wait for a peer that has nothing to do either. */
                shbuf__announce_side(sb, !sb->side);
                shbuf__announce_side(sb, sb->side);
                return;
        }
        uint64_t free_after = d == SHBUF__READ ? sb->size - (lk->avail - n) : lk->avail - n;
        shbuf__wake_after_commit(sb, d, free_after);
}

/*
 * Microseconds a look that found the ring frozen waits for the thaw before
 * it reports nothing to do: a status edit (shbuf_status_lock() to
 * shbuf_status_unlock(), a reset) takes tens of microseconds, more when
 * its holder is preempted, and a copy should not come back empty for one.
 * A longer edit, or a holder that was stopped, makes it report nothing: it
 * never blocks for longer.
 */
#define THAW_WAIT_US 2000

/* Called outside the call: the holder waits for our busy mark to clear. */
static void await_thaw(shbuf *sb) {
        const _Atomic uint32_t *state = &sb->control->lock.state;
        int64_t end = shbuf__os_now_us() + THAW_WAIT_US;
        for (unsigned i = 0; atomic_load_explicit(state, memory_order_acquire) & SHBUF__STATE_FROZEN; i++) {
                if (i % 16 == 15 && shbuf__os_now_us() >= end)
                        return;
                sched_yield();
        }
}

/* A look, and if the ring was frozen another one after the thaw. */
static int look_thawed(shbuf *sb, enum shbuf__dir d, uint64_t need, struct look *ret) {
        int r = look(sb, d, need, ret);
        if (r < 0 || !ret->frozen)
                return r;
        leave(sb, d);
        await_thaw(sb);
        enter(sb, d);
        return look(sb, d, need, ret);
}

/* shbuf_get_read_pointer() and shbuf_get_write_pointer(). */
static int get_span(shbuf *sb, enum shbuf__dir d, unsigned char **ret_ptr, uint64_t *ret_len) {
        struct look lk;
        int r;

        enter(sb, d);
        r = look_thawed(sb, d, SPAN, &lk);
        /* A program that waits through the select descriptor sleeps in its
         * own poll(), out of the wait's reach: the look spins instead, for
         * a transfer of the peer's that is under way (spin.c). */
        if (r == 0 && lk.avail == 0 && !lk.frozen && shbuf__spin_after_look(sb, d))
                r = look(sb, d, SPAN, &lk);
        /* A look that met the trap saw zeros, maybe an impossible ring. */
        if (shbuf__trapped(sb))
                r = -EPIPE;
        if (r == 0) {
                sb->dir[d].transfer = lk.contig > 0;
                *ret_ptr = sb->data + lk.off;
                *ret_len = lk.contig;
        }
        leave(sb, d);
        return r;
}

int shbuf__get_read(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len) {
        return get_span(sb, SHBUF__READ, ret_ptr, ret_len);
}

int shbuf__get_write(shbuf *sb, unsigned char **ret_ptr, uint64_t *ret_len) {
        return get_span(sb, SHBUF__WRITE, ret_ptr, ret_len);
}

/* Rounds a commit waits for a thaw before it gives up: only a peer that
 * keeps writing FROZEN into the state word needs more than one. */
#define THAW_ROUNDS 8

/* shbuf_inc_read_pointer() and shbuf_inc_write_pointer(): 1, 0, -errno. */
static int commit_call(shbuf *sb, enum shbuf__dir d, uint64_t n) {
        struct look lk;
        int r;

        for (int round = 0;; round++) {
                enter(sb, d);
                r = look(sb, d, n, &lk);
                if (r < 0 || !lk.frozen)
                        break;
                leave(sb, d);
                if (round == THAW_ROUNDS)
                        return -EPROTO;
                /* A status edit is under way: the commit applies to the
                 * ring as the holder leaves it. */
                r = shbuf__wait_unfrozen(sb);
                if (r < 0)
                        return r;
        }
        /* The program's own accesses to the span count too. */
        if (shbuf__trapped(sb))
                r = -EPIPE;
        if (r == 0)
                r = commit(sb, d, &lk, n);
        leave(sb, d);
        if (r >= 0)
                tell(sb, d, &lk, n, r);
        return r;
}

int shbuf__commit_read(shbuf *sb, uint64_t n) {
        return commit_call(sb, SHBUF__READ, n);
}

int shbuf__commit_write(shbuf *sb, uint64_t n) {
        return commit_call(sb, SHBUF__WRITE, n);
}

/* Copy n <= lk->avail bytes between buf and the ring, in at most two pieces. */
static void copy_pieces(shbuf *sb, enum shbuf__dir d, const struct look *lk, unsigned char *buf, uint64_t n) {
        uint64_t first = n < lk->contig ? n : lk->contig;
        if (d == SHBUF__READ) {
                memcpy(buf, sb->data + lk->off, first);
                memcpy(buf + first, sb->data, n - first);
        } else {
                shbuf__copy_in(sb, sb->data + lk->off, buf, first);
                if (n > first)
                        shbuf__copy_in(sb, sb->data, buf + first, n - first);
        }
}

/* shbuf_read() and shbuf_write(): the count moved, 0, or -errno. */
static long transfer(shbuf *sb, enum shbuf__dir d, unsigned char *buf, uint64_t n) {
        struct look lk;
        int r;

        /* Counts are returned as long: never move more than fits. */
        if (n > LONG_MAX)
                n = LONG_MAX;
        enter(sb, d);
        r = look_thawed(sb, d, n, &lk);
        if (r == 0 && n > 0 && lk.avail == 0 && !lk.frozen && shbuf__spin_after_look(sb, d))
                r = look(sb, d, n, &lk);
        bool moving = r == 0 && lk.avail > 0 && n > 0;
        if (moving) {
                if (n > lk.avail)
                        n = lk.avail;
                /* A commit the one-shot ignore flag drops copies nothing: a
                 * writer's bytes would land on the backlog the ring still
                 * says it keeps. The flag cannot change while the call is
                 * under way (view.c). */
                if (!atomic_load_explicit(&shbuf__own_role(sb, d)->ignore, memory_order_relaxed))
                        copy_pieces(sb, d, &lk, buf, n);
        }
        /* One look at the trap covers the look at the ring and the copy. */
        if (shbuf__trapped(sb))
                r = -EPIPE;
        if (r < 0 || !moving) {
                leave(sb, d);
                return r;
        }
        r = commit(sb, d, &lk, n);
        leave(sb, d);
        tell(sb, d, &lk, n, r);
        return r == 0 ? 0 : (long) n;
}

long shbuf__read(shbuf *sb, unsigned char *buf, uint64_t n) {
        return transfer(sb, SHBUF__READ, buf, n);
}

long shbuf__write(shbuf *sb, const unsigned char *buf, uint64_t n) {
        /* transfer() only reads from buf when writing. */
        return transfer(sb, SHBUF__WRITE, (unsigned char *) buf, n);
}

/* shbuf_is_empty() and shbuf_is_full(): a snapshot, no transfer, but a
 * look all the same: a wait that follows returns when either role moved.
 * Inline: with the look at the trap, the compiler would no longer copy it
 * into both callers by itself, and it costs them a call. */
static inline int predicate(shbuf *sb, bool full) {
        const struct shbuf__control *c = sb->control;
        uint64_t head_count = atomic_load_explicit(&c->head.count, memory_order_acquire);
        uint64_t tail_count = atomic_load_explicit(&c->tail.count, memory_order_acquire);
        uint64_t tail = atomic_load_explicit(&c->tail.pos, memory_order_acquire);
        uint64_t head = atomic_load_explicit(&c->head.pos, memory_order_acquire);
        if (shbuf__trapped(sb))
                return -EPIPE;
        if (shbuf__pos_check(sb->size, head, tail) < 0)
                return -EPROTO;
        shbuf__note_both(sb, head_count, tail_count);
        uint64_t length = shbuf__pos_distance(sb->size, tail, head);
        return full ? length == sb->size : length == 0;
}

int shbuf__is_empty(shbuf *sb) {
        return predicate(sb, false);
}

int shbuf__is_full(shbuf *sb) {
        return predicate(sb, true);
}
