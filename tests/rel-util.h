/*
 * Helpers of the reliability tests (check_crash, check_hostile,
 * check_limits, check_threads, soak): forked peers driven through pipes,
 * descriptors and CPU time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_REL_UTIL_H
#define SHBUF_REL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend-desc.h"
#include "test-util.h"

/* A forked peer: a command pipe to it and an answer pipe from it. */
struct r_child {
        pid_t pid;
        int to, from;
};

/*
 * Fork a child running fn(key, in, out, arg); its return value is the exit
 * code. The child opens the buffer anew (a handle must not cross fork()) and
 * never returns into Check. It dies with the test (PR_SET_PDEATHSIG).
 */
struct r_child r_fork(int (*fn)(key_t key, int in, int out, void *arg), key_t key, void *arg);

/* Send one command byte; read one answer byte (0 on timeout or EOF). */
void r_put(int fd, char c);
char r_get(int fd, int timeout_ms);

/* Read exactly n bytes within timeout_ms; 0 or -1. */
int r_get_n(int fd, void *buf, size_t n, int timeout_ms);

/* Wait for the child (killing it after timeout_ms), close its pipes, and
 * return its exit code, or -1 if it was killed or crashed. */
int r_finish(struct r_child *c, int timeout_ms);

/* The raw wait status of the child, for messages (after r_finish). */
extern int r_last_status;

/* Open descriptors of this process. */
int r_fd_count(void);

/* CPU time (user + system, all threads) of this process in microseconds. */
int64_t r_cpu_us(void);

/* Voluntary context switches of this process (all threads). */
long r_voluntary_switches(void);

/* A positive integer from the environment, or def. */
uint64_t r_env_u64(const char *name, uint64_t def);

/* Whether the program runs under a sanitizer (SHBUF_TEST_SANITIZED=1, set by CTest in those builds). */
bool r_sanitized(void);

#endif
