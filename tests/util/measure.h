/*
 * What a test measures of its own process (descriptors, CPU time, context
 * switches) and how it scales itself (environment, sanitizers).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_MEASURE_H
#define SHBUF_TEST_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

/* Open descriptors of this process. */
int t_fd_count(void);

/* CPU time (user + system, all threads) of this process in microseconds. */
int64_t t_cpu_us(void);

/* Voluntary context switches of this process (all threads). */
long t_voluntary_switches(void);

/* A positive integer from the environment, or def. */
uint64_t t_env_u64(const char *name, uint64_t def);

/* Whether the program runs under a sanitizer (SHBUF_TEST_SANITIZED=1, set by CTest in those builds). */
bool t_sanitized(void);

#endif
