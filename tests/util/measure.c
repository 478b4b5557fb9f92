/*
 * What a test measures of its own process. See measure.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "measure.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int t_fd_count(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;
        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        /* Not counting the descriptor of the listing itself. */
        return n - 1;
}

int64_t t_cpu_us(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (int64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
               ru.ru_stime.tv_usec;
}

long t_voluntary_switches(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_nvcsw;
}

uint64_t t_env_u64(const char *name, uint64_t def) {
        const char *e = getenv(name);
        char *end;
        if (!e || !*e || e[0] == '-')
                return def;
        errno = 0;
        unsigned long long v = strtoull(e, &end, 10);
        if (errno || end == e || *end || v == 0)
                return def;
        return v;
}

bool t_sanitized(void) {
        const char *e = getenv("SHBUF_TEST_SANITIZED");
        return e && strcmp(e, "1") == 0;
}
