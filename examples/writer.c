/*
 * writer: the providing end of a stream, with the copying API.
 *
 *   writer [BYTES]
 *
 * Creates a shared buffer under a free key, prints the key on a line of its
 * own, then copies BYTES bytes (1 MiB by default) into the ring with
 * shbuf_write(), sleeping in shbuf_wait() while the ring is full. A reader
 * (reader.c, zc-reader.c, select-reader.c) attaches with that key.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/* sigaction() and poll() are POSIX; the build is strict C11 otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <libshbuf/shbuf.h>

#include "example.h"

int main(int argc, char **argv) {
        unsigned long total = EXAMPLE_DEFAULT_BYTES;
        if (argc > 2) {
                fprintf(stderr, "usage: %s [BYTES]\n", argv[0]);
                return 2;
        }
        if (argc == 2)
                total = example_parse(argv[0], "byte count", argv[1], (unsigned long) -1);
        example_catch_signals();

        /* Key 0 lets the library pick a free key; the ring holds 64 KiB. */
        shbuf *sb = shbuf_create(0, 64 * 1024);
        if (!sb) {
                fprintf(stderr, "%s: cannot create a buffer: %s\n", argv[0], strerror(errno));
                return 1;
        }
        /* The reader needs the key: publish it, and flush since stdout may be a pipe. */
        printf("%ld\n", (long) shbuf_get_key(sb));
        fflush(stdout);

        int ret = 1;
        unsigned char chunk[4096];
        unsigned long done = 0;
        while (done < total) {
                /* Produce the next chunk, then copy as much of it as fits. */
                unsigned long want = total - done < sizeof(chunk) ? total - done : sizeof(chunk);
                for (unsigned long i = 0; i < want; i++)
                        chunk[i] = example_pattern(done + i);
                long n = shbuf_write(sb, chunk, want);
                if (n < 0) {
                        fprintf(stderr, "%s: write: %s\n", argv[0], strerror(errno));
                        goto out;
                }
                done += (unsigned long) n;
                /*
                 * Nothing fitted: the ring is full. The reader's next commit
                 * wakes us; one that came after shbuf_write() looked is not lost.
                 */
                if (n == 0 && (example_stop || shbuf_wait(sb) < 0)) {
                        fprintf(stderr, "%s: wait: %s\n", argv[0],
                                example_stop ? "interrupted" : strerror(errno));
                        goto out;
                }
        }

        /*
         * Freeing the buffer as its provider removes it, unread data and all:
         * stay until the reader has taken everything (or has gone away).
         */
        for (;;) {
                int empty = shbuf_is_empty(sb);
                if (empty != 0) {
                        ret = empty == 1 ? 0 : 1;
                        break;
                }
                if (shbuf_wait(sb) < 0) {
                        int err = errno;
                        /* A reader that took the last byte may free its end before we look. */
                        if (err == EPIPE && shbuf_is_empty(sb) == 1)
                                ret = 0;
                        else if (err == EPIPE)
                                fprintf(stderr, "%s: the reader left before reading everything\n", argv[0]);
                        else
                                fprintf(stderr, "%s: wait: %s\n", argv[0], strerror(err));
                        break;
                }
        }
out:
        shbuf_free(sb);
        return ret;
}
