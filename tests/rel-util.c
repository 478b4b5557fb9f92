/*
 * Helpers of the reliability tests. See rel-util.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rel-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

int r_last_status;

struct r_child r_fork(int (*fn)(key_t key, int in, int out, void *arg), key_t key, void *arg) {
        int a[2], b[2];
        struct r_child c = {.pid = -1, .to = -1, .from = -1};
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

void r_put(int fd, char c) {
        (void) !t_write_all(fd, &c, 1);
}

char r_get(int fd, int timeout_ms) {
        char c;
        return r_get_n(fd, &c, 1, timeout_ms) == 0 ? c : 0;
}

int r_get_n(int fd, void *buf, size_t n, int timeout_ms) {
        int64_t deadline = t_now_ms() + timeout_ms;
        size_t got = 0;
        while (got < n) {
                int64_t left = deadline - t_now_ms();
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (left <= 0)
                        return -1;
                int r = poll(&p, 1, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                ssize_t k = read(fd, (char *) buf + got, n - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                got += (size_t) k;
        }
        return 0;
}

int r_finish(struct r_child *c, int timeout_ms) {
        if (c->pid <= 0)
                return -1;
        r_last_status = t_wait_child(c->pid, timeout_ms);
        if (c->to >= 0)
                close(c->to);
        if (c->from >= 0)
                close(c->from);
        c->to = c->from = -1;
        c->pid = -1;
        return t_exit_code(r_last_status);
}

int r_fd_count(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;
        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        /* Not counting the descriptor of the listing itself. */
        return n - 1;
}

int64_t r_cpu_us(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (int64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
               ru.ru_stime.tv_usec;
}

long r_voluntary_switches(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_nvcsw;
}

uint64_t r_env_u64(const char *name, uint64_t def) {
        const char *e = getenv(name);
        char *end;
        if (!e || !*e || e[0] == '-')
                return def;
        errno = 0;
        unsigned long long v = strtoull(e, &end, 10);
        if (errno || end == e || *end || v == 0)
                return def;
        return v;
}

bool r_sanitized(void) {
        const char *e = getenv("SHBUF_TEST_SANITIZED");
        return e && strcmp(e, "1") == 0;
}
