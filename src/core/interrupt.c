/*
 * Whether a sleep that a signal interrupted goes on or ends with EINTR.
 *
 * The kernel restarts some sleeps after a handler installed with SA_RESTART
 * (read(), mq_timedreceive()) and never others (poll(), msgrcv(), semop(),
 * timed futex waits), so left to itself what a program sees would depend on
 * the backend. The library sleeps only in calls of the second kind and
 * decides itself, alike everywhere: the sleep goes on, with its deadline,
 * when every signal that could have interrupted it (caught, and not blocked
 * in this thread) has SA_RESTART. Which one arrived cannot be known, so
 * with handlers of both kinds caught here it ends with EINTR.
 *
 * It is asked only after an interruption, so the cost (a system call per
 * signal number) is paid per signal, never per wait.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>

#include "handle.h"

bool shbuf__interrupt_restarts(void) {
        sigset_t blocked;
        if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0)
                return false;
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa;
                /* Numbers the C library keeps for itself fail here. */
                if (sigismember(&blocked, sig) == 1 || sigaction(sig, NULL, &sa) < 0)
                        continue;
                /* The library's own SIGBUS trap passes a sent signal on. */
                if (sig == SIGBUS)
                        shbuf__memtrap_program_action(&sa);
                bool caught = (sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
                if (caught && !(sa.sa_flags & SA_RESTART))
                        return false;
        }
        return true;
}
