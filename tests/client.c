/*
 * See client.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "client.h"

#include <stdlib.h>
#include <unistd.h>

shbuf *t_mk(unsigned n, unsigned long size) {
        shbuf *sb = t_create(t_key(n), size);
        ck_assert_msg(sb != NULL, "shbuf_create(0x%08x, %lu): %s", (unsigned) t_key(n), size,
                      strerror(errno));
        return sb;
}

void t_command(int fd, char c) {
        ck_assert_int_eq(t_write_all(fd, &c, 1), 0);
}

/* A child's commands: one byte, or 0 after a minute or at EOF (the tests
 * have long timed out by then). */
static char cget(int fd) {
        return t_get(fd, 60000);
}

/* The client of t_start_client(); 'E' if opening failed (exit code: errno). */
static int c_client(key_t key, int in, int out, void *arg) {
        (void) arg;
        shbuf *sb = shbuf_open(key);
        if (!sb) {
                int e = errno;
                t_put(out, 'E');
                return e;
        }
        t_put(out, 'o');
        for (;;) {
                char c = cget(in);
                switch (c) {
                case 'x':
                        _exit(0);
                case 'w':
                        t_put(out, shbuf_write(sb, (const unsigned char *) "abc", 3) == 3 ? 'w' : 'E');
                        break;
                case 'c':
                        t_put(out, shbuf_is_connected(sb) == 1 ? '1' : '0');
                        break;
                case 'U':
                        errno = 0;
                        t_put(out, shbuf_status_unlock(sb) == -1 && errno == EPERM ? 'P' : 'E');
                        break;
                default: /* 'f' or EOF */
                        shbuf_free(sb);
                        t_put(out, 'd');
                        return 0;
                }
        }
}

struct t_child t_start_client(key_t key) {
        struct t_child c = t_fork(c_client, key, NULL);
        char r = t_get(c.from, 5000);
        ck_assert_msg(r == 'o', "the client could not open 0x%08x (%c)", (unsigned) key, r ? r : '?');
        return c;
}
