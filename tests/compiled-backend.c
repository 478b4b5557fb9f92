/*
 * An application that picks its backend when it is compiled: built twice,
 * with -DSHBUF_USE_BACKEND='"sysv"' and '"posix"'. shbuf_create() and
 * shbuf_open() must then use that backend whatever the environment says.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE /* setenv */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libshbuf/shbuf.h>

int main(void) {
        /* The environment names the other backend: the compiled choice wins,
         * as an explicit per-call choice would. */
        setenv("SHBUF_BACKEND", strcmp(SHBUF_USE_BACKEND, "sysv") == 0 ? "posix" : "sysv", 1);
        shbuf *sb = shbuf_create(0, 4096);
        if (!sb) {
                fprintf(stderr, "compiled-backend: create: %s\n", strerror(errno));
                return 1;
        }
        int ok = strcmp(shbuf_get_backend(sb), SHBUF_USE_BACKEND) == 0;
        shbuf *cl = shbuf_open(shbuf_get_key(sb));
        ok = ok && cl && strcmp(shbuf_get_backend(cl), SHBUF_USE_BACKEND) == 0;
        shbuf_free(cl);
        shbuf_free(sb);
        printf("compiled-backend: wanted %s: %s\n", SHBUF_USE_BACKEND, ok ? "ok" : "FAILED");
        return ok ? 0 : 1;
}
