/*
 * Cross-process streaming: the test process and an unrelated helper process
 * (shbuf-peer, started with posix_spawn) stream a seeded pseudo-random byte
 * stream through a shared buffer, and the reader checks every byte.
 *
 * The table below covers a 4 KiB and a 1 MiB ring, the copying and the
 * zero-copy API, shbuf_wait() and poll() on the select descriptor, on each
 * side, with the provider as writer and as reader, and with the test as
 * provider and as client. Registered once per compiled backend.
 *
 * SHBUF_STREAM_MIB overrides the stream length (for quick runs while
 * developing); the default is 256 MiB per case.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"
#include "check-run.h"
#include "test-util.h"

extern char **environ;

#define MIB (UINT64_C(1) << 20)

struct config {
        const char *name;
        unsigned long ring;
        bool test_provides; /* the test creates, the peer opens (else the reverse) */
        bool provider_writes;
        const char *test_api, *test_wait;
        const char *peer_api, *peer_wait;
};

static const struct config configs[] = {
        {"1MiB provider=test writes, copy+wait / ptr+poll", MIB, true, true, "copy", "wait", "ptr", "poll"},
        {"1MiB provider=peer writes, ptr+poll / copy+wait", MIB, false, true, "ptr", "poll", "copy", "wait"},
        {"4KiB provider=test reads, copy+poll / ptr+wait", 4096, true, false, "copy", "poll", "ptr", "wait"},
        {"4KiB provider=peer reads, ptr+wait / copy+poll", 4096, false, false, "ptr", "wait", "copy",
         "poll"},
        {"1MiB provider=test reads, copy+wait both", MIB, true, false, "copy", "wait", "copy", "wait"},
        {"1MiB provider=peer reads, ptr+poll both", MIB, false, false, "ptr", "poll", "ptr", "poll"},
        {"4KiB provider=test writes, copy+wait both", 4096, true, true, "copy", "wait", "copy", "wait"},
        {"4KiB provider=peer writes, ptr+poll both", 4096, false, true, "ptr", "poll", "ptr", "poll"},
};

static uint64_t stream_bytes(void) {
        const char *e = getenv("SHBUF_STREAM_MIB");
        if (e && *e) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(e, &end, 10);
                if (!errno && end != e && !*end && v > 0)
                        return v * MIB;
        }
        return 256 * MIB;
}

/* Start shbuf-peer with its stdout on a pipe; returns its pid. */
static pid_t spawn_peer(char **argv, int *ret_out) {
        int p[2];
        pid_t pid;
        posix_spawn_file_actions_t fa;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
        ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO), 0);
        int r = posix_spawn(&pid, SHBUF_PEER_PATH, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        ck_assert_msg(r == 0, "posix_spawn %s: %s", SHBUF_PEER_PATH, strerror(r));
        t_note_pid(pid);
        *ret_out = p[0];
        return pid;
}

START_TEST(test_stream) {
        const struct config *c = &configs[_i];
        const bool test_writes = c->test_provides == c->provider_writes;
        const uint64_t bytes = stream_bytes();
        const uint64_t seed = 0x5eed0000u + (uint64_t) _i * 7919u;
        char size_s[32], key_s[32], bytes_s[32], seed_s[32], parent_s[32], line[64], err[256];
        shbuf *sb = NULL;
        key_t key = t_key(0);
        int out;

        snprintf(size_s, sizeof(size_s), "%lu", c->ring);
        snprintf(key_s, sizeof(key_s), "%ld", (long) key);
        snprintf(bytes_s, sizeof(bytes_s), "%llu", (unsigned long long) bytes);
        snprintf(seed_s, sizeof(seed_s), "%llu", (unsigned long long) seed);
        snprintf(parent_s, sizeof(parent_s), "%ld", (long) getpid());

        if (c->test_provides) {
                sb = t_create(key, c->ring);
                ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        }
        char *argv[] = {"shbuf-peer",
                        c->test_provides ? "--open" : "--create",
                        c->test_provides ? key_s : size_s,
                        "--key",
                        key_s,
                        "--role",
                        test_writes ? "read" : "write",
                        "--api",
                        (char *) c->peer_api,
                        "--wait",
                        (char *) c->peer_wait,
                        "--bytes",
                        bytes_s,
                        "--seed",
                        seed_s,
                        "--parent",
                        parent_s,
                        NULL};
        if (c->test_provides) {
                /* --key is meaningless with --open; keep argv simple. */
                argv[3] = "--seed";
                argv[4] = seed_s;
        }
        pid_t pid = spawn_peer(argv, &out);
        ck_assert_msg(t_read_line(out, line, sizeof(line), 10000) == 0, "%s: the peer did not get ready",
                      c->name);
        close(out);
        char expect[32];
        snprintf(expect, sizeof(expect), "ready 0x%08x", (unsigned) key);
        ck_assert_str_eq(line, expect);

        if (!c->test_provides) {
                sb = shbuf_open(key);
                ck_assert_msg(sb != NULL, "shbuf_open: %s", strerror(errno));
        }
        ck_assert_str_eq(shbuf_get_backend(sb), t_backend());
        ck_assert_uint_eq(shbuf_get_size(sb), c->ring);

        struct stream_opts o = {.writer = test_writes, .bytes = bytes, .seed = seed, .stall_ms = 10000};
        ck_assert(stream_parse_api(c->test_api, &o.zero_copy));
        ck_assert(stream_parse_wait(c->test_wait, &o.use_poll));
        int64_t start = t_now_ms();
        int r = stream_run(sb, &o, err, sizeof(err));
        int64_t took = t_now_ms() - start;
        if (r < 0) {
                /* Leave the peer no chance to hang: it would be killed by
                 * the sweep anyway, but say what went wrong first. */
                kill(pid, SIGKILL);
                t_wait_child(pid, 5000);
                shbuf_free(sb);
                ck_abort_msg("%s (seed %llu): %s: %s", c->name, (unsigned long long) seed,
                             test_writes ? "writing" : "reading", err);
        }
        int status = t_wait_child(pid, 20000);
        shbuf_free(sb);
        ck_assert_msg(t_exit_code(status) == 0, "%s: the peer failed (status %d)", c->name, status);
        fprintf(stderr, "%s: %llu MiB in %lld ms (%.0f MiB/s)\n", c->name,
                (unsigned long long) (bytes / MIB), (long long) took,
                took > 0 ? (double) bytes / MIB * 1000.0 / (double) took : 0.0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("stream");
        TCase *tc = t_case(s, "stream", 60);

        t_init();
        tcase_add_loop_test(tc, test_stream, 0, (int) (sizeof(configs) / sizeof(configs[0])));

        return t_run(s, "check_stream");
}
