/*
 * Peers in other processes: forked children driven through a command pipe
 * and an answer pipe, waiting for children, reading and writing pipes, and
 * time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_PEER_H
#define SHBUF_TEST_PEER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A forked peer: a command pipe to it and an answer pipe from it. */
struct t_child {
        pid_t pid;
        int to, from;
};

/*
 * Fork a child running fn(key, in, out, arg); its return value is the exit
 * code. The child opens the buffer anew (a handle must not cross fork()) and
 * never returns into Check. It dies with the test (PR_SET_PDEATHSIG).
 */
struct t_child t_fork(int (*fn)(key_t key, int in, int out, void *arg), key_t key, void *arg);

/* Send one command byte; read one answer byte (0 on timeout or EOF). */
void t_put(int fd, char c);
char t_get(int fd, int timeout_ms);

/* Read exactly n bytes within timeout_ms; 0 or -1. */
int t_get_n(int fd, void *buf, size_t n, int timeout_ms);

/* Wait for the child (killing it after timeout_ms), close its pipes, and
 * return its exit code, or -1 if it was killed or crashed. */
int t_finish(struct t_child *c, int timeout_ms);

/* The raw wait status of the child, for messages (after t_finish). */
extern int t_last_status;

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

/* Write all of buf to fd; 0 or -1. Read one line (without \n) from fd. */
int t_write_all(int fd, const void *buf, size_t n);
int t_read_line(int fd, char *buf, size_t n, int timeout_ms);

#endif
