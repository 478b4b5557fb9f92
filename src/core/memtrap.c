/*
 * The SIGBUS trap: surviving a peer that shrinks the objects under our
 * mappings.
 *
 * Anyone who may open a POSIX shared memory object of a buffer can
 * ftruncate() it while we have it mapped, and POSIX shared memory cannot
 * be sealed against that. Our next access past the new end raises SIGBUS,
 * whose default action kills the process: inside any call, inside the
 * program's own zero-copy access, inside shbuf_free(). PulseAudio meets the
 * same threat with its "memtrap", and this is the same idea:
 *
 *   - Each mapping that can shrink is registered here, with the address of
 *     its handle's `trapped` flag.
 *   - A SIGBUS handler, installed when the first such mapping is
 *     registered, looks the faulting address up. If it lies in a registered
 *     mapping, the handler sets the flag and maps private zero pages over
 *     the whole mapping (MAP_FIXED). The faulting access then resumes on
 *     them, and so does every later one: the process goes on, reading
 *     zeros, writing into memory nobody else sees. The library's calls look
 *     at the flag and fail with EPIPE from then on.
 *   - A fault that is not in a registered mapping, or a SIGBUS sent by
 *     kill(), goes on to whatever handled SIGBUS before us: the program's
 *     handler, called directly, or the default action, which kills the
 *     process as if we had never been there.
 *
 * A signal handler may run at any instruction of any thread, also while
 * another thread registers a mapping, so the registry takes no lock and
 * allocates nothing when read. It is a list of chunks of slots; chunks are
 * appended, never freed, so a handler walking the list never follows a
 * pointer into freed memory. A slot's state word says whether it is free,
 * being filled or live, and counts its reuses: the handler reads the word,
 * then the slot, then the word again, and uses the slot only if the word is
 * live and unchanged, so a slot that changed hands under it is skipped
 * (it belongs to another handle, which cannot be the one that faulted).
 *
 * The handler calls mmap(), which POSIX does not list as async-signal-safe
 * but which is a plain system call wherever there is POSIX shared memory
 * to truncate (PulseAudio relies on the same), sigaction() and raise().
 * The library is linked with -z nodelete: the handler outlives a dlclose().
 *
 * The flag lives in the handle, so the data path checks it with one plain
 * load. A mapping is unregistered before it is unmapped and its handle
 * freed; a handler that runs for that mapping at the same time can only
 * come from a thread that touches the mapping while another one frees its
 * handle, which the API forbids.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handle.h"

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_BOOL_LOCK_FREE == 2,
               "the signal handler may only use lock-free atomics");

/* Two slots per handle: the static first chunk serves 16 handles. */
#define CHUNK_SLOTS 32

/* The low bits of a slot's state; the rest counts the slot's reuses. */
enum {
        SLOT_FREE = 0,
        SLOT_FILLING = 1,
        SLOT_LIVE = 2,
        SLOT_MASK = 3,
        SLOT_REUSE = 4,
};

struct shbuf__memtrap {
        atomic_uint state;
        _Atomic(unsigned char *) start;
        _Atomic(unsigned char *) end; /* page-aligned: what the zero pages cover */
        _Atomic(atomic_bool *) flag;
};

struct chunk {
        struct shbuf__memtrap slot[CHUNK_SLOTS];
        _Atomic(struct chunk *) next;
};

/* Most processes have a few buffers: the first chunk is static. */
static struct chunk first_chunk;

/* What handled SIGBUS before us. Written once, before our handler is
 * installed, and only read afterwards. */
static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_error;
static uintptr_t page_size;

/* The default action of SIGBUS, for a signal that is not ours. */
static void die_by_default(int sig, const siginfo_t *si) {
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        /* A fault repeats when the handler returns, and then kills us. A
         * sent signal does not: send it again, to be delivered (and kill
         * us) once this handler returned, as it would have been. */
        if (si->si_code <= 0)
                raise(sig);
}

static void chain(int sig, siginfo_t *si, void *context) {
        if (previous.sa_flags & SA_SIGINFO) {
                previous.sa_sigaction(sig, si, context);
                return;
        }
        if (previous.sa_handler == SIG_DFL) {
                die_by_default(sig, si);
                return;
        }
        if (previous.sa_handler == SIG_IGN) {
                /* The kernel never lets a fault be ignored: it kills the
                 * process. A sent signal is ignored, as it was. */
                if (si->si_code > 0)
                        die_by_default(sig, si);
                return;
        }
        previous.sa_handler(sig);
}

/* Whether the fault at addr is in a registered mapping, which is then
 * replaced by zero pages and its handle marked. */
static bool trap(uintptr_t addr) {
        for (struct chunk *c = &first_chunk; c; c = atomic_load_explicit(&c->next, memory_order_acquire))
                for (size_t i = 0; i < CHUNK_SLOTS; i++) {
                        struct shbuf__memtrap *t = &c->slot[i];
                        unsigned s = atomic_load_explicit(&t->state, memory_order_acquire);
                        if ((s & SLOT_MASK) != SLOT_LIVE)
                                continue;
                        /* Acquire: if a field shows a new owner's value,
                         * the second look at the word shows the change. */
                        unsigned char *start = atomic_load_explicit(&t->start, memory_order_acquire);
                        unsigned char *end = atomic_load_explicit(&t->end, memory_order_acquire);
                        atomic_bool *flag = atomic_load_explicit(&t->flag, memory_order_acquire);
                        if (atomic_load_explicit(&t->state, memory_order_relaxed) != s)
                                continue;
                        if (addr < (uintptr_t) start || addr >= (uintptr_t) end)
                                continue;
                        /* The flag first: a thread that finds the zero
                         * pages finds the handle marked too. */
                        atomic_store(flag, true);
                        int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
#ifdef MAP_NORESERVE
                        /* Zero pages that nobody may ever touch should not
                         * count against a strict overcommit limit. */
                        flags |= MAP_NORESERVE;
#endif
                        return mmap(start, (size_t) (end - start), PROT_READ | PROT_WRITE, flags, -1, 0) !=
                               MAP_FAILED;
                }
        return false;
}

static void on_sigbus(int sig, siginfo_t *si, void *context) {
        int saved = errno;
        /* si_code > 0: raised by the kernel for an access, at si_addr. */
        bool ours = si->si_code > 0 && trap((uintptr_t) si->si_addr);
        errno = saved;
        if (!ours)
                chain(sig, si, context);
}

void shbuf__memtrap_program_action(struct sigaction *sa) {
        if ((sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_sigbus)
                *sa = previous;
}

static void install(void) {
        struct sigaction sa = {.sa_sigaction = on_sigbus};

        page_size = (uintptr_t) sysconf(_SC_PAGESIZE);
        /* Learn what was there before we are there: our handler may run the
         * moment it is installed. */
        if (sigaction(SIGBUS, NULL, &previous) < 0) {
                install_error = errno;
                return;
        }
        /* The program's handler is called from ours: it runs with its own
         * mask and restart behaviour as far as ours can carry them. */
        sa.sa_mask = previous.sa_mask;
        sa.sa_flags = SA_SIGINFO | (previous.sa_flags & (SA_RESTART | SA_ONSTACK | SA_NODEFER));
        if (sigaction(SIGBUS, &sa, NULL) < 0)
                install_error = errno;
}

/* Claim a free slot, appending a chunk if every one is taken. */
static int claim(struct shbuf__memtrap **ret) {
        struct chunk *c = &first_chunk;
        for (;;) {
                for (size_t i = 0; i < CHUNK_SLOTS; i++) {
                        struct shbuf__memtrap *t = &c->slot[i];
                        unsigned s = atomic_load(&t->state);
                        if ((s & SLOT_MASK) == SLOT_FREE &&
                            atomic_compare_exchange_strong(&t->state, &s, s | SLOT_FILLING)) {
                                *ret = t;
                                return 0;
                        }
                }
                struct chunk *next = atomic_load(&c->next);
                if (!next) {
                        struct chunk *fresh = calloc(1, sizeof(*fresh));
                        if (!fresh)
                                return -ENOMEM;
                        /* Another thread may have appended one meanwhile:
                         * then use that one. */
                        if (atomic_compare_exchange_strong(&c->next, &next, fresh))
                                next = fresh;
                        else
                                free(fresh);
                }
                c = next;
        }
}

int shbuf__memtrap_add(void *start, uint64_t len, atomic_bool *flag, struct shbuf__memtrap **ret) {
        struct shbuf__memtrap *t;

        pthread_once(&install_once, install);
        if (install_error)
                return -install_error;
        int r = claim(&t);
        if (r < 0)
                return r;
        uintptr_t from = (uintptr_t) start & ~(page_size - 1);
        uintptr_t to = ((uintptr_t) start + (uintptr_t) len + page_size - 1) & ~(page_size - 1);
        /* Release: a handler that reads one of these also sees the slot
         * taken (see trap()). */
        atomic_store_explicit(&t->start, (unsigned char *) from, memory_order_release);
        atomic_store_explicit(&t->end, (unsigned char *) to, memory_order_release);
        atomic_store_explicit(&t->flag, flag, memory_order_release);
        unsigned s = atomic_load_explicit(&t->state, memory_order_relaxed);
        atomic_store_explicit(&t->state, (s & ~(unsigned) SLOT_MASK) | SLOT_LIVE, memory_order_release);
        *ret = t;
        return 0;
}

void shbuf__memtrap_remove(struct shbuf__memtrap *t) {
        if (!t)
                return;
        unsigned s = atomic_load_explicit(&t->state, memory_order_relaxed);
        atomic_store_explicit(&t->state, (s & ~(unsigned) SLOT_MASK) + SLOT_REUSE, memory_order_release);
}
