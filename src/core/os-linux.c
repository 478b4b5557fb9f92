/*
 * os.h on Linux: futex, pidfd, eventfd, epoll, membarrier, getcpu.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os.h"

int shbuf__os_event_new(int *ret_rfd, int *ret_wfd) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        *ret_rfd = *ret_wfd = fd;
        return 0;
}

void shbuf__os_event_post(int wfd) {
        (void) eventfd_write(wfd, 1);
}

void shbuf__os_event_clear(int rfd) {
        eventfd_t v;
        (void) eventfd_read(rfd, &v);
}

void shbuf__os_event_close(int rfd, int wfd) {
        if (rfd >= 0)
                close(rfd);
        (void) wfd; /* the same descriptor */
}

int shbuf__os_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
        if (pid <= 0)
                return -ESRCH;
        /* pidfds are close-on-exec by definition. */
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd >= 0)
                return fd;
        /* EINVAL: an invalid pid; ENOSYS/EPERM: no pidfds for us here. */
        return errno == EINVAL ? -ESRCH : errno == ESRCH ? -ESRCH : -ENOSYS;
#else
        (void) pid;
        return -ENOSYS;
#endif
}

bool shbuf__os_pid_alive(pid_t pid) {
        if (pid <= 0)
                return false;
        /* kill(pid, 0) also answers yes for a zombie: a process that died
         * but was not reaped yet, for instance the child of a peer that
         * itself waits for something the child held. A pidfd tells them
         * apart: it reads as ready once the process has exited. */
        int fd = shbuf__os_pidfd_open(pid);
        if (fd >= 0) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                bool exited = poll(&p, 1, 0) > 0;
                close(fd);
                return !exited;
        }
        if (fd == -ESRCH)
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
        struct timespec ts, *tsp = NULL;
        if (timeout_ms >= 0) {
                ts.tv_sec = timeout_ms / 1000;
                ts.tv_nsec = (long) (timeout_ms % 1000) * 1000000;
                tsp = &ts;
        }
        /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
        if (syscall(SYS_futex, word, FUTEX_WAIT, expected, tsp, NULL, 0) == 0 || errno == EAGAIN)
                return 0;
        return errno == ETIMEDOUT ? -ETIMEDOUT : errno == EINTR ? -EINTR : -errno;
}

void shbuf__os_futex_wake(_Atomic uint32_t *word, int n) {
        (void) syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static int membarrier(int cmd) {
        return (int) syscall(SYS_membarrier, cmd, 0, 0);
}

/*
 * Registration belongs to the process's memory map, and a child of fork()
 * starts with none: the state is reset in the child, which registers
 * again on first use. (Otherwise it would skip fences on the word of a
 * registration it does not have, and lose wake-ups.)
 */
static pthread_mutex_t barriers_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int barriers = -1; /* -1: not registered yet in this process */

static void forget_barriers(void) {
        atomic_store(&barriers, -1);
}

static unsigned register_barriers(void) {
        static bool atfork_done;
        unsigned got = 0;
        int have = membarrier(MEMBARRIER_CMD_QUERY);
        /* Registering is what makes the other side's membarrier() reach
         * this process: until then its CPUs are skipped. */
        if (have >= 0 && (have & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
            membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0)
                got |= SHBUF__OS_BARRIER_GLOBAL;
        if (have >= 0 && (have & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
            membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
                got |= SHBUF__OS_BARRIER_PRIVATE;
        if (!atfork_done && pthread_atfork(NULL, NULL, forget_barriers) == 0)
                atfork_done = true;
        /* Without the handler a child could not tell: claim nothing. */
        return atfork_done ? got : 0;
}

unsigned shbuf__os_barriers(void) {
        int b = atomic_load(&barriers);
        if (b >= 0)
                return (unsigned) b;
        pthread_mutex_lock(&barriers_lock);
        if ((b = atomic_load(&barriers)) < 0) {
                b = (int) register_barriers();
                atomic_store(&barriers, b);
        }
        pthread_mutex_unlock(&barriers_lock);
        return (unsigned) b;
}

int shbuf__os_barrier(enum shbuf__os_barrier kind) {
        if (!(shbuf__os_barriers() & kind))
                return -ENOSYS;
        int cmd = kind == SHBUF__OS_BARRIER_GLOBAL ? MEMBARRIER_CMD_GLOBAL_EXPEDITED
                                                   : MEMBARRIER_CMD_PRIVATE_EXPEDITED;
        /* It cannot fail once registered, but a filter (seccomp) could make
         * it: then fall back on the caller's own fence. */
        return membarrier(cmd) == 0 ? 0 : -ENOSYS;
}

int shbuf__os_cpu(void) {
        /* With glibc's restartable sequences this reads a word of memory. */
        return sched_getcpu();
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
        int fd = epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* It is handed to programs as the select descriptor: non-blocking. */
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int shbuf__os_fdset_add(int set, int fd) {
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.fd = fd;
        return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void shbuf__os_fdset_del(int set, int fd) {
        (void) epoll_ctl(set, EPOLL_CTL_DEL, fd, NULL);
}
