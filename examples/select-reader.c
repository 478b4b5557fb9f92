/*
 * select-reader: the client end of a stream, driven by an event loop.
 *
 *   select-reader KEY [BYTES]
 *
 * A program that also waits for other descriptors cannot sleep in
 * shbuf_wait(). It turns on notification with shbuf_notify_enable() and
 * adds shbuf_get_select_fd() to its poll() (or select(), or epoll) set. When
 * the descriptor is readable it calls shbuf_post_select(), which re-arms
 * it, and then reads until the ring is empty. The loop also gives up when
 * the writer has sent nothing for IDLE_MS, as a real loop would run timers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/* sigaction() and poll() are POSIX; the build is strict C11 otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>

#include <libshbuf/shbuf.h>

#include "example.h"

/* How long the writer may stay silent. */
#define IDLE_MS 10000

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
        if (shbuf_notify_enable(sb, 1) < 0) {
                fprintf(stderr, "%s: notify_enable: %s\n", argv[0], strerror(errno));
                goto out;
        }
        struct pollfd pfd = {.fd = shbuf_get_select_fd(sb), .events = POLLIN};

        unsigned char chunk[4096];
        unsigned long done = 0;
        while (done < total) {
                /*
                 * Drain first: data committed before notification was
                 * enabled, or while we were busy, sent no new wake-up.
                 */
                unsigned long want = total - done < sizeof(chunk) ? total - done : sizeof(chunk);
                long n = shbuf_read(sb, chunk, want);
                if (n < 0) {
                        fprintf(stderr, "%s: read: %s\n", argv[0], strerror(errno));
                        goto out;
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
                if (n > 0)
                        continue;

                int r = poll(&pfd, 1, IDLE_MS);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "%s: poll: %s\n", argv[0], strerror(errno));
                        goto out;
                }
                if (r == 0) {
                        fprintf(stderr, "%s: nothing came for %d ms after %lu bytes\n", argv[0], IDLE_MS,
                                done);
                        goto out;
                }
                /* Readable: a notification, or the writer went away (EPIPE). */
                if (shbuf_post_select(sb) < 0) {
                        fprintf(stderr, "%s: post_select after %lu bytes: %s\n", argv[0], done,
                                strerror(errno));
                        goto out;
                }
        }
        printf("%s: read %lu bytes through the %s backend\n", argv[0], done, shbuf_get_backend(sb));
        ret = 0;
out:
        /* shbuf_free() also stops notification and closes the descriptor. */
        shbuf_free(sb);
        return ret;
}
