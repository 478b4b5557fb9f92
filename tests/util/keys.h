/*
 * Keys and leftovers: recognisable keys for every test process, a record of
 * what each test process made (so that a failed test's objects can be swept
 * and the final CTest check can find leaks), and buffers made and looked
 * up through the library.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_KEYS_H
#define SHBUF_TEST_KEYS_H

#include <stdbool.h>
#include <sys/types.h>

#include "libshbuf/shbuf.h"

/*
 * Keys the tests use explicitly: 0x5B000000 | (pid & 0xffff) << 8 | n, with
 * the pid of the process that runs the test. Check runs every test in its own
 * child, so keys never collide between tests, and the final leak check can
 * look for exactly this range.
 */
#define T_KEY_PREFIX 0x5B000000u
#define T_KEY_MASK 0xFF000000u

/* The n-th key (0..255) of this process; records the pid (see t_note_pid()). */
key_t t_key(unsigned n);

/* The key range of another process, e.g. of a test child that died. */
key_t t_key_of(pid_t pid, unsigned n);

/*
 * Call once in main() before srunner_run_all(): sets up a shared page in
 * which every test child records its pid, its key-0 buffers and the helper
 * processes it started, so that t_sweep() in the runner can remove what a
 * failed (or killed) test left behind.
 */
void t_init(void);

/* Record that this process (or a helper it started) makes IPC objects. */
void t_note_pid(pid_t pid);

/* Record a key chosen by the library (key 0 buffers). */
void t_note_key(key_t key);

/*
 * Remove everything the recorded processes and keys still hold (buffers via
 * shbuf_remove(), then whatever objects the backend descriptions find under
 * their keys, in their key ranges, or made by them) and kill helper processes still
 * running. Prints one line per object to stderr and returns how many there
 * were: a test that passed must leave nothing.
 */
int t_sweep(void);

/*
 * Whether a real shbuf_gc() run now removes the buffer of key (1), or
 * whether shbuf_list() shows key as a buffer (1); 0 if not, -errno when
 * the call fails.
 */
int t_gc_removes(key_t key);
int t_lists(key_t key);

/* shbuf_create() that records the key and pid; NULL + errno as the library. */
shbuf *t_create(key_t key, unsigned long size);

#endif
