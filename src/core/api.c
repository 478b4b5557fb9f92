/*
 * The public edge: argument checks and the translation of the core's -errno
 * results into the 0.0.3 convention (NULL or -1, with errno set). Nothing
 * else happens here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>

#include "config.h"
#include "handle.h"

/* r < 0 is -errno: set errno and return -1; else return r. */
static long ret_long(long r) {
        if (r < 0) {
                errno = (int) -r;
                return -1;
        }
        return r;
}

static int ret_int(int r) {
        return (int) ret_long(r);
}

static void *ret_ptr(int r, void *p) {
        if (r < 0) {
                errno = -r;
                return NULL;
        }
        return p;
}

/* Reject a NULL handle (and other programming errors) with EINVAL. */
#define check_int(expr)                                                                                     \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        errno = EINVAL;                                                                     \
                        return -1;                                                                          \
                }                                                                                           \
        } while (0)

#define check_ptr(expr)                                                                                     \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        errno = EINVAL;                                                                     \
                        return NULL;                                                                        \
                }                                                                                           \
        } while (0)

SHBUF_EXPORT shbuf *shbuf_create_with(key_t key, unsigned long size, const shbuf_options *opts) {
        shbuf *sb = NULL;
        int r = shbuf__create(&sb, key, size, opts);
        return ret_ptr(r, sb);
}

SHBUF_EXPORT shbuf *shbuf_create(key_t key, unsigned long size) {
        return shbuf_create_with(key, size, NULL);
}

SHBUF_EXPORT shbuf *shbuf_open_with(key_t key, const shbuf_options *opts) {
        shbuf *sb = NULL;
        int r = shbuf__open(&sb, key, opts);
        return ret_ptr(r, sb);
}

SHBUF_EXPORT shbuf *shbuf_open(key_t key) {
        return shbuf_open_with(key, NULL);
}

SHBUF_EXPORT void shbuf_free(shbuf *sb) {
        if (sb) {
                int saved = errno;
                shbuf__free(sb);
                errno = saved;
        }
}

SHBUF_EXPORT int shbuf_access(shbuf *sb, int mode) {
        check_int(sb);
        return ret_int(shbuf__access(sb, mode));
}

SHBUF_EXPORT key_t shbuf_get_key(shbuf *sb) {
        check_int(sb);
        return sb->key;
}

SHBUF_EXPORT unsigned long shbuf_get_size(shbuf *sb) {
        if (!sb) {
                errno = EINVAL;
                return 0;
        }
        return (unsigned long) sb->size;
}

SHBUF_EXPORT unsigned char *shbuf_get_pointer(shbuf *sb) {
        check_ptr(sb);
        return sb->data;
}

SHBUF_EXPORT shbuf_status *shbuf_get_status(shbuf *sb) {
        check_ptr(sb);
        return shbuf__get_status(sb);
}

SHBUF_EXPORT int shbuf_notify_enable(shbuf *sb, int b) {
        check_int(sb);
        return ret_int(shbuf__notify_enable(sb, b != 0));
}

SHBUF_EXPORT int shbuf_notify(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__notify(sb));
}

SHBUF_EXPORT int shbuf_wait(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__wait(sb, -1));
}

SHBUF_EXPORT int shbuf_wait_timeout(shbuf *sb, int timeout_ms) {
        check_int(sb);
        return ret_int(shbuf__wait(sb, timeout_ms < 0 ? -1 : timeout_ms));
}

SHBUF_EXPORT int shbuf_set_spin(shbuf *sb, unsigned usec) {
        check_int(sb);
        return ret_int(shbuf__set_spin(sb, usec));
}

SHBUF_EXPORT int shbuf_set_busy_spin(shbuf *sb, unsigned usec) {
        check_int(sb);
        return ret_int(shbuf__set_busy_spin(sb, usec));
}

SHBUF_EXPORT int shbuf_get_select_fd(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__select_fd(sb));
}

SHBUF_EXPORT int shbuf_post_select(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__post_select(sb));
}

SHBUF_EXPORT int shbuf_is_connected(shbuf *sb) {
        check_int(sb);
        return shbuf__peer_connected(sb);
}

SHBUF_EXPORT int shbuf_status_lock(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__status_lock(sb));
}

SHBUF_EXPORT int shbuf_status_unlock(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__status_unlock(sb));
}

SHBUF_EXPORT int shbuf_reset(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__reset(sb, false));
}

SHBUF_EXPORT int shbuf_zero(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__reset(sb, true));
}

SHBUF_EXPORT unsigned char *shbuf_get_read_pointer(shbuf *sb, unsigned long *l) {
        unsigned char *p = NULL;
        uint64_t len = 0;
        check_ptr(sb && l);
        int r = shbuf__get_read(sb, &p, &len);
        *l = (unsigned long) len;
        return ret_ptr(r, p);
}

SHBUF_EXPORT int shbuf_inc_read_pointer(shbuf *sb, unsigned long r) {
        check_int(sb);
        int rc = shbuf__commit_read(sb, r);
        return rc < 0 ? ret_int(rc) : 0;
}

SHBUF_EXPORT unsigned char *shbuf_get_write_pointer(shbuf *sb, unsigned long *l) {
        unsigned char *p = NULL;
        uint64_t len = 0;
        check_ptr(sb && l);
        int r = shbuf__get_write(sb, &p, &len);
        *l = (unsigned long) len;
        return ret_ptr(r, p);
}

SHBUF_EXPORT int shbuf_inc_write_pointer(shbuf *sb, unsigned long w) {
        check_int(sb);
        int rc = shbuf__commit_write(sb, w);
        return rc < 0 ? ret_int(rc) : 0;
}

SHBUF_EXPORT int shbuf_is_full(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__is_full(sb));
}

SHBUF_EXPORT int shbuf_is_empty(shbuf *sb) {
        check_int(sb);
        return ret_int(shbuf__is_empty(sb));
}

SHBUF_EXPORT long shbuf_read(shbuf *sb, unsigned char *buf, unsigned long n) {
        check_int(sb && (buf || n == 0));
        return ret_long(shbuf__read(sb, buf, n));
}

SHBUF_EXPORT long shbuf_write(shbuf *sb, const unsigned char *buf, unsigned long n) {
        check_int(sb && (buf || n == 0));
        return ret_long(shbuf__write(sb, buf, n));
}

static const char *backend_names[SHBUF_BUILT_COUNT + 1];
static pthread_once_t backend_names_once = PTHREAD_ONCE_INIT;

static void fill_backend_names(void) {
        const struct shbuf__backend *b;
        for (size_t i = 0; i < SHBUF_BUILT_COUNT && (b = shbuf__backend_nth(i)); i++)
                backend_names[i] = b->name;
}

SHBUF_EXPORT const char *const *shbuf_backends(void) {
        pthread_once(&backend_names_once, fill_backend_names);
        return backend_names;
}

SHBUF_EXPORT const char *shbuf_default_backend(void) {
        const struct shbuf__backend *b = shbuf__backend_nth(0);
        return b ? b->name : NULL;
}

SHBUF_EXPORT const char *shbuf_get_backend(shbuf *sb) {
        check_ptr(sb);
        return sb->backend->name;
}

SHBUF_EXPORT int shbuf_get_fallback_errno(shbuf *sb) {
        check_int(sb);
        return sb->fallback_errno;
}

SHBUF_EXPORT int shbuf_list(shbuf_info **ret, size_t *count) {
        check_int(ret && count);
        return ret_int(shbuf__list(ret, count));
}

SHBUF_EXPORT int shbuf_list_other(shbuf_other **ret, size_t *count) {
        check_int(ret && count);
        return ret_int(shbuf__list_other(ret, count));
}

SHBUF_EXPORT int shbuf_inspect(key_t key, const char *backend, shbuf_info *ret) {
        check_int(ret);
        return ret_int(shbuf__inspect(key, backend, ret));
}

SHBUF_EXPORT int shbuf_remove(key_t key, const char *backend) {
        return ret_int(shbuf__remove(key, backend));
}

SHBUF_EXPORT int shbuf_gc(int dry_run, shbuf_info **ret, size_t *count) {
        return ret_int(shbuf__gc(dry_run != 0, ret, count));
}
