/*
 * shbuf-test-objects: what the leak check around the test suite
 * (ipc-leak-check.sh) knows of the backends, from their descriptions.
 *
 *   shbuf-test-objects range            list every object in the test key range
 *   shbuf-test-objects leaks LOG        list the objects of the tests in LOG
 *   shbuf-test-objects leaks LOG -r     and remove them
 *   shbuf-test-objects key KEY [PID]    list the objects of the buffer under KEY
 *                                       (and the IPC_PRIVATE segments PID made)
 *   shbuf-test-objects key KEY [PID] -r and remove them
 *
 * LOG holds "pid N" (a test process that made IPC objects) and "key N" (a
 * key the library chose) lines. The objects of the tests are those under a
 * logged key, in the key range of a logged pid that has exited, and
 * IPC_PRIVATE segments such a pid made. KEY is a number in C notation
 * (0x5b001234). One "kind name" line per object;
 * the exit status is 1 if there were any, 0 if not, 2 on errors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-desc.h"
#include "test-util.h"

static const char *prog = "shbuf-test-objects";

static int in_range(const struct t_object *o, void *arg) {
        int *n = arg;
        if (((uint32_t) o->key & T_KEY_MASK) != T_KEY_PREFIX)
                return 0;
        printf("%s %s\n", o->kind, o->name);
        (*n)++;
        return 0;
}

/* Append v to *a (of *n, room for *cap). */
static void *push(void *a, size_t *n, size_t *cap, size_t size, const void *v) {
        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 64;
                a = realloc(a, *cap * size);
                if (!a) {
                        perror(prog);
                        exit(2);
                }
        }
        memcpy((char *) a + *n * size, v, size);
        (*n)++;
        return a;
}

static int leaks(const char *log, bool rm) {
        FILE *f = fopen(log, "re");
        key_t *keys = NULL;
        pid_t *pids = NULL;
        size_t nkeys = 0, ckeys = 0, npids = 0, cpids = 0;
        char what[16];
        long v;

        if (!f) {
                fprintf(stderr, "%s: %s: ", prog, log);
                perror(NULL);
                return 2;
        }
        while (fscanf(f, "%15s %ld", what, &v) == 2) {
                if (strcmp(what, "key") == 0) {
                        key_t k = (key_t) v;
                        keys = push(keys, &nkeys, &ckeys, sizeof(k), &k);
                } else if (strcmp(what, "pid") == 0) {
                        pid_t p = (pid_t) v;
                        bool seen = false;
                        for (size_t i = 0; i < npids && !seen; i++)
                                seen = pids[i] == p;
                        if (seen)
                                continue;
                        /* The tests have all finished: a running pid is somebody else's now. */
                        if (!t_pid_dead(p)) {
                                fprintf(stderr, "%s: note: pid %ld is alive again (reused?); left alone\n",
                                        prog, v);
                                continue;
                        }
                        pids = push(pids, &npids, &cpids, sizeof(p), &p);
                }
        }
        fclose(f);
        struct t_owners w = {.keys = keys, .nkeys = nkeys, .pids = pids, .npids = npids};
        int n = t_sweep_owned(&w, rm, prog, stdout);
        free(keys);
        free(pids);
        return n > 0;
}

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "range") == 0) {
                int n = 0;
                for (const struct t_backend_desc *const *d = t_descs(); *d; d++)
                        (*d)->each(in_range, &n);
                return n > 0;
        }
        if ((argc == 3 || argc == 4) && strcmp(argv[1], "leaks") == 0 &&
            (argc == 3 || strcmp(argv[3], "-r") == 0))
                return leaks(argv[2], argc == 4);
        bool rm = argc >= 4 && strcmp(argv[argc - 1], "-r") == 0;
        if ((argc == 3 || argc == 4 || (argc == 5 && rm)) && strcmp(argv[1], "key") == 0) {
                char *end;
                key_t key = (key_t) strtoul(argv[2], &end, 0);
                pid_t creator = 0;
                if (*end || key == 0)
                        goto usage;
                if (argc - rm == 4) {
                        creator = (pid_t) strtol(argv[3], &end, 10);
                        if (*end || creator <= 0)
                                goto usage;
                }
                struct t_owners w = {.keys = &key,
                                     .nkeys = 1,
                                     .pids = creator ? &creator : NULL,
                                     .npids = creator ? 1 : 0,
                                     .private_only = true};
                return t_sweep_owned(&w, rm, prog, stdout) > 0;
        }
usage:
        fprintf(stderr, "usage: %s range | leaks LOG [-r] | key KEY [PID] [-r]\n", prog);
        return 2;
}
