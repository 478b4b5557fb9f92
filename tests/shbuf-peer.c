/*
 * shbuf-peer: the other end of a cross-process test, started with fork+exec
 * so that it shares nothing with the test but the buffer's key.
 *
 *   shbuf-peer (--create SIZE [--key KEY] | --open KEY) --role write|read
 *              [--api copy|ptr] [--wait wait|poll] [--bytes N] [--seed N]
 *              [--parent PID] [--time-limit SECONDS]
 *
 * It prints "ready 0x<key>" on stdout once it has created or opened the
 * buffer, streams (see stream.h), frees its end and exits 0; on failure it
 * prints one line naming the cause on stderr and exits 1. With --parent it
 * dies with that process, so a test that is killed leaves no helper behind.
 * It kills itself after --time-limit seconds (default 120), a last resort
 * against a hang nobody notices.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "stream.h"
#include "test-util.h"

static const char *prog = "shbuf-peer";

static void die(const char *what, const char *why) {
        fprintf(stderr, "%s: %s: %s\n", prog, what, why);
        exit(EXIT_FAILURE);
}

static uint64_t parse_u64(const char *opt, const char *s) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 0);
        if (errno || end == s || *end || s[0] == '-')
                die(opt, "not a number");
        return v;
}

int main(int argc, char **argv) {
        struct stream_opts o = {.bytes = 1 << 20, .seed = 1, .stall_ms = 10000};
        uint64_t size = 0, key = 0, parent = 0, limit_s = 120;
        bool create = false, open_ = false, role = false;
        char err[256];

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!v)
                        die(a, "missing value");
                i++;
                if (strcmp(a, "--create") == 0) {
                        size = parse_u64(a, v);
                        create = true;
                } else if (strcmp(a, "--open") == 0) {
                        key = parse_u64(a, v);
                        open_ = true;
                } else if (strcmp(a, "--key") == 0) {
                        key = parse_u64(a, v);
                } else if (strcmp(a, "--role") == 0) {
                        if (strcmp(v, "write") != 0 && strcmp(v, "read") != 0)
                                die(a, "expected write or read");
                        o.writer = strcmp(v, "write") == 0;
                        role = true;
                } else if (strcmp(a, "--api") == 0) {
                        if (!stream_parse_api(v, &o.zero_copy))
                                die(a, "expected copy or ptr");
                } else if (strcmp(a, "--wait") == 0) {
                        if (!stream_parse_wait(v, &o.use_poll))
                                die(a, "expected wait or poll");
                } else if (strcmp(a, "--bytes") == 0) {
                        o.bytes = parse_u64(a, v);
                } else if (strcmp(a, "--seed") == 0) {
                        o.seed = parse_u64(a, v);
                } else if (strcmp(a, "--parent") == 0) {
                        parent = parse_u64(a, v);
                } else if (strcmp(a, "--time-limit") == 0) {
                        limit_s = parse_u64(a, v);
                        if (limit_s == 0 || limit_s > 86400)
                                die(a, "expected 1 to 86400 seconds");
                } else {
                        die(a, "unknown option");
                }
        }
        if (create == open_ || !role)
                die("usage", "need exactly one of --create and --open, and --role");
        if (key > INT32_MAX)
                die("--key", "out of range");

        if (parent) {
                /* The test may be killed by its timeout: go with it. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if ((uint64_t) getppid() != parent)
                        die("--parent", "the test is gone already");
        }
        /* A last resort against a hang nobody notices. */
        alarm((unsigned) limit_s);

        t_note_pid(getpid());
        shbuf *sb = create ? shbuf_create((key_t) key, size) : shbuf_open((key_t) key);
        if (!sb)
                die(create ? "shbuf_create" : "shbuf_open", strerror(errno));
        if (create && key == 0)
                t_note_key(shbuf_get_key(sb));
        printf("ready 0x%08x\n", (unsigned) shbuf_get_key(sb));
        fflush(stdout);

        int r = stream_run(sb, &o, err, sizeof(err));
        shbuf_free(sb);
        if (r < 0)
                die(o.writer ? "writing" : "reading", err);
        return EXIT_SUCCESS;
}
