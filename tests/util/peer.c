/*
 * Peers in other processes. See peer.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"

int t_last_status;

struct t_child t_fork(int (*fn)(key_t key, int in, int out, void *arg), key_t key, void *arg) {
        int a[2], b[2];
        struct t_child c = {.pid = -1, .to = -1, .from = -1};
        pid_t parent = getpid();

        if (pipe2(a, O_CLOEXEC) < 0)
                return c;
        if (pipe2(b, O_CLOEXEC) < 0) {
                close(a[0]);
                close(a[1]);
                return c;
        }
        c.pid = fork();
        if (c.pid == 0) {
                close(a[1]);
                close(b[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(125);
                _exit(fn(key, a[0], b[1], arg));
        }
        close(a[0]);
        close(b[1]);
        if (c.pid < 0) {
                close(a[1]);
                close(b[0]);
                return c;
        }
        /* Its objects are swept if the test fails. */
        t_note_pid(c.pid);
        c.to = a[1];
        c.from = b[0];
        return c;
}

void t_put(int fd, char c) {
        (void) !t_write_all(fd, &c, 1);
}

char t_get(int fd, int timeout_ms) {
        char c;
        return t_get_n(fd, &c, 1, timeout_ms) == 0 ? c : 0;
}

/* Up to n bytes from fd, once something is there, before deadline (ms on
 * the monotonic clock); how many, or -1 on timeout, EOF or error. */
static ssize_t read_by(int fd, void *buf, size_t n, int64_t deadline) {
        for (;;) {
                int64_t left = deadline - t_now_ms();
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (left <= 0)
                        return -1;
                int r = poll(&p, 1, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                ssize_t k = read(fd, buf, n);
                if (k < 0 && errno == EINTR)
                        continue;
                return k <= 0 ? -1 : k;
        }
}

int t_get_n(int fd, void *buf, size_t n, int timeout_ms) {
        int64_t deadline = t_now_ms() + timeout_ms;
        size_t got = 0;
        while (got < n) {
                ssize_t k = read_by(fd, (char *) buf + got, n - got, deadline);
                if (k < 0)
                        return -1;
                got += (size_t) k;
        }
        return 0;
}

int t_finish(struct t_child *c, int timeout_ms) {
        if (c->pid <= 0)
                return -1;
        t_last_status = t_wait_child(c->pid, timeout_ms);
        if (c->to >= 0)
                close(c->to);
        if (c->from >= 0)
                close(c->from);
        c->to = c->from = -1;
        c->pid = -1;
        return t_exit_code(t_last_status);
}

/* ---- processes and time ------------------------------------------------ */

bool t_pid_dead(pid_t pid) {
        char path[64], buf[512];
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return true;
        snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return true;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        /* "pid (comm) S ...": comm may contain anything, so look after the last ')'. */
        const char *p = strrchr(buf, ')');
        return p && (p[2] == 'Z' || p[2] == 'X');
}

int64_t t_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void t_sleep_ms(int ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

void t_block_other_handlers(int keep, sigset_t *old) {
        sigset_t set;
        sigemptyset(&set);
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa;
                if (sig == keep || sigaction(sig, NULL, &sa) < 0)
                        continue;
                bool caught =
                        (sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
                if (caught && !(sa.sa_flags & SA_RESTART))
                        sigaddset(&set, sig);
        }
        pthread_sigmask(SIG_BLOCK, &set, old);
}

int t_wait_child(pid_t pid, int timeout_ms) {
        int64_t deadline = t_now_ms() + timeout_ms;
        int status;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return status;
                if (r < 0 && errno != EINTR)
                        return -1;
                if (t_now_ms() >= deadline) {
                        kill(pid, SIGKILL);
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        return -1;
                }
                t_sleep_ms(2);
        }
}

int t_exit_code(int status) {
        if (status == -1 || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

int t_write_all(int fd, const void *buf, size_t n) {
        const char *p = buf;
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

int t_read_line(int fd, char *buf, size_t n, int timeout_ms) {
        int64_t deadline = t_now_ms() + timeout_ms;

        for (size_t used = 0; used + 1 < n; used++) {
                if (read_by(fd, buf + used, 1, deadline) < 0)
                        return -1;
                if (buf[used] == '\n') {
                        buf[used] = 0;
                        return 0;
                }
        }
        return -1;
}
