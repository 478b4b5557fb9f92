/*
 * Starting the library's own threads (the sentinel and the notifier).
 *
 * They are started with every signal blocked: a process-directed signal must
 * go to one of the application's threads, so that a shbuf_wait() there is
 * interrupted with EINTR as documented, and never to a thread the
 * application does not know about.
 *
 * All but the signals a fault raises in the faulting thread (SIGBUS,
 * SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGSYS): the kernel kills a process
 * whose thread faults with the signal blocked, whatever handler is
 * installed. Our threads read the shared control block, which a peer can
 * truncate under them (POSIX), and the SIGBUS trap (memtrap.c) must be able
 * to catch that in them too. Such a signal sent with kill() may then be
 * delivered to one of our threads, and the handler runs there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>

#include "handle.h"

static const int faults[] = {SIGBUS, SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGSYS};

int shbuf__thread_start(pthread_t *ret, void *(*fn)(void *), void *arg) {
        sigset_t all, old;
        sigfillset(&all);
        for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
                sigdelset(&all, faults[i]);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(ret, NULL, fn, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -r;
}
