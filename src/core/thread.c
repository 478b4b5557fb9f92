/*
 * Starting the library's own threads (the sentinel and the notifier).
 *
 * They are started with every signal blocked: a process-directed signal must
 * go to one of the application's threads, so that a shbuf_wait() there is
 * interrupted with EINTR as documented, and never to a thread the
 * application does not know about.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>

#include "handle.h"

int shbuf__thread_start(pthread_t *ret, void *(*fn)(void *), void *arg) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(ret, NULL, fn, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -r;
}
