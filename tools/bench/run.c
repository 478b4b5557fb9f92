/*
 * Process orchestration: every measurement runs in two fresh processes.
 *
 * The coordinator prepares the links (kernel descriptors, shared mappings,
 * names), forks the first side, which creates whatever is named (a buffer,
 * a listening socket, a queue) and reports that it is ready, with the key
 * the second side needs; then it forks the second side, which opens what
 * the first made. Once both are ready, the coordinator starts them together,
 * collects their results through pipes, tells them to finish (closing their
 * "go" pipes), reaps them, and cleans up. It never touches a transport
 * itself beyond preparing and removing it. On an error or a time-out it
 * sends SIGTERM, then SIGKILL a second later; the sides die with the
 * coordinator too (PR_SET_PDEATHSIG).
 *
 * Rounds: round 0 verifies every byte and is not timed; in rounds 1..N every
 * measurement runs once, in the plan's order, odd rounds backwards, so slow
 * drift of the machine does not always hit the same transports.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

enum { MSG_READY = 1, MSG_RESULT = 2 };

struct pair {
        struct bench_case *c;
        bool verify;
        int nlinks;
        struct bench_link link[2];
        pid_t pid[2];
        int res[2]; /* the coordinator's read end of each side's result pipe */
        int go[2];  /* the coordinator's write end of each side's go pipe */
        struct bench_msg msg[2];
};

static void on_signal(int sig) {
        (void) sig;
        bench_stop = 1;
}

void bench_handle_signals(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: blocking calls return EINTR so the loops can stop. */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

/* ---- a side ------------------------------------------------------------ */

static bool write_msg(int fd, const struct bench_msg *m) {
        ssize_t r;
        do
                r = write(fd, m, sizeof(*m));
        while (r < 0 && errno == EINTR);
        return r == (ssize_t) sizeof(*m);
}

/* Wait for the coordinator's go (1) or finish (end of file, 0); -1 on error. */
static int read_go(int fd) {
        char b;
        for (;;) {
                ssize_t r = read(fd, &b, 1);
                if (r >= 0)
                        return (int) r;
                if (errno != EINTR || bench_stop)
                        return -1;
        }
}

/* Which link an end of this side uses, and which way. A stream has one link,
 * from the producer (role 1) to the consumer (role 0). A ping-pong has two:
 * link 0 from the initiator (role 0) to the responder, link 1 back; ends[0]
 * sends and ends[1] receives. */
static void assign_ends(struct pair *p, int role, struct bench_end *ends, char *err, size_t errlen) {
        for (int i = 0; i < p->nlinks; i++) {
                struct bench_end *e = &ends[i];
                memset(e, 0, sizeof(*e));
                e->c = p->c;
                e->fd = -1;
                e->err = err;
                e->errlen = errlen;
                e->creator = role == 0;
                if (p->nlinks == 1) {
                        e->link = &p->link[0];
                        e->sender = role == 1;
                } else {
                        e->link = &p->link[i == 0 ? role : 1 - role];
                        e->sender = i == 0;
                }
        }
}

static bool uses_fd(const struct bench_end *ends, int n, int fd) {
        for (int i = 0; i < n; i++)
                if (ends[i].fd == fd)
                        return true;
        return false;
}

static _Noreturn void side_main(struct pair *p, int role, int res_fd, int go_fd) {
        struct bench_msg out;
        struct bench_end ends[2];
        int opened = 0, status = 0, r = 0;

        memset(&out, 0, sizeof(out));
        bench_handle_signals();
        /* Ends this side (through its normal cleanup) if the coordinator dies. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != bench_cfg.coordinator)
                _exit(3);
        /* Before any transport opens, so that its threads are counted too. */
        bench_counter_open();

        out.type = MSG_READY;
        assign_ends(p, role, ends, out.what, sizeof(out.what));
        /* The creating side opens link 0 first, the other side too: a
         * transport that waits for its peer while opening (a FIFO) is only
         * used for streams, which have one link. */
        /* An end whose open failed is closed too: close() copes with
         * whatever open() got done. */
        for (; opened < p->nlinks && r == 0; opened++)
                r = p->c->tr->open(&ends[opened]);
        for (int i = 0; i < p->nlinks; i++) {
                out.tokens[i] = p->link[i].token;
                /* The other side's descriptors: closed, so that end of file
                 * and EPIPE work. */
                for (int k = 0; k < 2; k++)
                        if (p->link[i].fd[k] >= 0 && !uses_fd(ends, opened, p->link[i].fd[k]))
                                close_fd(&p->link[i].fd[k]);
        }
        if (r < 0 && !out.what[0])
                snprintf(out.what, sizeof(out.what), "opening the %s: %s", p->c->tr->name, strerror(-r));
        out.err = r < 0 ? -r : 0;
        if (!write_msg(res_fd, &out) || r < 0)
                status = 1;
        if (status == 0 && read_go(go_fd) == 1) {
                out.type = MSG_RESULT;
                r = bench_workload(ends, role, p->verify, &out);
                out.err = r < 0 ? -r : 0;
                if (!write_msg(res_fd, &out) || r < 0)
                        status = 1;
                /* Stay until the coordinator has both results: a provider
                 * that left early would take the buffer from its client. */
                (void) read_go(go_fd);
        } else {
                status = 1;
        }
        for (int i = opened - 1; i >= 0; i--)
                p->c->tr->close(&ends[i]);
        _exit(status);
}

/* ---- the coordinator ------------------------------------------------------ */

/* Read one message, waiting at most until deadline (bench_now() seconds). */
static int read_msg(int fd, struct bench_msg *m, double deadline) {
        size_t got = 0;
        while (got < sizeof(*m)) {
                double left = deadline - bench_now();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                int n = poll(&pf, 1, (int) (left * 1000) + 1);
                if (n < 0 && bench_retry(errno))
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        continue;
                ssize_t r = read(fd, (char *) m + got, sizeof(*m) - got);
                if (r < 0 && bench_retry(errno))
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -EPIPE;
                got += (size_t) r;
        }
        return 0;
}

/* In a new side: close every descriptor it does not need, above all the
 * coordinator's pipes to the other side, which would hide their end of file. */
static void close_other_fds(const int *keep, int nkeep) {
        int fds[256], n = 0;
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return;
        int self = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)) && n < 256) {
                char *end;
                errno = 0;
                unsigned long long fd = strtoull(e->d_name, &end, 10);
                if (e->d_name[0] == '.' || errno || *end || fd <= 2 || fd > INT_MAX || (int) fd == self)
                        continue;
                bool k = false;
                for (int i = 0; i < nkeep; i++)
                        k |= keep[i] == (int) fd;
                if (!k)
                        fds[n++] = (int) fd;
        }
        closedir(d);
        for (int i = 0; i < n; i++)
                close(fds[i]);
}

static int spawn(struct pair *p, int role) {
        int res[2], go[2];
        if (pipe2(res, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(go, O_CLOEXEC) < 0) {
                int e = -errno;
                close(res[0]);
                close(res[1]);
                return e;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int e = -errno;
                close(res[0]);
                close(res[1]);
                close(go[0]);
                close(go[1]);
                return e;
        }
        if (pid == 0) {
                int keep[6] = {res[1],           go[0],           p->link[0].fd[0], p->link[0].fd[1],
                               p->link[1].fd[0], p->link[1].fd[1]};
                close_other_fds(keep, 6);
                side_main(p, role, res[1], go[0]);
        }
        close(res[1]);
        close(go[0]);
        p->pid[role] = pid;
        p->res[role] = res[0];
        p->go[role] = go[1];
        return 0;
}

/* Reap both sides; after grace seconds send SIGTERM, one second later SIGKILL. */
static void reap(struct pair *p, double grace) {
        double start = bench_now();
        int sent = 0;
        for (;;) {
                bool alive = false;
                for (int i = 0; i < 2; i++) {
                        if (p->pid[i] <= 0)
                                continue;
                        pid_t r = waitpid(p->pid[i], NULL, WNOHANG);
                        if (r == p->pid[i] || (r < 0 && errno == ECHILD))
                                p->pid[i] = -1;
                        else
                                alive = true;
                }
                if (!alive)
                        return;
                double t = bench_now() - start;
                int sig = t >= grace + 1 ? SIGKILL : t >= grace ? SIGTERM : 0;
                if (sig && sig != sent) {
                        for (int i = 0; i < 2; i++)
                                if (p->pid[i] > 0)
                                        kill(p->pid[i], sig);
                        sent = sig;
                }
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
                nanosleep(&ts, NULL);
        }
}

static const char *side_name(const struct bench_case *c, int role) {
        if (c->kind == BENCH_PINGPONG)
                return role ? "responder" : "initiator";
        return role ? "producer" : "consumer";
}

static void pair_init(struct pair *p, struct bench_case *c, bool verify) {
        memset(p, 0, sizeof(*p));
        p->c = c;
        p->verify = verify;
        p->nlinks = c->kind == BENCH_PINGPONG ? 2 : 1;
        for (int i = 0; i < 2; i++) {
                p->pid[i] = -1;
                p->res[i] = p->go[i] = -1;
                p->link[i].c = c;
                p->link[i].fd[0] = p->link[i].fd[1] = -1;
        }
}

/* Prepare the links, start both sides and wait until both are ready. */
static int pair_start(struct pair *p, char *err, size_t errlen) {
        const struct bench_transport *tr = p->c->tr;
        for (int i = 0; i < p->nlinks; i++)
                if (tr->prepare && tr->prepare(&p->link[i], err, errlen) < 0)
                        return -1;
        if (!p->c->config[0])
                tr->describe(&p->link[0], p->c->config, sizeof(p->c->config));
        for (int role = 0; role < 2; role++) {
                int r = spawn(p, role);
                if (r < 0) {
                        snprintf(err, errlen, "fork: %s", strerror(-r));
                        return -1;
                }
                r = read_msg(p->res[role], &p->msg[role], bench_now() + 20);
                if (r < 0) {
                        snprintf(err, errlen, "the %s did not get ready: %s", side_name(p->c, role),
                                 r == -EPIPE ? "it exited" : strerror(-r));
                        return -1;
                }
                if (p->msg[role].type != MSG_READY || p->msg[role].err) {
                        snprintf(err, errlen, "%s: %s", side_name(p->c, role), p->msg[role].what);
                        return -1;
                }
                /* The second side is forked from here and finds them in p. */
                if (role == 0)
                        for (int i = 0; i < p->nlinks; i++)
                                p->link[i].token = p->msg[0].tokens[i];
        }
        /* The sides hold their ends now. */
        for (int i = 0; i < p->nlinks; i++) {
                close_fd(&p->link[i].fd[0]);
                close_fd(&p->link[i].fd[1]);
        }
        return 0;
}

static int pair_go(struct pair *p, char *err, size_t errlen) {
        for (int role = 0; role < 2; role++)
                if (write(p->go[role], "g", 1) != 1) {
                        snprintf(err, errlen, "starting the %s: %s", side_name(p->c, role), strerror(errno));
                        return -1;
                }
        return 0;
}

static int pair_collect(struct pair *p, double deadline, char *err, size_t errlen) {
        /* Results arrive in any order; an error on one side may leave the
         * other one blocked, so stop at the first error. */
        bool done[2] = {false, false};
        while (!done[0] || !done[1]) {
                struct pollfd pf[2];
                int idx[2], n = 0;
                for (int i = 0; i < 2; i++)
                        if (!done[i]) {
                                pf[n] = (struct pollfd){.fd = p->res[i], .events = POLLIN};
                                idx[n++] = i;
                        }
                double left = deadline - bench_now();
                if (left <= 0) {
                        snprintf(err, errlen, "timed out");
                        return -1;
                }
                int k = poll(pf, (nfds_t) n, (int) (left * 1000) + 1);
                if (k < 0 && bench_retry(errno))
                        continue;
                if (k < 0) {
                        snprintf(err, errlen, "interrupted");
                        return -1;
                }
                for (int j = 0; j < n; j++) {
                        if (!pf[j].revents)
                                continue;
                        int i = idx[j];
                        int r = read_msg(p->res[i], &p->msg[i], deadline);
                        if (r < 0) {
                                snprintf(err, errlen, "the %s %s", side_name(p->c, i),
                                         r == -EPIPE ? "exited without a result" : strerror(-r));
                                return -1;
                        }
                        if (p->msg[i].err) {
                                snprintf(err, errlen, "%s: %s", side_name(p->c, i), p->msg[i].what);
                                return -1;
                        }
                        done[i] = true;
                }
        }
        return 0;
}

/* Whatever happened, leave nothing behind: processes, descriptors, objects. */
static void pair_finish(struct pair *p, bool ok, char *err, size_t errlen) {
        for (int i = 0; i < 2; i++)
                close_fd(&p->go[i]); /* "finish", or the way out of a blocked read */
        reap(p, ok ? 10 : 0);
        for (int i = 0; i < 2; i++)
                close_fd(&p->res[i]);
        for (int i = 0; i < p->nlinks; i++) {
                struct bench_link *l = &p->link[i];
                close_fd(&l->fd[0]);
                close_fd(&l->fd[1]);
                char e[256] = "";
                if (p->c->tr->cleanup && p->c->tr->cleanup(l, ok && !err[0], e, sizeof(e)) < 0 && !err[0])
                        snprintf(err, errlen, "%s", e);
        }
}

static double pair_deadline(const struct bench_case *c, bool verify) {
        if (c->kind == BENCH_PINGPONG) {
                uint64_t n = verify ? bench_cfg.pp_verify_round_trips : bench_cfg.pp_round_trips;
                return bench_now() + 20 + (double) n * 1.1e-3;
        }
        /* The window, and time to drain what the transport holds. */
        return bench_now() + 20 + bench_cfg.warm_s + bench_cfg.window_s;
}

static double per_msg(double v, uint64_t msgs) {
        return msgs ? v / (double) msgs : NAN;
}

static void fill_sample(struct bench_case *c, int round, const struct pair *p) {
        struct bench_sample *s = &c->smp[round];
        memset(s, 0, sizeof(*s));
        if (c->kind == BENCH_PINGPONG) {
                memcpy(s->rtt_us, p->msg[0].rtt_us, sizeof(s->rtt_us));
        } else {
                const struct bench_msg *cons = &p->msg[0];
                s->msgs_per_s = cons->secs > 0 ? (double) cons->msgs / cons->secs : NAN;
                for (int side = 0; side < 2; side++) {
                        /* side 0 is the producer (role 1), 1 the consumer. */
                        const struct bench_msg *m = &p->msg[1 - side];
                        s->syscalls[side] = m->syscalls >= 0 ? per_msg((double) m->syscalls, m->msgs) : NAN;
                        s->switches[side] = per_msg((double) (m->nvcsw + m->nivcsw), m->msgs);
                        s->cpu_us[side] = per_msg((double) m->cpu_ns / 1e3, m->msgs);
                }
        }
        c->have[round] = true;
        if (round == 0)
                c->verified = true;
}

static void run_one(struct bench_case *c, int round) {
        struct pair p;
        char err[256] = "";

        pair_init(&p, c, round == 0);
        int r = pair_start(&p, err, sizeof(err));
        if (r == 0)
                r = pair_go(&p, err, sizeof(err));
        if (r == 0)
                r = pair_collect(&p, pair_deadline(c, round == 0), err, sizeof(err));
        pair_finish(&p, r == 0, err, sizeof(err));
        if (r == 0 && !err[0]) {
                fill_sample(c, round, &p);
                return;
        }
        c->failed = true;
        if (round > 0)
                snprintf(c->err, sizeof(c->err), "round %d: %.200s", round, err);
        else
                snprintf(c->err, sizeof(c->err), "verification round: %.200s", err);
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...) {
        if (!bench_cfg.progress)
                return;
        va_list ap;
        va_start(ap, fmt);
        fputs("\r\033[K", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fflush(stderr);
}

void bench_run_all(void) {
        int total = (bench_cfg.rounds + 1) * bench_ncases, done = 0;
        for (int round = 0; round <= bench_cfg.rounds && !bench_stop; round++) {
                for (int k = 0; k < bench_ncases && !bench_stop; k++, done++) {
                        int i = round % 2 ? bench_ncases - 1 - k : k;
                        struct bench_case *c = &bench_cases[i];
                        if (c->failed)
                                continue;
                        char sz[32];
                        progress("shbuf bench: %3d%%  %s %d/%d: %s, %s%s", done * 100 / total,
                                 round ? "round" : "verification round", round, bench_cfg.rounds, c->name,
                                 bench_size_text(c->size, sz, sizeof(sz)),
                                 c->kind == BENCH_PINGPONG ? " round trips" : "");
                        run_one(c, round);
                }
        }
        progress("%s", "");
}
