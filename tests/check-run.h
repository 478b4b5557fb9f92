/*
 * The part every Check program shares: test cases whose leftovers are swept
 * after each case, and a runner whose exit status counts leftovers as a
 * failure too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_CHECK_RUN_H
#define SHBUF_CHECK_RUN_H

#include <check.h>

/* A new test case of s with the given timeout, after which whatever its
 * tests left behind (IPC objects, helper processes) is removed and counted. */
TCase *t_case(Suite *s, const char *name, double timeout);

/* Run s (t_init() must have been called); EXIT_SUCCESS iff every test passed
 * and nothing was left behind. name is the program's, for the message. */
int t_run(Suite *s, const char *name);

#endif
