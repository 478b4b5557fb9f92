/*
 * Helpers shared by the subcommands of shbuf(1): error messages in one
 * format, number parsing with full checks, size formatting, and the check
 * of stdout for write errors at exit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TOOL_UTIL_H
#define SHBUF_TOOL_UTIL_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include <libshbuf/shbuf.h>

/* util-linux exit codes. */
#define EXIT_OK 0
#define EXIT_FAIL 1

/* The subcommand being run, for messages ("shbuf cat: ..."); NULL for none. */
extern const char *util_cmd;

/* Print "shbuf[ CMD]: message" to stderr, with a newline. */
void util_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same, followed by ": strerror(errnum)". */
void util_errno(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A usage error: one line naming the problem and where to find help. Returns
 * EXIT_FAIL so a caller can write "return util_usage(...)".
 */
int util_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Report the option getopt_long() rejected (it runs with opterr = 0), as a
 * usage error. c is what getopt_long() returned ('?' or ':').
 */
int util_bad_option(int c, char *const argv[]);

/*
 * Parse a buffer key: "0x" followed by hex digits (as ipcs prints keys), or a
 * decimal number, at most 0xffffffff. Returns 0 or -EINVAL / -ERANGE.
 */
int util_parse_key(const char *s, key_t *ret_key);

/* Check that argv[first..argc-1] are one or more valid keys; EXIT_OK, or
 * the usage error (already printed). */
int util_check_keys(int argc, char **argv, int first);

/*
 * Parse a byte count: decimal digits with an optional binary suffix K, M, G,
 * T (optionally followed by "iB"), e.g. "64M" or "1GiB". Returns 0 or
 * -EINVAL / -ERANGE.
 */
int util_parse_size(const char *s, unsigned long *ret_size);

/* Parse an octal permission mode (at most 0777). Returns 0 or -EINVAL. */
int util_parse_mode(const char *s, int *ret_mode);

/* Format a key the way ipcs does ("0x0000abcd"); buf needs 11 bytes. */
const char *util_format_key(key_t key, char buf[static 11]);

/* Format bytes for people: "512B", "4K", "1.5M"; buf needs 16 bytes. */
const char *util_format_size(unsigned long long bytes, char buf[static 16]);

/* Name of the user with this uid, or the number; buf needs 32 bytes. */
const char *util_format_user(uid_t uid, char buf[static 32]);

/*
 * Register the stdout check: at exit, flush and close stdout and fail with
 * "write error" if anything went wrong (util-linux close_stdout()).
 */
void util_close_stdout_at_exit(void);

/*
 * Report a failure of shbuf_inspect() or shbuf_remove() on key, in words:
 * no such buffer, not a shbuf (and what it is, when the listing knows: a
 * buffer being created, a half-created one, a FIFO...), permission.
 * Returns EXIT_FAIL.
 */
int util_key_error(key_t key, int errnum);

/* What shbuf_list_other() knows of key: false if nothing (or it failed). */
bool util_find_other(key_t key, shbuf_other *ret);

/* Print s to stdout as a JSON string: quoted, with '"', '\\' and control
 * characters escaped. NULL prints "". */
void util_json_string(const char *s);

/* Write all of buf to fd, retrying after EINTR unless *stop is set.
 * Returns 0 or -errno. */
int util_write_all(int fd, const void *buf, size_t n, const volatile sig_atomic_t *stop);

#endif
