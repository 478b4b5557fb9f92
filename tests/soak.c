/*
 * The soak: 10 GiB through a 4 KiB ring with random chunk sizes, every byte
 * verified, between this process (the provider, writing with shbuf_write)
 * and shbuf-peer (the client, reading zero-copy and waiting with poll()).
 * Hours of CPU are not what CI is for: registered under the CTest label
 * "soak" only, run it with `ctest -L soak`. SHBUF_SOAK_MIB overrides the
 * length (default 10240).
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

#include "test-util.h"
#include "stream.h"

extern char **environ;

#define RING 4096

START_TEST(test_soak) {
        const uint64_t mib = t_env_u64("SHBUF_SOAK_MIB", 10240);
        const uint64_t bytes = mib << 20, seed = 0x50a4;
        const key_t key = t_key(0);
        char key_s[32], bytes_s[32], seed_s[32], parent_s[32], line[64], err[256];

        shbuf *sb = t_create(key, RING);
        ck_assert_msg(sb != NULL, "shbuf_create: %s", strerror(errno));
        snprintf(key_s, sizeof(key_s), "%ld", (long) key);
        snprintf(bytes_s, sizeof(bytes_s), "%llu", (unsigned long long) bytes);
        snprintf(seed_s, sizeof(seed_s), "%llu", (unsigned long long) seed);
        snprintf(parent_s, sizeof(parent_s), "%ld", (long) getpid());
        /* The peer's own time limit (120 s by default) must outlast the
         * soak: 10 GiB through 4 KiB takes minutes. */
        char *argv[] = {"shbuf-peer", "--open",   key_s,    "--role",       "read",  "--api",
                        "ptr",        "--wait",   "poll",   "--bytes",      bytes_s, "--seed",
                        seed_s,       "--parent", parent_s, "--time-limit", "3600",  NULL};
        int p[2];
        pid_t pid;
        posix_spawn_file_actions_t fa;
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        int r = posix_spawn(&pid, SHBUF_PEER_PATH, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        ck_assert_msg(r == 0, "posix_spawn %s: %s", SHBUF_PEER_PATH, strerror(r));
        t_note_pid(pid);
        ck_assert_msg(t_read_line(p[0], line, sizeof(line), 10000) == 0, "the peer did not get ready");
        close(p[0]);

        struct stream_opts o = {.writer = true, .bytes = bytes, .seed = seed, .stall_ms = 10000};
        int64_t t0 = t_now_ms();
        r = stream_run(sb, &o, err, sizeof(err));
        int64_t took = t_now_ms() - t0;
        if (r < 0) {
                kill(pid, SIGKILL);
                t_wait_child(pid, 5000);
                shbuf_free(sb);
                ck_abort_msg("soak: writing: %s", err);
        }
        int status = t_wait_child(pid, 60000);
        shbuf_free(sb);
        ck_assert_msg(t_exit_code(status) == 0, "the reader failed (status %d)", status);
        fprintf(stderr, "%s: soak of %llu MiB through a %d-byte ring in %lld ms (%.0f MiB/s)\n", t_backend(),
                (unsigned long long) mib, RING, (long long) took,
                took > 0 ? (double) mib * 1000.0 / (double) took : 0.0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("soak");
        TCase *tc = tcase_create("soak");

        t_init();
        /* 10 GiB through 4 KiB takes minutes; CK_DEFAULT_TIMEOUT may raise it. */
        tcase_set_timeout(tc, 3600);
        tcase_add_test(tc, test_soak);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        int leaked = t_sweep();
        if (leaked > 0)
                fprintf(stderr, "soak: %d IPC objects were left behind\n", leaked);
        return failed == 0 && leaked == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
