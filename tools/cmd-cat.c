/*
 * shbuf cat: stream stdin into a shared buffer, or a shared buffer to stdout.
 *
 * Roles and direction. The provider (--create) makes the buffer, the client
 * (--key KEY or --key-file FILE) attaches to it. By default the provider
 * writes (stdin -> buffer) and the client reads (buffer -> stdout), like the
 * two ends of a pipe created by the first command; --read and --write choose
 * the other way round.
 *
 * End of stream. The library carries bytes, not the end of a stream, and a
 * peer that leaves looks the same whether it finished or was killed. So the
 * byte stream in the ring is framed, and a clean end is an explicit frame:
 *
 *   frame   = header payload
 *   header  = magic (uint32, 0x31434253, "SBC1" in memory on little-endian)
 *             length (uint32, payload bytes), both in native byte order
 *   payload = length bytes of data; length 0 marks the end of the stream
 *
 * The writer commits each header together with its payload in one
 * shbuf_inc_write_pointer() call, so the reader only ever sees whole frames;
 * headers and payloads may wrap around the end of the ring. Data goes from
 * read(2) straight into the ring and from the ring straight to write(2) (the
 * zero-copy API); only the 8-byte header is copied.
 *
 * After the end frame the writer waits until the reader consumed everything
 * (status length 0), then frees its handle. The reader exits 0 when it reads
 * the end frame. If the other side goes away before that (shbuf_wait() says
 * EPIPE: killed, or the buffer was removed with shbuf rm), the reader writes
 * out what is left in the ring and exits 1 with a message; a writer whose
 * reader leaves before consuming everything also exits 1.
 *
 * Waiting never spins: the sides sleep in shbuf_wait(). A writer idle on its
 * stdin would not notice the buffer's removal while it sleeps in poll(2) on
 * stdin, so that poll has a timeout of a quarter second after which it asks
 * shbuf_is_connected().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"

#define FRAME_MAGIC 0x31434253u
#define HDR_SIZE 8u
#define MIN_SIZE 16ul
#define DEFAULT_SIZE (4ul << 20)
#define TICK_MS 250

enum role { PROVIDER, CLIENT };

struct cat {
        shbuf *sb;
        enum role role;
        bool writing;
        const char *backend; /* of the handle, once it exists */
        key_t key;
        unsigned long size;
        unsigned char *base;
        bool seen_peer; /* the other side was connected at some point */
        long peer_pid;  /* the other side's process, once known */
        bool progress;  /* show a progress line */
        unsigned long long bytes;
        int64_t start_ms, last_tick_ms;
};

static volatile sig_atomic_t stop_signal;
static pthread_t main_thread;

static void on_signal(int sig) {
        int saved = errno;
        /* The library runs helper threads; a signal that lands in one of
         * them must still interrupt the main thread's blocking call. */
        if (!pthread_equal(pthread_self(), main_thread))
                pthread_kill(main_thread, sig);
        else
                stop_signal = sig;
        errno = saved;
}

static void setup_signals(void) {
        struct sigaction sa = {.sa_handler = on_signal};

        main_thread = pthread_self();
        /* No SA_RESTART: a blocking read, poll or wait returns EINTR, and
         * the loop leaves cleanly, so a provider removes its buffer. */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        /* A closed stdout becomes EPIPE, reported, instead of a silent death
         * that would leave the buffer behind. */
        signal(SIGPIPE, SIG_IGN);
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- progress line ------------------------------------------------------ */

static void progress_show(struct cat *c, bool final) {
        char done[16], rate[16];
        int64_t now = now_ms();

        if (!c->progress || (!final && now - c->last_tick_ms < TICK_MS))
                return;
        c->last_tick_ms = now;
        double secs = (double) (now - c->start_ms) / 1000.0;
        unsigned long long per_s = secs > 0 ? (unsigned long long) ((double) c->bytes / secs) : 0;
        /* The fill level is for the eye only: an unlocked look is enough. */
        shbuf_status *st = shbuf_get_status(c->sb);
        unsigned long used = st ? st->length : 0;
        unsigned fill = used <= c->size ? (unsigned) (used * 100.0 / (double) c->size) : 0;
        fprintf(stderr, "\r%s %s, %s/s, ring %u%% full\033[K%s", c->writing ? "sent" : "received",
                util_format_size(c->bytes, done), util_format_size(per_s, rate), fill, final ? "\n" : "");
}

/* ---- talking about failures --------------------------------------------- */

static const char *peer_name(const struct cat *c) {
        return c->role == PROVIDER ? "client" : "provider";
}

/* Remember who the other side is, to tell later whether it died. */
static void remember_peer(struct cat *c) {
        shbuf_info info;
        if (c->peer_pid > 0 || shbuf_inspect(c->key, c->backend, &info) < 0)
                return;
        if (c->role == PROVIDER && info.client_attached)
                c->peer_pid = info.client_pid;
        else if (c->role == CLIENT)
                c->peer_pid = info.provider_pid;
}

/* Whether the other side is alive, as the library knows it (the kernel's
 * presence token, good in any pid namespace): 1 or 0, or -1 when the
 * buffer is gone. */
static int peer_alive(struct cat *c) {
        shbuf_info info;
        if (shbuf_inspect(c->key, c->backend, &info) < 0)
                return -1;
        return c->role == PROVIDER ? info.client_alive : info.provider_alive;
}

/*
 * The other side is gone (EPIPE): say whether it died or the buffer was
 * removed under both of us. shbuf rm takes the objects apart one by one and
 * we may wake at the first, so a buffer that is still there gets a moment to
 * disappear before we blame the other side.
 */
static int report_gone(struct cat *c, const char *when) {
        char k[11];
        bool removed = peer_alive(c) != 0;
        if (!removed) {
                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
                removed = peer_alive(c) < 0;
        }

        if (removed)
                util_err("buffer %s was removed %s", util_format_key(c->key, k), when);
        else if (c->peer_pid > 0)
                util_err("the %s of buffer %s (pid %ld) went away %s", peer_name(c),
                         util_format_key(c->key, k), c->peer_pid, when);
        else
                util_err("the %s of buffer %s went away %s", peer_name(c), util_format_key(c->key, k), when);
        return -EPIPE;
}

static int report(struct cat *c, int r, const char *what) {
        if (r == -EPIPE)
                return report_gone(c, "before the end of the stream");
        if (r == -EINTR && stop_signal)
                util_err("interrupted by signal %d (%s)", (int) stop_signal, strsignal(stop_signal));
        else if (r == -EPROTO)
                util_err("%s: the buffer's status block is corrupted", what);
        else
                util_errno(-r, "%s", what);
        return r;
}

/* ---- the ring ----------------------------------------------------------- */

/* Read index and unread length, checked: the status block is shared. */
static int ring_state(struct cat *c, unsigned long *ret_read, unsigned long *ret_len) {
        /* Set even on failure: the compiler cannot know -errno is negative. */
        *ret_read = *ret_len = 0;
        if (shbuf_status_lock(c->sb) < 0)
                return -errno;
        shbuf_status *st = shbuf_get_status(c->sb);
        unsigned long r = st->read_idx, l = st->length;
        shbuf_status_unlock(c->sb);
        if (r >= c->size || l > c->size)
                return -EPROTO;
        *ret_read = r;
        *ret_len = l;
        return 0;
}

/* Unread bytes. When the lock is gone with the buffer's objects, the mapping
 * still holds the last state, which is what the writer wants to know. */
static unsigned long ring_unread(struct cat *c) {
        unsigned long r, l;
        if (ring_state(c, &r, &l) == 0)
                return l;
        return shbuf_get_status(c->sb)->length;
}

static int wait_peer(struct cat *c) {
        for (;;) {
                if (stop_signal)
                        return -EINTR;
                int r = c->progress ? shbuf_wait_timeout(c->sb, TICK_MS) : shbuf_wait(c->sb);
                if (r == 0) {
                        remember_peer(c);
                        return 0;
                }
                if (errno == ETIMEDOUT) {
                        progress_show(c, false);
                        return 0;
                }
                if (errno == EINTR && !stop_signal)
                        continue;
                return -errno;
        }
}

/* Copy the 8-byte header to ring offset w, wrapping if needed. */
static void put_header(struct cat *c, unsigned long w, uint32_t len) {
        const uint32_t h[2] = {FRAME_MAGIC, len};
        const unsigned char *p = (const unsigned char *) h;
        for (unsigned i = 0; i < HDR_SIZE; i++)
                c->base[(w + i) % c->size] = p[i];
}

/* ---- writing: stdin -> buffer --------------------------------------------- */

/*
 * Is the other side still there? Only asked while idle on stdin. A provider
 * whose client never came has nobody to ask about, so it checks that its
 * buffer still exists.
 */
static int check_peer(struct cat *c) {
        if (shbuf_is_connected(c->sb) == 1) {
                c->seen_peer = true;
                remember_peer(c);
                return 0;
        }
        if (c->seen_peer)
                return -EPIPE;
        shbuf_info info;
        if (shbuf_inspect(c->key, c->backend, &info) < 0 && errno == ENOENT)
                return -EPIPE;
        return 0;
}

/* Read up to n bytes of stdin into p; 0 is the end of the input. */
static ssize_t read_input(struct cat *c, unsigned char *p, size_t n) {
        for (;;) {
                if (stop_signal)
                        return -EINTR;
                struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
                int k = poll(&pfd, 1, TICK_MS);
                if (k == 0) {
                        int r = check_peer(c);
                        if (r < 0)
                                return r;
                        progress_show(c, false);
                        continue;
                }
                /* poll() fails (EPERM) on descriptors it cannot watch, such
                 * as some special files: then just read. */
                if (k < 0 && errno == EINTR)
                        continue;
                ssize_t got = read(STDIN_FILENO, p, n);
                if (got >= 0)
                        return got;
                if (errno == EINTR || errno == EAGAIN)
                        continue;
                return -errno;
        }
}

static int do_write(struct cat *c) {
        const unsigned long frame_max = c->size / 4 > 65536 ? c->size / 4 : c->size;
        bool eof = false;
        int r;

        for (;;) {
                unsigned long rd, len;
                r = ring_state(c, &rd, &len);
                if (r < 0)
                        return report(c, r, "cannot read the buffer's status");
                unsigned long free_bytes = c->size - len;
                if (free_bytes < HDR_SIZE + (eof ? 0 : 1)) {
                        r = wait_peer(c);
                        if (r < 0)
                                return report(c, r, "waiting for the reader");
                        continue;
                }
                unsigned long w = (rd + len) % c->size;
                uint32_t n = 0;
                if (!eof) {
                        /* The payload goes right after the header, up to the
                         * end of the free space or of the ring. */
                        unsigned long q = (w + HDR_SIZE) % c->size;
                        unsigned long room = free_bytes - HDR_SIZE;
                        if (room > c->size - q)
                                room = c->size - q;
                        if (room > frame_max)
                                room = frame_max;
                        if (room > UINT32_MAX)
                                room = UINT32_MAX;
                        ssize_t got = read_input(c, c->base + q, room);
                        if (got < 0)
                                return got == -EPIPE ? report_gone(c, "while the input was idle")
                                                     : report(c, (int) got, "read error on stdin");
                        if (got == 0)
                                eof = true;
                        n = (uint32_t) got;
                }
                put_header(c, w, n);
                if (shbuf_inc_write_pointer(c->sb, HDR_SIZE + n) < 0)
                        return report(c, -errno, "cannot commit to the buffer");
                c->bytes += n;
                progress_show(c, false);
                if (eof)
                        break;
        }

        /* The end frame is in. Leaving now would remove the buffer (as its
         * provider) under a reader that is still draining it. */
        for (;;) {
                if (ring_unread(c) == 0)
                        break;
                r = wait_peer(c);
                if (r == -EPIPE && ring_unread(c) == 0)
                        break;
                if (r < 0)
                        return r == -EPIPE ? report_gone(c, "before reading the whole stream")
                                           : report(c, r, "waiting for the reader");
        }
        progress_show(c, true);
        return 0;
}

/* ---- reading: buffer -> stdout -------------------------------------------- */

static int do_read(struct cat *c) {
        unsigned long remaining = 0; /* payload bytes left in the current frame */
        bool in_frame = false, gone = false;
        int r;

        for (;;) {
                if (stop_signal)
                        return report(c, -EINTR, "");
                if (!in_frame) {
                        uint32_t h[2];
                        long n = shbuf_read(c->sb, (unsigned char *) h, HDR_SIZE);
                        if (n < 0)
                                return report(c, errno == EPIPE ? -EPIPE : -errno, "cannot read the buffer");
                        if (n > 0 && n < (long) HDR_SIZE) {
                                util_err("the stream is damaged (a cut frame header)");
                                return -EPROTO;
                        }
                        if (n == HDR_SIZE) {
                                c->seen_peer = true;
                                if (h[0] != FRAME_MAGIC) {
                                        util_err("the buffer does not hold a stream written by 'shbuf cat'");
                                        return -EPROTO;
                                }
                                if (h[1] == 0)
                                        break;
                                remaining = h[1];
                                in_frame = true;
                                continue;
                        }
                } else {
                        unsigned long l;
                        unsigned char *p = shbuf_get_read_pointer(c->sb, &l);
                        if (!p)
                                return report(c, -errno, "cannot read the buffer");
                        if (l > 0) {
                                if (l > remaining)
                                        l = remaining;
                                r = util_write_all(STDOUT_FILENO, p, l, &stop_signal);
                                if (r < 0)
                                        return report(c, r, "write error");
                                if (shbuf_inc_read_pointer(c->sb, l) < 0)
                                        return report(c, -errno, "cannot commit to the buffer");
                                c->bytes += l;
                                remaining -= l;
                                in_frame = remaining > 0;
                                progress_show(c, false);
                                continue;
                        }
                }
                /* Nothing to read. */
                if (gone)
                        return report_gone(c, "before the end of the stream");
                r = wait_peer(c);
                if (r == -EPIPE)
                        gone = true; /* drain what is left, then fail */
                else if (r < 0)
                        return report(c, r, "waiting for the writer");
        }
        progress_show(c, true);
        return 0;
}

/* ---- setting up ------------------------------------------------------------ */

static int write_key_file(const char *path, key_t key) {
        char tmp[4096], k[11];
        int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid());
        if (n < 0 || (size_t) n >= sizeof(tmp))
                return -ENAMETOOLONG;
        /* Written aside and renamed, so that a script polling for the file
         * never reads half a key. Made anew (a leftover of ours goes first):
         * in a shared directory such as /tmp, a FIFO or a link planted
         * under the name must neither hang us nor be written through. */
        unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        char line[16];
        n = snprintf(line, sizeof(line), "%s\n", util_format_key(key, k));
        int r = util_write_all(fd, line, (size_t) n, NULL);
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

static int read_key_file(const char *path, key_t *ret_key) {
        char line[64];
        struct stat st;
        /* Without waiting for a writer: a FIFO planted under the name is
         * refused, not read from. */
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int e = fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
        if (e) {
                close(fd);
                return -e;
        }
        FILE *f = fdopen(fd, "r");
        if (!f) {
                e = errno;
                close(fd);
                return -e;
        }
        char *s = fgets(line, sizeof(line), f);
        fclose(f);
        if (!s)
                return -EINVAL;
        line[strcspn(line, " \t\r\n")] = '\0';
        return util_parse_key(line, ret_key);
}

/* shbuf_open() refuses keys above 0x7fffffff (negative key_t) with EINVAL,
 * while shbuf_inspect() looks at them: ask it what is there. */
static bool buffer_is_foreign(key_t key) {
        shbuf_info info;
        return shbuf_inspect(key, NULL, &info) < 0 && errno == EPROTO;
}

static void usage(void) {
        printf("Usage:\n"
               " shbuf cat --create [--key KEY] [--size SIZE] [options]   (provider)\n"
               " shbuf cat --key KEY | --key-file FILE [options]          (client)\n"
               "\n"
               "Stream stdin into a shared buffer, or a shared buffer to stdout.\n"
               "By default the provider writes stdin and the client reads to stdout.\n"
               "\n"
               "Options:\n"
               " -c, --create          create the buffer (be the provider)\n"
               " -k, --key KEY         key to attach to, or to create with --create\n"
               "                       (0x-prefixed hex or decimal; default with --create:\n"
               "                       a free key, printed on stderr)\n"
               " -f, --key-file FILE   provider: write the key to FILE; client: read it\n"
               " -s, --size SIZE       ring size for --create (default 4M; suffixes K M G)\n"
               " -b, --backend NAME    backend: sysv or posix (default: $SHBUF_BACKEND,\n"
               "                       else the build default; a client finds any)\n"
               " -m, --mode MODE       octal permissions of a new buffer (default 0600)\n"
               " -r, --read            copy the buffer to stdout\n"
               " -w, --write           copy stdin into the buffer\n"
               " -p, --progress        show a progress line on stderr (if a terminal)\n"
               " -h, --help            display this help\n"
               "\n"
               "Exit status: 0 after the whole stream went through, 1 otherwise.\n");
}

int cmd_cat(int argc, char **argv) {
        static const struct option longopts[] = {
                {"create", no_argument, NULL, 'c'},
                {"key", required_argument, NULL, 'k'},
                {"key-file", required_argument, NULL, 'f'},
                {"size", required_argument, NULL, 's'},
                {"backend", required_argument, NULL, 'b'},
                {"mode", required_argument, NULL, 'm'},
                {"read", no_argument, NULL, 'r'},
                {"write", no_argument, NULL, 'w'},
                {"progress", no_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        struct cat c = {.role = CLIENT, .size = DEFAULT_SIZE};
        const char *key_arg = NULL, *key_file = NULL, *backend = NULL;
        bool size_given = false, mode_given = false;
        int dir = 0, mode = 0, opt;
        char k[11];

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":ck:f:s:b:m:rwph", longopts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        c.role = PROVIDER;
                        break;
                case 'k':
                        key_arg = optarg;
                        break;
                case 'f':
                        key_file = optarg;
                        break;
                case 's':
                        if (util_parse_size(optarg, &c.size) < 0)
                                return util_usage("invalid size '%s'", optarg);
                        size_given = true;
                        break;
                case 'b':
                        backend = optarg;
                        break;
                case 'm':
                        if (util_parse_mode(optarg, &mode) < 0)
                                return util_usage("invalid mode '%s' (octal, at most 0777)", optarg);
                        mode_given = true;
                        break;
                case 'r':
                case 'w':
                        if (dir && dir != opt)
                                return util_usage("--read and --write exclude each other");
                        dir = opt;
                        break;
                case 'p':
                        c.progress = true;
                        break;
                case 'h':
                        usage();
                        return EXIT_OK;
                default:
                        return util_bad_option(opt, argv);
                }
        }
        if (optind < argc)
                return util_usage("unexpected argument '%s'", argv[optind]);
        if (key_arg && util_parse_key(key_arg, &c.key) < 0)
                return util_usage("invalid key '%s'", key_arg);
        if (c.role == CLIENT) {
                if (size_given || mode_given)
                        return util_usage("--size and --mode need --create");
                if (key_arg && key_file)
                        return util_usage("--key and --key-file exclude each other for a client");
                if (!key_arg && !key_file)
                        return util_usage("no buffer given: use --create, --key or --key-file");
                if (key_file) {
                        int r = read_key_file(key_file, &c.key);
                        if (r < 0) {
                                util_errno(-r, "cannot read a key from %s", key_file);
                                return EXIT_FAIL;
                        }
                }
        } else if (c.size < MIN_SIZE) {
                return util_usage("size must be at least %lu bytes", MIN_SIZE);
        }
        c.writing = dir ? dir == 'w' : c.role == PROVIDER;
        c.progress = c.progress && isatty(STDERR_FILENO);

        if (backend) {
                bool known = false;
                for (const char *const *b = shbuf_backends(); *b; b++)
                        known = known || strcmp(*b, backend) == 0;
                if (!known)
                        return util_usage("unknown backend '%s' (see 'shbuf --backends')", backend);
        }

        setup_signals();
        shbuf_options o = {.backend = backend, .mode = mode};
        if (c.role == PROVIDER) {
                c.sb = shbuf_create_with(c.key, c.size, &o);
                if (!c.sb) {
                        if (errno == EEXIST)
                                util_err("key %s is taken", util_format_key(c.key, k));
                        else
                                util_errno(errno, "cannot create a buffer");
                        return EXIT_FAIL;
                }
        } else {
                c.sb = shbuf_open_with(c.key, &o);
                if (!c.sb) {
                        util_format_key(c.key, k);
                        if (errno == ENOENT && !backend)
                                util_err("no buffer with key %s", k);
                        else if (errno == ENOENT)
                                util_err("no %s buffer with key %s", backend, k);
                        else if (errno == EPROTO || (errno == EINVAL && buffer_is_foreign(c.key)))
                                util_err("%s is not a shbuf (a foreign or incompatible object)", k);
                        else if (errno == EBUSY)
                                util_err("buffer %s already has a client", k);
                        else
                                util_errno(errno, "cannot attach to %s", k);
                        return EXIT_FAIL;
                }
        }
        c.key = shbuf_get_key(c.sb);
        c.backend = shbuf_get_backend(c.sb);
        c.base = shbuf_get_pointer(c.sb);
        c.size = shbuf_get_size(c.sb);

        int r = 0;
        if (c.size < HDR_SIZE + 1) {
                util_err("buffer %s is too small for a stream (%lu bytes)", util_format_key(c.key, k),
                         c.size);
                r = -EINVAL;
        } else if (c.role == PROVIDER) {
                char sz[16];
                if (key_file) {
                        r = write_key_file(key_file, c.key);
                        if (r < 0)
                                util_errno(-r, "cannot write the key to %s", key_file);
                } else {
                        util_err("buffer %s (%s, %s); attach with: shbuf cat --key %s",
                                 util_format_key(c.key, k), c.backend, util_format_size(c.size, sz), k);
                }
        }
        if (r == 0) {
                c.start_ms = c.last_tick_ms = now_ms();
                remember_peer(&c);
                r = c.writing ? do_write(&c) : do_read(&c);
        }
        shbuf_free(c.sb);
        return r < 0 ? EXIT_FAIL : EXIT_OK;
}
