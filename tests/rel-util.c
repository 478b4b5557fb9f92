/*
 * Helpers of the reliability tests. See rel-util.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rel-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
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

/* ---- objects ------------------------------------------------------------ */

static void append(char *desc, size_t len, const char *fmt, ...) {
        size_t used = strlen(desc);
        va_list ap;
        if (used + 1 >= len)
                return;
        va_start(ap, fmt);
        vsnprintf(desc + used, len - used, fmt, ap);
        va_end(ap);
}

/* Lines of /proc/sysvipc/<kind> with this key, or (for shm) key 0 and this creator. */
static int sysv_objects(const char *kind, key_t key, pid_t creator, char *desc, size_t len) {
        char path[64], line[512];
        int n = 0;
        snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind);
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        if (!fgets(line, sizeof(line), f)) {
                fclose(f);
                return 0;
        }
        while (fgets(line, sizeof(line), f)) {
                long long k, id, a, b;
                unsigned long long perms;
                if (sscanf(line, "%lld %lld %llo %lld %lld", &k, &id, &perms, &a, &b) != 5)
                        continue;
                bool hit = k == (long long) key;
                /* shm columns: key shmid perms size cpid ... */
                if (strcmp(kind, "shm") == 0 && k == 0 && creator > 0 && b == (long long) creator)
                        hit = true;
                if (hit) {
                        append(desc, len, "%s 0x%08llx id %lld; ", kind, k, id);
                        n++;
                }
        }
        fclose(f);
        return n;
}

int r_objects(key_t key, pid_t creator, char *desc, size_t desclen) {
        static const char *const shm_suffix[] = {"ctl", "data"};
        static const char *const mq_suffix[] = {"p", "c"};
        char name[64];
        int n = 0;

        desc[0] = 0;
        n += sysv_objects("shm", key, creator, desc, desclen);
        n += sysv_objects("sem", key, 0, desc, desclen);
        n += sysv_objects("msg", key, 0, desc, desclen);
        for (int i = 0; i < 2; i++) {
                struct stat st;
                snprintf(name, sizeof(name), "/dev/shm/shbuf-%08x-%s", (unsigned) key, shm_suffix[i]);
                if (stat(name, &st) == 0) {
                        append(desc, desclen, "%s; ", name);
                        n++;
                }
        }
        /* /dev/mqueue need not be mounted: ask mq_open. */
        for (int i = 0; i < 2; i++) {
                snprintf(name, sizeof(name), "/shbuf-%08x-%s", (unsigned) key, mq_suffix[i]);
                mqd_t q = mq_open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (q != (mqd_t) -1 || errno != ENOENT) {
                        append(desc, desclen, "queue %s; ", name);
                        n++;
                }
                if (q != (mqd_t) -1)
                        mq_close(q);
        }
        return n;
}

volatile void *r_map_control(key_t key, const char *backend) {
        void *p;
        if (strcmp(backend, "sysv") == 0) {
                int id = shmget(key, 0, 0);
                if (id < 0)
                        return NULL;
                p = shmat(id, NULL, 0);
                return p == (void *) -1 ? NULL : p;
        }
        char name[64];
        snprintf(name, sizeof(name), "/shbuf-%08x-ctl", (unsigned) key);
        int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
                return NULL;
        struct stat st;
        p = fstat(fd, &st) == 0 ? mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                                : MAP_FAILED;
        close(fd);
        return p == MAP_FAILED ? NULL : p;
}

void r_unmap_control(volatile void *p, const char *backend) {
        if (!p)
                return;
        if (strcmp(backend, "sysv") == 0)
                shmdt((const void *) p);
        else
                munmap((void *) p, 4096);
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
