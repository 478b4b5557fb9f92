/*
 * What is news to a waiting thread.
 *
 * shbuf_wait() must return when the peer committed or notified after the
 * calling thread last looked at the ring, or a commit made between a look
 * and the wait would be slept through. What "looked" means depends on the
 * direction: a reader waits for the writer's commits, a writer for the
 * reader's, and shbuf_is_empty()/shbuf_is_full() look at both. So each
 * direction of a handle remembers the other role's commit count its last
 * look saw (transfer.c sets it whenever it loads the other position), and
 * each thread remembers which direction of which handle it looked at last.
 * A wait compares the counts now with the ones its direction saw, and the
 * side's event counter (notifications that are not commits) with the one
 * its direction saw. Every "seen" is kept per direction: a thread looking
 * at one direction must never take the news another one waits for.
 *
 * Keeping the direction per thread lets a handle have a reading and a
 * writing thread at once; keeping the count per direction lets two threads
 * share a direction: one that took the data another waits for leaves it
 * nothing to wake up for, which is right.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "handle.h"

#define LAST_LOOKS 4

struct last_look {
        uint64_t handle_id;
        int dir;
};

/* Most recent first; a thread juggling more handles forgets the oldest,
 * and its next wait on that one returns at once, spuriously. */
static SHBUF__THREAD_LOCAL struct last_look last_looks[LAST_LOOKS];

static void remember(shbuf *sb, int d) {
        if (last_looks[0].handle_id == sb->id && last_looks[0].dir == d)
                return;
        unsigned i = 0;
        while (i < LAST_LOOKS - 1 && last_looks[i].handle_id != sb->id)
                i++;
        for (; i > 0; i--)
                last_looks[i] = last_looks[i - 1];
        last_looks[0] = (struct last_look){.handle_id = sb->id, .dir = d};
}

/* The side's event counter as a look at d (or at both) last saw it. */
static _Atomic uint32_t *seen_events_of(shbuf *sb, int d) {
        return d == SHBUF__BOTH ? &sb->both_seen_events : &sb->dir[d].seen_events;
}

static void saw_events(shbuf *sb, int d) {
        atomic_store_explicit(seen_events_of(sb, d),
                              atomic_load_explicit(&shbuf__self(sb)->events, memory_order_acquire),
                              memory_order_relaxed);
}

void shbuf__note_look(shbuf *sb, enum shbuf__dir d, uint64_t peer_count) {
        atomic_store_explicit(&sb->dir[d].seen_count, peer_count, memory_order_relaxed);
        saw_events(sb, d);
        remember(sb, d);
}

/* A look at both has counts of its own: it must not make a direction's
 * waiter believe it saw what only this look saw. */
void shbuf__note_both(shbuf *sb, uint64_t head_count, uint64_t tail_count) {
        atomic_store_explicit(&sb->both_seen[SHBUF__READ], head_count, memory_order_relaxed);
        atomic_store_explicit(&sb->both_seen[SHBUF__WRITE], tail_count, memory_order_relaxed);
        saw_events(sb, SHBUF__BOTH);
        remember(sb, SHBUF__BOTH);
}

int shbuf__last_dir(shbuf *sb) {
        for (unsigned i = 0; i < LAST_LOOKS; i++)
                if (last_looks[i].handle_id == sb->id)
                        return last_looks[i].dir;
        return -1;
}

static uint64_t peer_count_now(shbuf *sb, int d) {
        return atomic_load_explicit(&shbuf__peer_role(sb, d)->count, memory_order_acquire);
}

/* The count direction d's news is measured against, by a look at d or at both. */
static _Atomic uint64_t *seen_of(shbuf *sb, int d, bool both) {
        return both ? &sb->both_seen[d] : &sb->dir[d].seen_count;
}

static bool moved(shbuf *sb, int d, bool both) {
        return peer_count_now(sb, d) != atomic_load_explicit(seen_of(sb, d, both), memory_order_relaxed);
}

bool shbuf__news(shbuf *sb, int d) {
        if (d < 0)
                return true;
        if (atomic_load_explicit(&shbuf__self(sb)->events, memory_order_acquire) !=
            atomic_load_explicit(seen_events_of(sb, d), memory_order_relaxed))
                return true;
        if (d == SHBUF__BOTH)
                return moved(sb, SHBUF__READ, true) || moved(sb, SHBUF__WRITE, true);
        return moved(sb, d, false);
}

/* A wait returns the news to its caller, whose next look must then see
 * at least as much: its direction drops what it cached. */
void shbuf__take_news(shbuf *sb, int d) {
        saw_events(sb, d);
        for (int i = 0; i < 2; i++)
                if (d == i || d == SHBUF__BOTH) {
                        atomic_store(seen_of(sb, i, d == SHBUF__BOTH), peer_count_now(sb, i));
                        atomic_store_explicit(&sb->dir[i].refresh, true, memory_order_release);
                }
}
