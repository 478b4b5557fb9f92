/*
 * The SysV backend's wake-up FIFOs: "SHBUF_FIFO_DIR/shbuf-KKKKKKKK-p.fifo"
 * and "-c.fifo", one per side, made by a side when it enables notification
 * and written into by the committing peer.
 *
 * Anybody may make a name in SHBUF_FIFO_DIR (/dev/shm by default), so every
 * open is non-blocking and does not follow links, and what was opened is
 * checked with fstat() before use: a FIFO, and owned by whom it should be.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fifo.h"

static void fifo_path(char *buf, size_t n, key_t key, int side) {
        snprintf(buf, n, "%s/shbuf-%08x-%c.fifo", SHBUF_FIFO_DIR, (unsigned) key, side == 0 ? 'p' : 'c');
}

void shbuf__sysv_fifos_init(struct sysv_fifos *f) {
        pthread_mutex_init(&f->mutex, NULL);
        f->fd[0] = f->fd[1] = f->own_fd = -1;
        f->gen[0] = f->gen[1] = 0;
}

void shbuf__sysv_fifos_close(struct sysv_fifos *f) {
        for (int i = 0; i < 2; i++)
                if (f->fd[i] >= 0)
                        close(f->fd[i]);
        if (f->own_fd >= 0)
                close(f->own_fd);
        f->fd[0] = f->fd[1] = f->own_fd = -1;
        pthread_mutex_destroy(&f->mutex);
}

static bool is_me(uid_t uid, void *arg) {
        (void) arg;
        return uid == geteuid();
}

/*
 * Open the FIFO at path, never through a link and never waiting, and keep it
 * only if it is a FIFO whose owner owner_ok() accepts: a stranger may have
 * put anything under the name. O_RDWR: opening does not wait for a writer,
 * and the FIFO always has a reader (us), so no write raises SIGPIPE.
 * Returns the descriptor or -errno (EPROTO: not such a FIFO).
 */
static int open_checked(const char *path, bool (*owner_ok)(uid_t uid, void *arg), void *arg) {
        struct stat st;
        int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || !owner_ok(st.st_uid, arg)) {
                close(fd);
                return -EPROTO;
        }
        return fd;
}

/* Make side's FIFO and open it. */
int shbuf__sysv_fifo_open(struct sysv_fifos *f, key_t key, int side, int mode, _Atomic uint32_t *gen) {
        char path[128];
        struct stat st;

        fifo_path(path, sizeof(path), key, side);
        /* A FIFO of ours left by a process that died: replace it. Anything
         * else under the name is not touched. */
        if (lstat(path, &st) == 0) {
                if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
                        return -EEXIST;
                if (unlink(path) < 0)
                        return -errno;
        }
        if (mkfifo(path, 0600) < 0)
                return -errno;
        /* Still the FIFO we made: nobody else could have swapped it in a
         * sticky directory, but a directory need not be sticky. */
        int fd = open_checked(path, is_me, NULL);
        if (fd == -EPROTO)
                return -EEXIST;
        /* The buffer's mode, so that a peer allowed to use the buffer may
         * write here; mkfifo() would have applied the umask. */
        if (fd < 0 || fchmod(fd, (mode_t) mode | 0200) < 0) {
                int r = fd < 0 ? fd : -errno;
                if (fd >= 0)
                        close(fd);
                unlink(path);
                return r;
        }
        f->own_fd = fd;
        /* Peers that see the new generation reopen by name. */
        atomic_fetch_add(gen, 1);
        return fd;
}

int shbuf__sysv_fifo_drain(struct sysv_fifos *f) {
        char buf[64];
        ssize_t got;
        int total = 0;
        while ((got = read(f->own_fd, buf, sizeof(buf))) > 0)
                total += (int) got;
        return total;
}

void shbuf__sysv_fifo_close(struct sysv_fifos *f, key_t key, int side) {
        char path[128];
        if (f->own_fd < 0)
                return;
        close(f->own_fd);
        f->own_fd = -1;
        fifo_path(path, sizeof(path), key, side);
        unlink(path);
}

int shbuf__sysv_fifo_chmod(struct sysv_fifos *f, int mode) {
        if (f->own_fd >= 0 && fchmod(f->own_fd, (mode_t) mode | 0200) < 0)
                return -errno;
        return 0;
}

int shbuf__sysv_fifo_kick(struct sysv_fifos *f, key_t key, int side, uint32_t gen,
                          bool (*owner_ok)(uid_t uid, void *arg), void *arg) {
        int r = 0;
        pthread_mutex_lock(&f->mutex);
        if (f->fd[side] < 0 || f->gen[side] != gen) {
                char path[128];
                if (f->fd[side] >= 0)
                        close(f->fd[side]);
                fifo_path(path, sizeof(path), key, side);
                /* A FIFO whose side closed it still has a reader (us): the
                 * wake-up is lost only with the FIFO, when that side
                 * stopped waiting through it. */
                int fd = open_checked(path, owner_ok, arg);
                if (fd < 0)
                        r = fd;
                f->fd[side] = fd < 0 ? -1 : fd;
                f->gen[side] = gen;
        }
        /* A full FIFO is readable already: nothing is lost. */
        if (r == 0 && write(f->fd[side], "w", 1) < 0 && errno != EAGAIN)
                r = -errno;
        pthread_mutex_unlock(&f->mutex);
        return r;
}

void shbuf__sysv_fifo_remove_all(key_t key) {
        for (int side = 0; side < 2; side++) {
                char path[128];
                struct stat st;
                fifo_path(path, sizeof(path), key, side);
                if (lstat(path, &st) == 0 && S_ISFIFO(st.st_mode))
                        unlink(path);
        }
}
