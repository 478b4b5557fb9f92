/*
 * Helpers shared by the subcommands of shbuf(1).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

const char *util_cmd;

static void vmessage(const char *fmt, va_list ap, int errnum) {
        /* One fprintf per piece is fine: stderr is unbuffered, and the line
         * is assembled first so that it reaches the terminal in one write. */
        char line[1024];
        int n = snprintf(line, sizeof(line), "shbuf%s%s: ", util_cmd ? " " : "", util_cmd ? util_cmd : "");
        if (n < 0 || (size_t) n >= sizeof(line))
                n = 0;
        int m = vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
        if (m > 0)
                n = (size_t) (n + m) >= sizeof(line) ? (int) sizeof(line) - 1 : n + m;
        if (errnum)
                n += snprintf(line + n, sizeof(line) - (size_t) n, ": %s", strerror(errnum));
        fprintf(stderr, "%.*s\n", n, line);
}

void util_err(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vmessage(fmt, ap, 0);
        va_end(ap);
}

void util_errno(int errnum, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vmessage(fmt, ap, errnum);
        va_end(ap);
}

int util_usage(const char *fmt, ...) {
        char what[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        util_err("%s (see 'shbuf%s%s --help')", what, util_cmd ? " " : "", util_cmd ? util_cmd : "");
        return EXIT_FAIL;
}

int util_bad_option(int c, char *const argv[]) {
        extern int optind, optopt;
        const char *arg = argv[optind - 1];

        if (c == ':')
                return util_usage("option '%s' needs an argument", arg);
        if (optopt && strncmp(arg, "--", 2) != 0)
                return util_usage("invalid option '-%c'", optopt);
        return util_usage("unrecognized option '%s'", arg);
}

int util_parse_key(const char *s, key_t *ret_key) {
        const char *digits = s;
        int base = 10;
        char *end;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                digits = s + 2;
                base = 16;
        }
        /* strtoull() would accept a sign and leading blanks: refuse them. */
        if (!isxdigit((unsigned char) digits[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(digits, &end, base);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v > UINT32_MAX)
                return -ERANGE;
        /* key_t is an int: keys above 0x7fffffff are negative, as in the kernel. */
        *ret_key = (key_t) (int32_t) (uint32_t) v;
        return 0;
}

int util_parse_size(const char *s, unsigned long *ret_size) {
        static const char suffixes[] = "KMGT";
        char *end;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != '\0') {
                const char *p = strchr(suffixes, toupper((unsigned char) *end));
                if (!p || *p == '\0')
                        return -EINVAL;
                if (end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
                        return -EINVAL;
                for (int shift = (int) (p - suffixes) + 1; shift > 0; shift--) {
                        if (v > ULLONG_MAX / 1024)
                                return -ERANGE;
                        v *= 1024;
                }
        }
        if (v > ULONG_MAX)
                return -ERANGE;
        *ret_size = (unsigned long) v;
        return 0;
}

int util_parse_mode(const char *s, int *ret_mode) {
        char *end;
        if (s[0] < '0' || s[0] > '7')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 8);
        if (*end != '\0' || errno == ERANGE || v > 0777)
                return -EINVAL;
        *ret_mode = (int) v;
        return 0;
}

const char *util_format_key(key_t key, char buf[static 11]) {
        snprintf(buf, 11, "0x%08x", (unsigned) (uint32_t) key);
        return buf;
}

const char *util_format_size(unsigned long long bytes, char buf[static 16]) {
        static const char units[] = "BKMGTPE";
        unsigned i = 0;
        /* whole stays below 1024 except in the last unit (below 16). */
        unsigned long long whole = bytes, rest = 0;

        while (whole >= 1024 && i + 1 < sizeof(units) - 1) {
                rest = whole % 1024;
                whole /= 1024;
                i++;
        }
        /* One decimal, like lsblk and lsipc; "4K" when it is exact. */
        unsigned tenth = (unsigned) ((rest * 10 + 512) / 1024);
        if (tenth == 10) {
                whole++;
                tenth = 0;
        }
        if (i == 0 || tenth == 0)
                snprintf(buf, 16, "%u%c", (unsigned) whole, units[i]);
        else
                snprintf(buf, 16, "%u.%u%c", (unsigned) whole, tenth % 10, units[i]);
        return buf;
}

const char *util_format_user(uid_t uid, char buf[static 32]) {
        struct passwd *pw = getpwuid(uid);
        if (pw && strlen(pw->pw_name) < 32)
                snprintf(buf, 32, "%s", pw->pw_name);
        else
                snprintf(buf, 32, "%lu", (unsigned long) uid);
        return buf;
}

static void close_stdout(void) {
        /* A full disk or a closed pipe must not go unnoticed: flush, check
         * the stream's error flag, and check close() too (NFS reports late). */
        bool failed = fflush(stdout) != 0 || ferror(stdout);
        int e = errno;
        if (fclose(stdout) != 0 && !failed) {
                failed = true;
                e = errno;
        }
        if (failed) {
                util_cmd = NULL;
                if (e)
                        util_errno(e, "write error");
                else
                        util_err("write error");
                _exit(EXIT_FAIL);
        }
        if (fclose(stderr) != 0)
                _exit(EXIT_FAIL);
}

void util_close_stdout_at_exit(void) {
        atexit(close_stdout);
}

int util_write_all(int fd, const void *buf, size_t n, const volatile sig_atomic_t *stop) {
        const unsigned char *p = buf;
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR && !(stop && *stop))
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

bool util_find_other(key_t key, shbuf_other *ret) {
        shbuf_other *all = NULL;
        size_t n = 0;
        bool found = false;
        if (shbuf_list_other(&all, &n) < 0)
                return false;
        for (size_t i = 0; i < n && !found; i++) {
                if (all[i].key == key) {
                        *ret = all[i];
                        found = true;
                }
        }
        free(all);
        return found;
}

/* Not a whole buffer: say what it is, if the listing knows. */
static bool explain_other(const char *k, key_t key) {
        shbuf_other o;
        if (!util_find_other(key, &o))
                return false;
        switch (o.state) {
        case SHBUF_OTHER_CREATING:
                util_err("%s: being created by pid %ld, left untouched", k, o.creator_pid);
                break;
        case SHBUF_OTHER_HALF_CREATED:
                util_err("%s: half-created, its creator (pid %ld) died; 'shbuf gc' or 'shbuf rm' removes it",
                         k, o.creator_pid);
                break;
        default:
                util_err("%s: not a shbuf (%s: %s), left untouched", k, o.object, o.reason ? o.reason : "?");
                break;
        }
        return true;
}

int util_key_error(key_t key, int errnum) {
        char k[11];
        util_format_key(key, k);
        switch (errnum) {
        case ENOENT:
                util_err("%s: no such buffer", k);
                break;
        case EPROTO:
                if (!explain_other(k, key))
                        util_err("%s: not a shbuf (a foreign or incompatible object, left untouched)", k);
                break;
        case EBUSY:
                if (!explain_other(k, key))
                        util_err("%s: being created, left untouched", k);
                break;
        case EINVAL:
                util_err("%s: invalid key or unknown backend", k);
                break;
        default:
                util_errno(errnum, "%s", k);
                break;
        }
        return EXIT_FAIL;
}

int util_check_keys(int argc, char **argv, int first) {
        if (first >= argc)
                return util_usage("no key given");
        for (int i = first; i < argc; i++) {
                key_t key;
                if (util_parse_key(argv[i], &key) < 0)
                        return util_usage("invalid key '%s'", argv[i]);
        }
        return EXIT_OK;
}

void util_json_string(const char *s) {
        putchar('"');
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch == '"' || ch == '\\')
                        printf("\\%c", ch);
                else if (ch < 0x20)
                        printf("\\u%04x", ch);
                else
                        putchar(ch);
        }
        putchar('"');
}
