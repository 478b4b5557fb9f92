/*
 * What the examples share and what is not about libshbuf: the data pattern
 * that lets a reader check what it got, argument parsing and a signal
 * handler that lets a blocked writer clean up.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_EXAMPLE_H
#define SHBUF_EXAMPLE_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes sent when the command line does not say. */
#define EXAMPLE_DEFAULT_BYTES (1UL << 20)

/*
 * Byte number i of the stream. 251 is prime, so the pattern never lines up
 * with a power-of-two ring and a byte read at the wrong offset shows.
 */
static inline unsigned char example_pattern(unsigned long i) {
        return (unsigned char) (i % 251);
}

/* Parses a non-negative decimal, hex (0x) or octal number; exits on garbage. */
static inline unsigned long long example_parse(const char *prog, const char *what, const char *s,
                                               unsigned long long max) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 0);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max) {
                fprintf(stderr, "%s: invalid %s '%s'\n", prog, what, s);
                exit(2);
        }
        return v;
}

/* Set by SIGINT and SIGTERM. */
static volatile sig_atomic_t example_stop;

static inline void example_on_signal(int sig) {
        (void) sig;
        example_stop = 1;
}

/*
 * Installs the handler without SA_RESTART, so that a shbuf_wait() blocked
 * when the signal arrives returns -1 with EINTR: the program then frees its
 * buffer instead of dying with the shared memory still allocated.
 */
static inline void example_catch_signals(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = example_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

#endif /* SHBUF_EXAMPLE_H */
