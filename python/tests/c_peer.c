/*
 * c_peer: the C side of the Python module's cross-language tests, on the
 * public API only.
 *
 *   c_peer create SIZE write|read N SEED   create a buffer, print its key on a
 *                                          line of stdout, then stream
 *   c_peer open KEY write|read N SEED      attach to KEY, then stream
 *
 * "write" sends N bytes of the test pattern for SEED, "read" receives N bytes
 * and checks them against it. The pattern is a pseudo-random table whose
 * length is a prime, repeated, so a lost, doubled or misplaced chunk never
 * lines up with the ring size and always shows. A writer waits until the
 * reader has consumed everything before it lets go of the buffer. Exits 0 on
 * success, 1 with a one-line message on stderr otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/* key_t (in the library header) and clock_gettime() are POSIX, not C11. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libshbuf/shbuf.h>

/* Length of the pattern table; the Python tests use the same generator. */
#define PATTERN_LEN 65521

/* Give up when the other side makes no progress for this long. */
#define STALL_MS 30000

static unsigned char pattern[PATTERN_LEN];

/* The handle, so that every way out frees it: a provider that exits
 * without shbuf_free() would leave its buffer in the system. */
static shbuf *sb;

/* Set by SIGTERM and SIGINT; checked whenever a wait returns. */
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        stop = sig;
}

static void die(const char *what) {
        fprintf(stderr, "c_peer: %s: %s\n", what, strerror(errno));
        shbuf_free(sb);
        exit(1);
}

static void die_msg(const char *msg) {
        fprintf(stderr, "c_peer: %s\n", msg);
        shbuf_free(sb);
        exit(1);
}

static unsigned long long parse_number(const char *s, const char *what, unsigned long long max) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 0);
        if (errno || end == s || *end || s[0] == '-' || v > max) {
                fprintf(stderr, "c_peer: invalid %s '%s'\n", what, s);
                exit(2);
        }
        return v;
}

/* xorshift32, seeded so that seed 0 still gives a non-zero state. */
static void make_pattern(uint32_t seed) {
        uint32_t x = seed * 2654435761u + 1u;
        for (size_t i = 0; i < PATTERN_LEN; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                pattern[i] = (unsigned char) (x >> 24);
        }
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the peer; a timeout is not an error until nothing moved for
 * STALL_MS. Returns 0 when woken, -1 with errno EPIPE when the peer left. */
static int wait_peer(int64_t *last_progress) {
        int r = shbuf_wait_timeout(sb, 1000);
        if (stop)
                die_msg("terminated by a signal");
        if (r == 0)
                return 0;
        if (errno == EPIPE)
                return -1;
        if (errno != ETIMEDOUT && errno != EINTR)
                die("wait");
        if (now_ms() - *last_progress > STALL_MS)
                die_msg("no progress from the other side for 30 s");
        return 0;
}

static void do_write(uint64_t n) {
        uint64_t off = 0;
        size_t pos = 0;
        int64_t last = now_ms();

        while (off < n) {
                unsigned long l;
                unsigned char *p = shbuf_get_write_pointer(sb, &l);
                if (!p)
                        die("get_write_pointer");
                if (l == 0) {
                        if (wait_peer(&last) < 0)
                                die_msg("the reader went away before reading everything");
                        continue;
                }
                if (l > n - off)
                        l = (unsigned long) (n - off);
                for (unsigned long i = 0; i < l; i++) {
                        p[i] = pattern[pos];
                        if (++pos == PATTERN_LEN)
                                pos = 0;
                }
                if (shbuf_inc_write_pointer(sb, l) < 0)
                        die("inc_write_pointer");
                off += l;
                last = now_ms();
        }
        /* Let go only when the reader has it all. */
        for (;;) {
                int r = shbuf_is_empty(sb);
                if (r < 0)
                        die("is_empty");
                if (r)
                        break;
                if (wait_peer(&last) < 0) {
                        if (shbuf_is_empty(sb) == 1)
                                break;
                        die_msg("the reader went away before reading everything");
                }
        }
}

static void do_read(uint64_t n) {
        uint64_t off = 0;
        size_t pos = 0;
        int64_t last = now_ms();

        while (off < n) {
                unsigned long l;
                unsigned char *p = shbuf_get_read_pointer(sb, &l);
                if (!p)
                        die("get_read_pointer");
                if (l == 0) {
                        if (wait_peer(&last) < 0 && shbuf_is_empty(sb) == 1) {
                                fprintf(stderr,
                                        "c_peer: the writer went away after %" PRIu64 " of %" PRIu64
                                        " bytes\n",
                                        off, n);
                                shbuf_free(sb);
                                exit(1);
                        }
                        continue;
                }
                if (l > n - off)
                        l = (unsigned long) (n - off);
                for (unsigned long i = 0; i < l; i++) {
                        if (p[i] != pattern[pos]) {
                                fprintf(stderr,
                                        "c_peer: wrong byte at offset %" PRIu64
                                        ": 0x%02x, expected 0x%02x\n",
                                        off + i, p[i], pattern[pos]);
                                shbuf_free(sb);
                                exit(1);
                        }
                        if (++pos == PATTERN_LEN)
                                pos = 0;
                }
                if (shbuf_inc_read_pointer(sb, l) < 0)
                        die("inc_read_pointer");
                off += l;
                last = now_ms();
        }
}

int main(int argc, char **argv) {
        if (argc != 6 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "open") != 0) ||
            (strcmp(argv[3], "write") != 0 && strcmp(argv[3], "read") != 0)) {
                fprintf(stderr, "usage: c_peer create SIZE write|read N SEED\n"
                                "       c_peer open KEY write|read N SEED\n");
                return 2;
        }
        int creating = strcmp(argv[1], "create") == 0;
        int writing = strcmp(argv[3], "write") == 0;
        unsigned long long arg =
                parse_number(argv[2], creating ? "size" : "key", creating ? ULONG_MAX : INT32_MAX);
        uint64_t n = parse_number(argv[4], "byte count", UINT64_MAX);
        uint32_t seed = (uint32_t) parse_number(argv[5], "seed", UINT32_MAX);

        /* No SA_RESTART: a wait returns at once with EINTR. */
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        make_pattern(seed);
        sb = creating ? shbuf_create(0, (unsigned long) arg) : shbuf_open((key_t) arg);
        if (!sb)
                die(creating ? "create" : "open");
        if (creating) {
                printf("%ld\n", (long) shbuf_get_key(sb));
                if (fflush(stdout) != 0)
                        die("stdout");
        }
        if (writing)
                do_write(n);
        else
                do_read(n);
        shbuf_free(sb);
        return 0;
}
