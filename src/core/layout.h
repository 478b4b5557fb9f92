/*
 * The shared control block: what both processes map, byte for byte.
 *
 * Only fixed-width fields and offsets live here, never pointers, so the block
 * can be mapped at any address; and all of it is untrusted: the other
 * process can write any of it at any time, so everything read from it is
 * validated before it is used.
 *
 * The ring is two positions, each written by one role only: the writer
 * owns the head, the reader the tail (either process may take either
 * role). A commit is a plain store to the owner's own cache line, never an
 * atomic read-modify-write on a line the other process writes. The 0.0.3
 * status block (shbuf_status) is not stored: it is a view computed from
 * these fields (ring.c), and edits made to it under the status lock are
 * written back into them. docs/design.md has the layout and the protocols
 * that use it.
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
/* The magic of a control block whose creator has not finished yet ("SHBC"):
 * a half-made buffer is recognisably ours, never taken for a buffer. */
#define SHBUF__MAGIC_CREATING UINT32_C(0x43424853)
#define SHBUF__LAYOUT_VERSION 4
#define SHBUF__CACHELINE 64
#define SHBUF__BACKEND_AREA 96

enum shbuf__side { SHBUF__PROVIDER = 0, SHBUF__CLIENT = 1 };

/* Identification, written once by the provider before anyone can attach,
 * checked on every attach. The backend writes it first with the magic
 * SHBUF__MAGIC_CREATING (shbuf__control_mark_creating()), before it makes
 * any other object; the core stores SHBUF__MAGIC once the buffer is whole. */
struct shbuf__header {
        _Atomic uint32_t magic;
        uint16_t layout_version;
        uint8_t word_size;  /* sizeof(unsigned long) of the creator */
        uint8_t backend_id; /* enum shbuf__backend_id */
        uint32_t control_size;
        uint32_t creator; /* the creator's pid, as it saw it: for the tools only */
        uint64_t data_size;
        int32_t key;
        uint32_t reserved1;
        /* Backend-private: object ids, generations. Validated by the backend. */
        uint8_t backend_area[SHBUF__BACKEND_AREA];
};

/*
 * One ring position and what goes with it, on a line of its own, written
 * by the role's owner only (and by a status-lock holder while the ring is
 * frozen). The position is an index in [0, 2S): the offset in the ring is
 * pos mod S, and head - tail mod 2S is the length, so a full ring and an
 * empty one differ without a division anywhere.
 */
struct shbuf__role {
        alignas(SHBUF__CACHELINE) _Atomic uint64_t pos;
        _Atomic uint64_t count; /* commits: write_count or read_count */
        /* Tail only: bytes consumed since the last reset, at most S; the
         * backlog is min(backlog_target, S - length, consumed). */
        _Atomic uint64_t consumed;
        /* The one-shot ignore flag of the 0.0.3 status block: set by a
         * status-lock holder, cleared by the owner's next commit. */
        _Atomic uint32_t ignore;
};

/*
 * What a role's owner is doing, on a line of its own so that marking costs
 * the reader of the position nothing. BUSY is set for the length of every
 * call of the role's direction: a status-lock holder waits for it to clear
 * before it edits the ring. TRANSFER is set from a look that found
 * something to do until its commit, which for the zero-copy API is another
 * call: a waiter spins, boundedly, while the transfer it waits for is
 * under way.
 */
struct shbuf__mark {
        alignas(SHBUF__CACHELINE) _Atomic uint32_t word;
};
#define SHBUF__MARK_BUSY 1u     /* a call is under way */
#define SHBUF__MARK_SIDE 2u     /* ... by the client (else the provider) */
#define SHBUF__MARK_TRANSFER 4u /* a transfer is under way */
#define SHBUF__MARK_CPU_SHIFT 8 /* the CPU + 1 it last ran on, 0 if unknown */

/* Values of shbuf__side_block.state. */
enum shbuf__side_state {
        SHBUF__SIDE_NONE = 0,     /* never attached */
        SHBUF__SIDE_ATTACHED = 1, /* attached, pid and tag valid */
        SHBUF__SIDE_DETACHED = 2, /* left through shbuf_free() */
};

/*
 * One side of the buffer (provider, client): who it is and how to wake it.
 * Whether it is alive is not here: the kernel tracks that (the backends'
 * presence tokens); the pid is for people (shbuf ls) and, within one pid
 * namespace (pidns), for a pidfd that wakes a sleeper at the side's death.
 * The wait word is written by both sides: the sleeper sets WAITING, the
 * waker sets PENDING when it sends, the sleeper clears PENDING when it took
 * the wake-up. So at most one wake-up per direction is ever in flight, and
 * no channel can fill, whatever the peer does.
 */
struct shbuf__side_block {
        alignas(SHBUF__CACHELINE) _Atomic uint32_t pid;
        _Atomic uint32_t state;  /* enum shbuf__side_state */
        _Atomic uint32_t tag;    /* the attached handle's lock tag */
        _Atomic uint32_t wait;   /* SHBUF__WAIT_* */
        _Atomic uint32_t events; /* notifications that are not commits */
        /* 1 if this side's hot paths fence themselves (its process is not
         * reached by membarrier()): then the other side need not allow it
         * a grace for stores it has not seen yet (wait.c, view.c). */
        _Atomic uint32_t fences;
        /* The side's pid namespace (the inode of /proc/self/ns/pid), 0 if
         * unknown: its pid means something to us only in the same one. */
        _Atomic uint64_t pidns;
};
#define SHBUF__WAIT_WAITING 1u /* about to sleep, or asleep: wake me */
#define SHBUF__WAIT_PENDING 2u /* a wake-up was sent and not taken yet */
#define SHBUF__WAIT_SELECT 4u  /* ... through the select descriptor's source */
#define SHBUF__WAIT_SPACE 8u   /* sleeps for space: wake when half the ring is free */

/* The status lock: for direct access to the status, reset and zero. */
struct shbuf__lock {
        alignas(SHBUF__CACHELINE) _Atomic uint32_t owner; /* holder's tag | CONTENDED, 0 = free */
        /* FROZEN while a holder edits the ring; THAW_P/THAW_C when a side
         * found it frozen and wants to hear of the thaw; the epoch (above
         * them) moves when a holder changed the ring, so that cached views
         * of it are dropped. */
        _Atomic uint32_t state;
        _Atomic uint64_t backlog_target;
        _Atomic uint32_t recoveries; /* dead holders' locks taken over */
};
#define SHBUF__LOCK_CONTENDED (1u << 31)
#define SHBUF__LOCK_TAG_MASK (~SHBUF__LOCK_CONTENDED)
#define SHBUF__STATE_FROZEN 1u
#define SHBUF__STATE_THAW(side) (2u << (side)) /* 2: the provider, 4: the client */
#define SHBUF__STATE_FLAGS 7u
#define SHBUF__STATE_EPOCH 8u /* one epoch */

/* Directions of a handle, and the role each one writes. */
enum shbuf__dir { SHBUF__WRITE = 0, SHBUF__READ = 1 };

struct shbuf__control {
        alignas(SHBUF__CACHELINE) struct shbuf__header header;
        struct shbuf__role head, tail;
        struct shbuf__mark mark[2]; /* by enum shbuf__dir: the writer's, the reader's */
        struct shbuf__side_block side[2];
        struct shbuf__lock lock;
};

_Static_assert(sizeof(_Atomic uint32_t) == 4, "atomic words must be plain 32-bit words");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic positions must be plain 64-bit words");
_Static_assert(sizeof(struct shbuf__control) % SHBUF__CACHELINE == 0, "control block is whole lines");
_Static_assert(sizeof(struct shbuf__role) == SHBUF__CACHELINE, "a position is one line");

#define SHBUF__CONTROL_SIZE ((uint32_t) sizeof(struct shbuf__control))

/* Fill in a fresh header for the creator; the magic goes last. */
void shbuf__control_init(struct shbuf__control *c, uint8_t backend_id, int32_t key, uint64_t data_size);

/*
 * The creation marker: the header as shbuf__control_init() writes it, with
 * the creator's pid and the magic SHBUF__MAGIC_CREATING. A backend writes
 * it into a new control block before it makes any other object, so that a
 * creator killed half-way leaves a block the tools recognise as a buffer
 * that was never finished, instead of a foreign object blocking the key.
 */
void shbuf__control_mark_creating(struct shbuf__control *c, uint8_t backend_id, int32_t key,
                                  uint64_t data_size);

/* What a control block read from shared memory is (shbuf__control_classify()). */
enum shbuf__control_kind {
        SHBUF__CONTROL_BUFFER = 0,   /* a whole buffer: shbuf__control_validate() passed */
        SHBUF__CONTROL_CREATING = 1, /* a creation marker: its creator has not finished */
};

/*
 * Classify the control block found under key: a buffer of this backend, or
 * the creation marker of one (then the creator's pid, as the header says,
 * and the data size being made); -EPROTO for anything else.
 */
int shbuf__control_classify(const struct shbuf__control *c, uint64_t mapped_size, uint8_t backend_id,
                            int32_t key, uint32_t *ret_creator, uint64_t *ret_data_size);

/*
 * Check a control block read from shared memory before anything else is
 * trusted: magic, layout version, word size, backend, sizes.
 * mapped_size is the size of the mapping the caller really has.
 * Returns 0 or -EPROTO.
 */
int shbuf__control_validate(const struct shbuf__control *c, uint64_t mapped_size, uint8_t backend_id);

/* The largest ring the layout can describe (positions are indices below 2S). */
#define SHBUF__SIZE_MAX (UINT64_C(1) << 62)

#endif
