/*
 * The shared control block: what both processes map, byte for byte.
 *
 * Only fixed-width fields and offsets live here, never pointers, so the block
 * can be mapped at any address. The public shbuf_status holds unsigned longs,
 * so its size depends on the word size; the header records the word size and
 * an attach by a process with another word size is refused (EPROTO).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_LAYOUT_H
#define SHBUF_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "libshbuf/shbuf.h"

#define SHBUF__MAGIC UINT32_C(0x46424853) /* "SHBF" in little-endian memory */
#define SHBUF__LAYOUT_VERSION 2
#define SHBUF__CACHELINE 64
#define SHBUF__BACKEND_AREA 96

enum shbuf__side { SHBUF__PROVIDER = 0, SHBUF__CLIENT = 1 };

/* Values of shbuf__peer.state. */
enum shbuf__peer_state {
        SHBUF__PEER_NONE = 0,     /* never attached */
        SHBUF__PEER_ATTACHED = 1, /* attached, pid valid */
        SHBUF__PEER_DETACHED = 2, /* left through shbuf_free() */
};

/*
 * One side of the buffer. Each side has its own cache line, so that the
 * waiting flag a sleeper sets does not bounce the other side's line.
 */
struct shbuf__peer {
        alignas(SHBUF__CACHELINE) _Atomic uint32_t pid;
        _Atomic uint32_t state;
        /* Set by this side before it sleeps; the other side clears it when it
         * sends the wake-up, so one sleep costs at most one message. */
        _Atomic uint32_t waiting;
        /* Bumped by the other side when it notifies without committing
         * (shbuf_notify(), reset, attach, detach). Commits show in the
         * status block's counters instead, so that a commit writes no line
         * but the lock's. */
        _Atomic uint32_t events;
        /* 1 while this side sleeps for space: wake it only once half the
         * ring is free (hysteresis), not after every chunk the reader takes. */
        _Atomic uint32_t wants_space;
        /* Bumped each time this side makes a new wake-up FIFO, so that the
         * other side knows to reopen it. */
        _Atomic uint32_t fifo_gen;
};

/* Values of shbuf__peer.waiting: how the sleeper wants to be woken. */
enum shbuf__wait_how {
        SHBUF__WAIT_NONE = 0,
        SHBUF__WAIT_CHANNEL = 1, /* a message through the backend */
        SHBUF__WAIT_FIFO = 2,    /* a byte into its wake-up FIFO */
};

/*
 * The status lock, owner pid (0 = free), and what a waiter spins on: a
 * transfer in progress. producing is 1 from a write-side look that found
 * room (shbuf_write(), shbuf_get_write_pointer()) to the write commit,
 * consuming likewise on the read side. Both are written under the lock, so
 * keeping them here costs a commit nothing, and both are hints only: a
 * waiter spins (boundedly) while the transfer that will end its wait is
 * under way, instead of sleeping and costing both sides a wake-up.
 */
struct shbuf__lock {
        _Atomic uint32_t owner;
        _Atomic uint16_t producing;
        _Atomic uint16_t consuming;
};

struct shbuf__control {
        /* Identification, written once by the provider before anyone else can
         * attach, checked on every attach. */
        _Atomic uint32_t magic;
        uint16_t layout_version;
        uint8_t word_size;  /* sizeof(unsigned long) of the creator */
        uint8_t backend_id; /* enum shbuf__backend_id */
        uint32_t control_size;
        uint32_t status_offset;
        uint64_t data_size;
        int32_t key;
        uint32_t reserved;
        /* Backend-private: object ids or names. Validated by the backend. */
        uint8_t backend_area[SHBUF__BACKEND_AREA];

        /* The lock and what it guards share one cache line (64 bytes on
         * LP64): a commit moves one line between the cores, not two. */
        alignas(SHBUF__CACHELINE) struct shbuf__lock lock;
        shbuf_status status;

        /* Lockers sleeping on the lock. Written only under contention, so
         * the unlocker's look at it hits a line both caches share. */
        alignas(SHBUF__CACHELINE) _Atomic uint32_t lock_waiters;
        _Atomic uint32_t lock_recoveries; /* dead holders' locks taken over */
        struct shbuf__peer peer[2];
};

_Static_assert(sizeof(_Atomic uint32_t) == 4, "atomic words must be plain 32-bit words");
_Static_assert(sizeof(struct shbuf__control) % SHBUF__CACHELINE == 0, "control block is whole lines");
_Static_assert(sizeof(struct shbuf__lock) + sizeof(shbuf_status) <= SHBUF__CACHELINE,
               "the lock and the status share a cache line");

#define SHBUF__CONTROL_SIZE ((uint32_t) sizeof(struct shbuf__control))

/* Fill in a fresh header for the creator. */
void shbuf__control_init(struct shbuf__control *c, uint8_t backend_id, int32_t key, uint64_t data_size);

/*
 * Check a control block read from shared memory before anything else is
 * trusted: magic, layout version, word size, backend, sizes.
 * mapped_size is the size of the mapping the caller really has.
 * Returns 0 or -EPROTO.
 */
int shbuf__control_validate(const struct shbuf__control *c, uint64_t mapped_size, uint8_t backend_id);

#endif
