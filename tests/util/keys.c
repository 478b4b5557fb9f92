/*
 * Keys and leftovers. See keys.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend-desc.h"
#include "peer.h"

#define MAX_PIDS 4096
#define MAX_KEYS 4096

/*
 * Shared between the Check runner and all test children it forks: Check
 * runs neither atexit handlers nor checked teardowns when a test fails in
 * fork mode, so the runner must be told what to clean up.
 */
struct registry {
        _Atomic uint32_t npids;
        pid_t pids[MAX_PIDS];
        _Atomic uint32_t nkeys;
        key_t keys[MAX_KEYS];
};

static struct registry *registry;
static pid_t logged_pid;

/* Append one line to $SHBUF_TEST_LOG, read by the final CTest leak check. */
static void log_line(const char *fmt, long value) {
        const char *path = getenv("SHBUF_TEST_LOG");
        char line[64];
        int fd, n;

        if (!path || !*path)
                return;
        n = snprintf(line, sizeof(line), fmt, value);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        /* One short write with O_APPEND: lines of parallel tests never mix. */
        (void) !write(fd, line, (size_t) n);
        close(fd);
}

void t_init(void) {
        void *p = mmap(NULL, sizeof(struct registry), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                       0);
        if (p == MAP_FAILED) {
                perror("test-util: mmap");
                exit(EXIT_FAILURE);
        }
        registry = p;
}

void t_note_pid(pid_t pid) {
        log_line("pid %ld\n", (long) pid);
        if (!registry)
                return;
        uint32_t i = atomic_fetch_add(&registry->npids, 1);
        if (i < MAX_PIDS)
                registry->pids[i] = pid;
}

void t_note_key(key_t key) {
        log_line("key %ld\n", (long) key);
        if (!registry)
                return;
        uint32_t i = atomic_fetch_add(&registry->nkeys, 1);
        if (i < MAX_KEYS)
                registry->keys[i] = key;
}

key_t t_key_of(pid_t pid, unsigned n) {
        return (key_t) (T_KEY_PREFIX | (((uint32_t) pid & 0xffffu) << 8) | (n & 0xffu));
}

key_t t_key(unsigned n) {
        if (logged_pid != getpid()) {
                logged_pid = getpid();
                t_note_pid(logged_pid);
        }
        return t_key_of(getpid(), n);
}

shbuf *t_create(key_t key, unsigned long size) {
        if (logged_pid != getpid()) {
                logged_pid = getpid();
                t_note_pid(logged_pid);
        }
        shbuf *sb = shbuf_create(key, size);
        if (sb && key == 0) {
                int saved = errno;
                t_note_key(shbuf_get_key(sb));
                errno = saved;
        }
        return sb;
}

/* ---- the sweep ---------------------------------------------------------- */

static bool is_helper(pid_t pid) {
        char path[64], exe[4096];
        snprintf(path, sizeof(path), "/proc/%ld/exe", (long) pid);
        ssize_t n = readlink(path, exe, sizeof(exe) - 1);
        if (n < 0)
                return false;
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        return strcmp(base ? base + 1 : exe, "shbuf-peer") == 0;
}

/* The buffer under key, removed by the library. */
static int remove_buffer(key_t key) {
        if (shbuf_remove(key, NULL) < 0)
                return 0;
        fprintf(stderr, "test-util: removed leftover buffer 0x%08x\n", (unsigned) key);
        return 1;
}

int t_sweep(void) {
        int found = 0;

        if (!registry)
                return 0;
        uint32_t npids = atomic_load(&registry->npids), nkeys = atomic_load(&registry->nkeys);
        if (npids > MAX_PIDS)
                npids = MAX_PIDS;
        if (nkeys > MAX_KEYS)
                nkeys = MAX_KEYS;

        /* Helpers first, so that nothing is recreated while we sweep. */
        for (uint32_t i = 0; i < npids; i++) {
                pid_t pid = registry->pids[i];
                if (!t_pid_dead(pid) && is_helper(pid)) {
                        fprintf(stderr, "test-util: killed leftover helper %ld\n", (long) pid);
                        kill(pid, SIGKILL);
                        found++;
                }
        }
        for (int tries = 0; tries < 100; tries++) {
                bool any = false;
                for (uint32_t i = 0; i < npids; i++)
                        any = any || (is_helper(registry->pids[i]) && !t_pid_dead(registry->pids[i]));
                if (!any)
                        break;
                t_sleep_ms(10);
        }

        /* Buffers through the library first, then whatever objects of
         * any backend are left under the keys and in the ranges of the
         * processes that have exited (a live pid is not ours any more). */
        pid_t dead[MAX_PIDS];
        size_t ndead = 0;
        for (uint32_t i = 0; i < nkeys; i++)
                found += remove_buffer(registry->keys[i]);
        for (uint32_t i = 0; i < npids; i++) {
                if (!t_pid_dead(registry->pids[i]))
                        continue;
                dead[ndead++] = registry->pids[i];
                for (unsigned n = 0; n < 256; n++)
                        found += remove_buffer(t_key_of(registry->pids[i], n));
        }
        struct t_owners w = {.keys = registry->keys, .nkeys = nkeys, .pids = dead, .npids = ndead};
        found += t_sweep_owned(&w, true, "test-util", NULL);

        atomic_store(&registry->npids, 0);
        atomic_store(&registry->nkeys, 0);
        return found;
}

/* ---- what the library lists ------------------------------------------- */

/* Whether key is among the n buffers of list, which is freed. */
static int key_among(shbuf_info *list, size_t n, key_t key) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
                found |= list[i].key == key;
        free(list);
        return found;
}

int t_gc_removes(key_t key) {
        shbuf_info *gone = NULL;
        size_t n = 0;
        if (shbuf_gc(0, &gone, &n) < 0)
                return -errno;
        return key_among(gone, n, key);
}

int t_lists(key_t key) {
        shbuf_info *all = NULL;
        size_t n = 0;
        if (shbuf_list(&all, &n) < 0)
                return -errno;
        return key_among(all, n, key);
}
