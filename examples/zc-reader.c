/*
 * zc-reader: the client end of a stream, with the zero-copy API.
 *
 *   zc-reader KEY [BYTES]
 *
 * Like reader.c, but looks at the data where it lies in the ring:
 * shbuf_get_read_pointer() gives the address of the next unread byte and
 * the contiguous unread bytes behind it, and shbuf_inc_read_pointer()
 * consumes them once they are used.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/* sigaction() and poll() are POSIX; the build is strict C11 otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <libshbuf/shbuf.h>

#include "example.h"

int main(int argc, char **argv) {
        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: %s KEY [BYTES]\n", argv[0]);
                return 2;
        }
        key_t key = (key_t) example_parse(argv[0], "key", argv[1], 0x7fffffff);
        unsigned long total = EXAMPLE_DEFAULT_BYTES;
        if (argc == 3)
                total = example_parse(argv[0], "byte count", argv[2], (unsigned long) -1);

        shbuf *sb = shbuf_open(key);
        if (!sb) {
                fprintf(stderr, "%s: cannot open buffer %ld: %s\n", argv[0], (long) key, strerror(errno));
                return 1;
        }

        int ret = 1;
        unsigned long done = 0;
        while (done < total) {
                unsigned long l;
                const unsigned char *p = shbuf_get_read_pointer(sb, &l);
                if (!p) {
                        fprintf(stderr, "%s: get_read_pointer: %s\n", argv[0], strerror(errno));
                        goto out;
                }
                if (l == 0) {
                        if (shbuf_wait(sb) < 0) {
                                fprintf(stderr, "%s: wait after %lu bytes: %s\n", argv[0], done,
                                        strerror(errno));
                                goto out;
                        }
                        continue;
                }
                if (l > total - done)
                        l = total - done;
                /* The data stays valid in place until we consume it. */
                for (unsigned long i = 0; i < l; i++) {
                        if (p[i] != example_pattern(done + i)) {
                                fprintf(stderr, "%s: byte %lu is %u, expected %u\n", argv[0], done + i, p[i],
                                        example_pattern(done + i));
                                goto out;
                        }
                }
                /* Hand the space back to the writer (and wake it if it waits for room). */
                if (shbuf_inc_read_pointer(sb, l) < 0) {
                        fprintf(stderr, "%s: inc_read_pointer: %s\n", argv[0], strerror(errno));
                        goto out;
                }
                done += l;
        }
        printf("%s: read %lu bytes through the %s backend\n", argv[0], done, shbuf_get_backend(sb));
        ret = 0;
out:
        shbuf_free(sb);
        return ret;
}
