/*
 * mq-probe: which POSIX message queues exist, for the leak check around the
 * test suite (ipc-leak-check.sh), on systems where /dev/mqueue is not
 * mounted and the queues cannot be listed.
 *
 *   mq-probe NAME...      print the NAMEs that exist; exit 0 if any does
 *   mq-probe -u NAME...   remove them
 *
 * Without NAMEs, one name per line is read from standard input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>

static int found, failed;

static void one(const char *name, int unlink) {
        if (unlink) {
                if (mq_unlink(name) < 0 && errno != ENOENT) {
                        fprintf(stderr, "mq-probe: %s: %s\n", name, strerror(errno));
                        failed = 1;
                }
                return;
        }
        /* Opening needs only read permission and leaves no trace; EACCES
         * still means the queue is there. */
        mqd_t q = mq_open(name, O_RDONLY | O_NONBLOCK);
        if (q != (mqd_t) -1)
                mq_close(q);
        if (q != (mqd_t) -1 || errno == EACCES) {
                puts(name);
                found = 1;
        }
}

int main(int argc, char **argv) {
        int unlink = argc > 1 && strcmp(argv[1], "-u") == 0;

        if (argc > 1 + unlink) {
                for (int i = 1 + unlink; i < argc; i++)
                        one(argv[i], unlink);
        } else {
                char line[256];
                while (fgets(line, sizeof(line), stdin)) {
                        line[strcspn(line, "\n")] = 0;
                        if (*line)
                                one(line, unlink);
                }
        }
        return unlink ? failed : !found;
}
