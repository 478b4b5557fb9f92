/*
 * The table of backends: the only place in the core that names them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stddef.h>
#include <string.h>

#include "backend.h"
#include "config.h"

/*
 * Every backend the library knows, built here or not, one line each, named
 * as in the list of backends in the top CMakeLists.txt. That list says in
 * config.h which are built (SHBUF_BUILT_<name>), their ids and the default;
 * the folder of backend <name> defines shbuf__backend_<name>.
 */
/* clang-format off */
#define TABLE(X) \
        X(sysv)  \
        X(posix)
/* clang-format on */

/* IMPL(name): the backend's implementation where it is built, else NULL. A
 * line that CMake's list does not have leaves SHBUF_BUILT_<name> undefined,
 * and the compiler finds no IMPL_SHBUF_BUILT_<name>. */
#define IMPL_0(name) NULL
#define IMPL_1(name) &shbuf__backend_##name
#define IMPL__(built, name) IMPL_##built(name)
#define IMPL_(built, name) IMPL__(built, name) /* expands built to 0 or 1 */
#define IMPL(name) IMPL_(SHBUF_BUILT_##name, name)

#define DECLARE(name) extern const struct shbuf__backend shbuf__backend_##name;
TABLE(DECLARE)

static const struct known {
        const char *name;
        const struct shbuf__backend *impl; /* NULL: not built */
} known[] = {
#define LINE(name) {#name, IMPL(name)},
        /* clang-format off */
        TABLE(LINE)
        /* clang-format on */
};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))

/* The table and CMake's list have the same backends, and the same built. */
#define COUNT_BUILT(name) +SHBUF_BUILT_##name
_Static_assert(N_KNOWN == SHBUF_KNOWN_COUNT, "the table and the list in CMakeLists.txt differ");
_Static_assert(0 TABLE(COUNT_BUILT) == SHBUF_BUILT_COUNT,
               "a backend CMake builds is missing from the table");

static const struct known *lookup(const char *name) {
        for (size_t i = 0; i < N_KNOWN; i++)
                if (strcmp(known[i].name, name) == 0)
                        return &known[i];
        return NULL;
}

const struct shbuf__backend *shbuf__backend_nth(size_t n) {
        /* The build's default, chosen by name (CMake checked it is built). */
        const struct shbuf__backend *def = shbuf__backend_find(SHBUF_DEFAULT_BACKEND);
        if (n == 0)
                return def;
        for (size_t i = 0; i < N_KNOWN; i++)
                if (known[i].impl && known[i].impl != def && --n == 0)
                        return known[i].impl;
        return NULL;
}

const struct shbuf__backend *shbuf__backend_find(const char *name) {
        const struct known *k = lookup(name);
        return k ? k->impl : NULL;
}

bool shbuf__backend_known(const char *name) {
        return lookup(name) != NULL;
}
