/*
 * The table of compiled backends: the only place that names them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "backend.h"
#include "config.h"

#if SHBUF_HAVE_SYSV
extern const struct shbuf__backend shbuf__backend_sysv;
#endif
#if SHBUF_HAVE_POSIX
extern const struct shbuf__backend shbuf__backend_posix;
#endif

/* The build default comes first, so "first that works" is "default first". */
const struct shbuf__backend *const shbuf__backends[] = {
#if SHBUF_DEFAULT_IS_POSIX
#if SHBUF_HAVE_POSIX
        &shbuf__backend_posix,
#endif
#if SHBUF_HAVE_SYSV
        &shbuf__backend_sysv,
#endif
#else
#if SHBUF_HAVE_SYSV
        &shbuf__backend_sysv,
#endif
#if SHBUF_HAVE_POSIX
        &shbuf__backend_posix,
#endif
#endif
        NULL,
};

const struct shbuf__backend *shbuf__backend_find(const char *name) {
        for (size_t i = 0; shbuf__backends[i]; i++)
                if (strcmp(shbuf__backends[i]->name, name) == 0)
                        return shbuf__backends[i];
        return NULL;
}
