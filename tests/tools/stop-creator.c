/*
 * A creator that stops half-way, for the shell tests of shbuf(1): preloaded
 * into `shbuf cat --create`, it waits to be killed when the library reaches
 * the call the environment variable SHBUF_TEST_STOP names, and passes every
 * call on to the C library:
 *
 *   posix-data   reserving the POSIX data object's memory (posix_fallocate()
 *                of more than a control block)
 *   sysv-queue   making the SysV message queue (msgget() with IPC_CREAT)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <unistd.h>

/* Larger than any control block: a data object. */
#define DATA_MIN 4096

static void stop_if(const char *here) {
        const char *want = getenv("SHBUF_TEST_STOP");
        if (!want || strcmp(want, here) != 0)
                return;
        for (;;)
                pause();
}

static void *next(const char *name) {
        void *f = dlsym(RTLD_NEXT, name);
        if (!f) {
                fprintf(stderr, "stop-creator: no %s\n", name);
                abort();
        }
        return f;
}

int posix_fallocate(int fd, off_t offset, off_t len) {
        int (*real)(int, off_t, off_t);
        *(void **) &real = next("posix_fallocate"); /* as dlsym(3) shows */
        if (len > DATA_MIN)
                stop_if("posix-data");
        return real(fd, offset, len);
}

int msgget(key_t key, int msgflg) {
        int (*real)(key_t, int);
        *(void **) &real = next("msgget");
        if (msgflg & IPC_CREAT)
                stop_if("sysv-queue");
        return real(key, msgflg);
}
