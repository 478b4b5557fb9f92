/*
 * Helpers shared by the test programs: recognisable keys, a record of what
 * each test process made (so a failed test's objects can be swept and the
 * final CTest check can find leaks), a reproducible byte stream, and small
 * process helpers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_UTIL_H
#define SHBUF_TEST_UTIL_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
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

/* The backend under test: SHBUF_BACKEND, or the build default. */
const char *t_backend(void);

/* Whether a backend is compiled in. */
bool t_have_backend(const char *name);

/* shbuf_create() that records the key and pid; NULL + errno as the library. */
shbuf *t_create(key_t key, unsigned long size);

/* Whether pid is gone, or a zombie nobody reaped yet (its objects are
 * orphans either way). */
bool t_pid_dead(pid_t pid);

/* Milliseconds on the monotonic clock. */
int64_t t_now_ms(void);

/* Sleep for ms milliseconds. */
void t_sleep_ms(int ms);

/*
 * Wait for pid for at most timeout_ms; returns the wait status, or -1 after
 * killing it with SIGKILL (and reaping it) when the time ran out.
 */
int t_wait_child(pid_t pid, int timeout_ms);

/* A child's exit code from t_wait_child(), or -1 (killed or signalled). */
int t_exit_code(int status);

/*
 * Block, in the calling thread, every signal other than keep that has a
 * handler without SA_RESTART (the test harness installs some), so that a
 * wait in this thread may treat keep's SA_RESTART as the only word on
 * restarts; the old mask goes to old, for pthread_sigmask(SIG_SETMASK).
 */
void t_block_other_handlers(int keep, sigset_t *old);

/*
 * A reproducible stream of pseudo-random bytes (xorshift64*): both ends of a
 * streaming test regenerate it from the seed, so every byte can be checked
 * without sending the expected data separately.
 */
struct t_stream {
        uint64_t state;
        uint64_t word; /* unused bytes of the current word, low byte first */
        unsigned left; /* how many bytes of word are unused */
};

void t_stream_init(struct t_stream *s, uint64_t seed);
void t_stream_fill(struct t_stream *s, unsigned char *buf, size_t n);

/* The next 64 random bits of an independent generator (for chunk sizes). */
uint64_t t_rand64(uint64_t *state);

/* Write all of buf to fd; 0 or -1. Read one line (without \n) from fd. */
int t_write_all(int fd, const void *buf, size_t n);
int t_read_line(int fd, char *buf, size_t n, int timeout_ms);

#endif
