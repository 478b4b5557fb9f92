/*
 * The SysV backend's select source: a FIFO per side that the committing
 * peer writes a byte into. SysV message queues cannot be polled, and a
 * thread that forwards messages into a pipe would put a second wake-up
 * between the peer's commit and the program's poll() returning.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_SYSV_FIFO_H
#define SHBUF_SYSV_FIFO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The peers' FIFOs as one process writes into them. */
struct sysv_fifos {
        pthread_mutex_t mutex; /* send() may come from several threads */
        int fd[2];             /* by side: opened for writing, -1 if not */
        uint32_t gen[2];       /* ... as of this generation of the FIFO */
        int own_fd;            /* our own side's, while it is the select source */
};

void shbuf__sysv_fifos_init(struct sysv_fifos *f);
void shbuf__sysv_fifos_close(struct sysv_fifos *f);

/* Make side's FIFO for buffer key with the buffer's mode and open it;
 * bumps *gen so that peers reopen. Returns the descriptor or -errno. */
int shbuf__sysv_fifo_open(struct sysv_fifos *f, key_t key, int side, int mode, _Atomic uint32_t *gen);
/* Empty our own FIFO; how many bytes it held. */
int shbuf__sysv_fifo_drain(struct sysv_fifos *f);
/* Close and remove our own FIFO. */
void shbuf__sysv_fifo_close(struct sysv_fifos *f, key_t key, int side);
int shbuf__sysv_fifo_chmod(struct sysv_fifos *f, int mode);

/* Write a byte into side's FIFO, (re)opening it if its generation moved;
 * a FIFO whose owner owner_ok() refuses was not made by the peer, and is
 * not written to (-EPROTO). */
int shbuf__sysv_fifo_kick(struct sysv_fifos *f, key_t key, int side, uint32_t gen,
                          bool (*owner_ok)(uid_t uid, void *arg), void *arg);

/* Remove both sides' FIFOs of key, if they are FIFOs of ours. */
void shbuf__sysv_fifo_remove_all(key_t key);

#endif
