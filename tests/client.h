/*
 * What the API tests (check_api, check_waits, check_tooling) share: a
 * buffer of this process's key or a failed test, a command to a peer that
 * must get through, errno checks, and the client they drive in another
 * process.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_CLIENT_H
#define SHBUF_TEST_CLIENT_H

#include <errno.h>
#include <string.h>

#include <check.h>

#include "test-util.h"

/* t_create(t_key(n), size), or the test fails. */
shbuf *t_mk(unsigned n, unsigned long size);

/* Send one command byte to a peer, or the test fails. */
void t_command(int fd, char c);

/*
 * Start, in another process, a client of the buffer under key that opens
 * it and then obeys commands: 'f' free and exit, 'x' exit without freeing
 * (as if it crashed), 'w' write "abc", 'c' answer whether it sees the
 * provider as connected, 'U' try to release the status lock ('P' if
 * refused with EPERM). It answers 'o' after opening (the test fails
 * otherwise) and 'd' after freeing.
 */
struct t_child t_start_client(key_t key);

#define ASSERT_FAILS(expr, err)                                                                             \
        do {                                                                                                \
                errno = 0;                                                                                  \
                ck_assert_msg((expr) == -1, #expr " did not fail");                                         \
                ck_assert_msg(errno == (err), #expr ": errno %d (%s), expected %d (%s)", errno,             \
                              strerror(errno), (err), strerror(err));                                       \
        } while (0)

#define ASSERT_NULL(expr, err)                                                                              \
        do {                                                                                                \
                errno = 0;                                                                                  \
                ck_assert_msg((expr) == NULL, #expr " did not fail");                                       \
                ck_assert_msg(errno == (err), #expr ": errno %d (%s), expected %d (%s)", errno,             \
                              strerror(errno), (err), strerror(err));                                       \
        } while (0)

#endif
