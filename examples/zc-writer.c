/*
 * zc-writer: the providing end of a stream, with the zero-copy API.
 *
 *   zc-writer [BYTES]
 *
 * Like writer.c, but produces the data directly in the ring: it asks for
 * the write position and the contiguous free space behind it with
 * shbuf_get_write_pointer(), fills that memory and commits it with
 * shbuf_inc_write_pointer(). Nothing is copied.
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

        shbuf *sb = shbuf_create(0, 64 * 1024);
        if (!sb) {
                fprintf(stderr, "%s: cannot create a buffer: %s\n", argv[0], strerror(errno));
                return 1;
        }
        printf("%ld\n", (long) shbuf_get_key(sb));
        fflush(stdout);

        int ret = 1;
        unsigned long done = 0;
        while (done < total && !example_stop) {
                /*
                 * l is the free space up to the end of the ring, so a
                 * wrapping stream takes two rounds; the memory is ours until
                 * we commit it.
                 */
                unsigned long l;
                unsigned char *p = shbuf_get_write_pointer(sb, &l);
                if (!p) {
                        fprintf(stderr, "%s: get_write_pointer: %s\n", argv[0], strerror(errno));
                        goto out;
                }
                if (l == 0) {
                        if (shbuf_wait(sb) < 0) {
                                fprintf(stderr, "%s: wait: %s\n", argv[0], strerror(errno));
                                goto out;
                        }
                        continue;
                }
                if (l > total - done)
                        l = total - done;
                for (unsigned long i = 0; i < l; i++)
                        p[i] = example_pattern(done + i);
                /* Commit: the bytes become visible to the reader, which is woken if it sleeps. */
                if (shbuf_inc_write_pointer(sb, l) < 0) {
                        fprintf(stderr, "%s: inc_write_pointer: %s\n", argv[0], strerror(errno));
                        goto out;
                }
                done += l;
        }
        if (example_stop) {
                fprintf(stderr, "%s: interrupted\n", argv[0]);
                goto out;
        }

        /* As in writer.c: freeing would remove what the reader has not read yet. */
        for (;;) {
                int empty = shbuf_is_empty(sb);
                if (empty != 0) {
                        ret = empty == 1 ? 0 : 1;
                        break;
                }
                if (shbuf_wait(sb) < 0) {
                        int err = errno;
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
