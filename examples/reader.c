/*
 * reader: the client end of a stream, with the copying API.
 *
 *   reader KEY [BYTES]
 *
 * Attaches to the buffer under KEY (as printed by writer or zc-writer),
 * copies BYTES bytes (1 MiB by default) out of it with shbuf_read(),
 * sleeping in shbuf_wait() while the ring is empty, and checks that they
 * are the writers' counter pattern.
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
        unsigned char chunk[4096];
        unsigned long done = 0;
        while (done < total) {
                unsigned long want = total - done < sizeof(chunk) ? total - done : sizeof(chunk);
                long n = shbuf_read(sb, chunk, want);
                if (n < 0) {
                        fprintf(stderr, "%s: read: %s\n", argv[0], strerror(errno));
                        goto out;
                }
                if (n == 0) {
                        /* Empty: sleep until the writer commits (EPIPE if it went away). */
                        if (shbuf_wait(sb) < 0) {
                                fprintf(stderr, "%s: wait after %lu bytes: %s\n", argv[0], done,
                                        strerror(errno));
                                goto out;
                        }
                        continue;
                }
                for (long i = 0; i < n; i++) {
                        if (chunk[i] != example_pattern(done + (unsigned long) i)) {
                                fprintf(stderr, "%s: byte %lu is %u, expected %u\n", argv[0],
                                        done + (unsigned long) i, chunk[i],
                                        example_pattern(done + (unsigned long) i));
                                goto out;
                        }
                }
                done += (unsigned long) n;
        }
        printf("%s: read %lu bytes through the %s backend\n", argv[0], done, shbuf_get_backend(sb));
        ret = 0;
out:
        /* The client only detaches: the writer still owns the buffer. */
        shbuf_free(sb);
        return ret;
}
