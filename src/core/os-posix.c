/*
 * os.h in plain POSIX: the stand-ins a port starts from, and what the
 * SHBUF_OS=posix build uses on Linux so that the core's fallbacks are
 * tested.
 *
 *   events      a pipe
 *   pidfds      none: the core asks kill(pid, 0) now and then
 *   futexes     none: a sleeper naps a millisecond at a time and re-checks
 *   membarrier  none: hot paths fence themselves
 *   fdsets      none: the select descriptor is served by a thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os.h"

int shbuf__os_event_new(int *ret_rfd, int *ret_wfd) {
        int p[2];
        if (pipe(p) < 0)
                return -errno;
        for (int i = 0; i < 2; i++)
                if (fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0 || fcntl(p[i], F_SETFL, O_NONBLOCK) < 0) {
                        int r = -errno;
                        close(p[0]);
                        close(p[1]);
                        return r;
                }
        *ret_rfd = p[0];
        *ret_wfd = p[1];
        return 0;
}

void shbuf__os_event_post(int wfd) {
        /* A full pipe reads as readable already. */
        (void) !write(wfd, "e", 1);
}

void shbuf__os_event_clear(int rfd) {
        char buf[64];
        while (read(rfd, buf, sizeof(buf)) == (ssize_t) sizeof(buf))
                ;
}

void shbuf__os_event_close(int rfd, int wfd) {
        if (rfd >= 0)
                close(rfd);
        if (wfd >= 0 && wfd != rfd)
                close(wfd);
}

int shbuf__os_pidfd_open(pid_t pid) {
        (void) pid;
        return -ENOSYS;
}

bool shbuf__os_pid_alive(pid_t pid) {
        if (pid <= 0)
                return false;
        /* EPERM means it exists but belongs to somebody else. */
        return kill(pid, 0) == 0 || errno == EPERM;
}

uint64_t shbuf__os_pidns(void) {
        struct stat st;
        /* Namespaces are files under /proc; without /proc, nothing. */
        if (stat("/proc/self/ns/pid", &st) < 0)
                return 0;
        return (uint64_t) st.st_ino;
}

int shbuf__os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms) {
        if (atomic_load(word) != expected)
                return 0;
        /* A nap, then a spurious wake-up: the caller re-checks the word. */
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        if (timeout_ms == 0)
                return -ETIMEDOUT;
        if (nanosleep(&ts, NULL) < 0)
                return -EINTR;
        return 0;
}

void shbuf__os_futex_wake(_Atomic uint32_t *word, int n) {
        (void) word;
        (void) n;
}

unsigned shbuf__os_barriers(void) {
        return 0;
}

int shbuf__os_barrier(enum shbuf__os_barrier kind) {
        (void) kind;
        return -ENOSYS;
}

int shbuf__os_cpu(void) {
        return -1;
}

int64_t shbuf__os_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t shbuf__os_now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int shbuf__os_fdset_new(void) {
        return -ENOSYS;
}

int shbuf__os_fdset_add(int set, int fd) {
        (void) set;
        (void) fd;
        return -ENOSYS;
}

void shbuf__os_fdset_del(int set, int fd) {
        (void) set;
        (void) fd;
}
