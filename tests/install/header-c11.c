/*
 * The public header on its own, as a strict C11 or C++ program sees it: no
 * feature-test macros, every warning an error (see CMakeLists.txt). Also
 * expands the compile-time backend macros, when one is chosen.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <libshbuf/shbuf.h>

shbuf *header_test_make(key_t key);

shbuf *header_test_make(key_t key) {
        shbuf *sb = shbuf_create(key, 4096);
        if (!sb)
                sb = shbuf_open(key);
        return sb;
}
