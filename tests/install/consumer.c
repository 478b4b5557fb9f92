/*
 * A program built against an installed libshbuf, the way its users build
 * theirs (install-test.sh): it creates a buffer, attaches to it, moves a few
 * bytes through it and says which backend it used.
 *
 * CONSUMER_SHORT_INCLUDE picks the spelling the pkg-config module and the
 * CMake targets both allow, <shbuf.h>, instead of <libshbuf/shbuf.h>.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef CONSUMER_SHORT_INCLUDE
#include <shbuf.h>
#define INCLUDE_SPELLING "shbuf.h"
#else
#include <libshbuf/shbuf.h>
#define INCLUDE_SPELLING "libshbuf/shbuf.h"
#endif

#ifdef SHBUF_USE_BACKEND
#define COMPILE_TIME_BACKEND SHBUF_USE_BACKEND
#else
#define COMPILE_TIME_BACKEND "none"
#endif

int main(int argc, char **argv) {
        (void) argc;
        static const unsigned char msg[] = "hello through shared memory";
        unsigned char got[sizeof(msg)];
        int ret = 1;

        shbuf *provider = shbuf_create(0, 4096);
        if (!provider) {
                fprintf(stderr, "%s: create: %s\n", argv[0], strerror(errno));
                return 1;
        }
        /* Tells install-test.sh which key to look for should anything leak. */
        printf("key=%ld\n", (long) shbuf_get_key(provider));
        fflush(stdout);

        shbuf *client = shbuf_open(shbuf_get_key(provider));
        if (!client) {
                fprintf(stderr, "%s: open: %s\n", argv[0], strerror(errno));
                goto out;
        }
        if (shbuf_write(provider, msg, sizeof(msg)) != (long) sizeof(msg)) {
                fprintf(stderr, "%s: write: %s\n", argv[0], strerror(errno));
                goto out;
        }
        if (shbuf_read(client, got, sizeof(got)) != (long) sizeof(got) || memcmp(got, msg, sizeof(msg)) != 0) {
                fprintf(stderr, "%s: read back something else than was written\n", argv[0]);
                goto out;
        }
        if (strcmp(shbuf_get_backend(client), shbuf_get_backend(provider)) != 0) {
                fprintf(stderr, "%s: the two ends use different backends\n", argv[0]);
                goto out;
        }
        printf("backend=%s compile-time=%s include=%s version=%d\n", shbuf_get_backend(provider),
               COMPILE_TIME_BACKEND, INCLUDE_SPELLING, SHBUF_VERSION_NUMBER);
        ret = 0;
out:
        shbuf_free(client);
        shbuf_free(provider);
        return ret;
}
