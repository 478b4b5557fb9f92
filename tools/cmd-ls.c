/*
 * shbuf ls: one line per buffer on this machine, both backends, in the manner
 * of lsipc(1): a table for people, --raw and --noheadings for scripts, --json
 * for programs, and -o to choose the columns. Buffers still being created,
 * or left half-created by a creator that died, are lines too (STATE says
 * which); objects under a buffer's name that are not buffers are listed,
 * with the reason, in the JSON output's "skipped".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libshbuf/shbuf.h>

#include "commands.h"
#include "util.h"

enum kind { K_STRING, K_NUMBER, K_SIZE, K_BOOL };

enum state { ST_READY, ST_CREATING, ST_HALF_CREATED };
static const char *const state_names[] = {"ready", "creating", "half-created"};

/*
 * One line: a buffer, or one that is not whole. The columns' getters are
 * handed &row->in; it is the first member, so get_state() and the
 * getters of what only a whole buffer has find the rest from it.
 */
struct row {
        shbuf_info in;
        enum state state;
};

static enum state state_of(const shbuf_info *in) {
        return ((const struct row *) (const void *) in)->state;
}

/* One cell, ready for a table and for JSON. null: no value ("-" / null). */
struct cell {
        char text[40];
        unsigned long long num;
        bool null;
        bool truth;
};

struct column {
        const char *name;
        const char *help;
        enum kind kind;
        void (*get)(const shbuf_info *in, struct cell *ret);
};

static void get_key(const shbuf_info *in, struct cell *ret) {
        util_format_key(in->key, ret->text);
}
static void get_backend(const shbuf_info *in, struct cell *ret) {
        snprintf(ret->text, sizeof(ret->text), "%s", in->backend);
}
static void get_size(const shbuf_info *in, struct cell *ret) {
        ret->num = in->size;
}
/* The status snapshot is only meaningful when it passed validation. */
static void get_used(const shbuf_info *in, struct cell *ret) {
        ret->null = !in->status_valid;
        ret->num = in->status.length;
}
static void get_use_pct(const shbuf_info *in, struct cell *ret) {
        ret->null = !in->status_valid || in->size == 0;
        ret->num = ret->null ? 0 : (unsigned long long) (in->status.length * 100.0 / (double) in->size);
}
static void get_backlog(const shbuf_info *in, struct cell *ret) {
        ret->null = !in->status_valid;
        ret->num = in->status.backlog;
}
static void get_provider(const shbuf_info *in, struct cell *ret) {
        ret->null = in->provider_pid <= 0;
        ret->num = (unsigned long long) in->provider_pid;
}
static void get_palive(const shbuf_info *in, struct cell *ret) {
        ret->null = in->provider_pid <= 0;
        ret->truth = in->provider_alive;
}
static void get_client(const shbuf_info *in, struct cell *ret) {
        ret->null = !in->client_attached || in->client_pid <= 0;
        ret->num = (unsigned long long) in->client_pid;
}
static void get_calive(const shbuf_info *in, struct cell *ret) {
        ret->null = !in->client_attached;
        ret->truth = in->client_alive;
}
static void get_mode(const shbuf_info *in, struct cell *ret) {
        snprintf(ret->text, sizeof(ret->text), "%04o", in->mode & 07777);
}
static void get_owner(const shbuf_info *in, struct cell *ret) {
        char u[32];
        snprintf(ret->text, sizeof(ret->text), "%s", util_format_user(in->uid, u));
}
static void get_uid(const shbuf_info *in, struct cell *ret) {
        ret->num = in->uid;
}
/* A half-made buffer has no status block yet: its counters are absent. */
static void get_writes(const shbuf_info *in, struct cell *ret) {
        ret->null = state_of(in) != ST_READY;
        ret->num = in->status.write_count;
}
static void get_reads(const shbuf_info *in, struct cell *ret) {
        ret->null = state_of(in) != ST_READY;
        ret->num = in->status.read_count;
}
static void get_valid(const shbuf_info *in, struct cell *ret) {
        ret->truth = in->status_valid;
}
static void get_recoveries(const shbuf_info *in, struct cell *ret) {
        ret->null = state_of(in) != ST_READY;
        ret->num = in->lock_recoveries;
}
static void get_state(const shbuf_info *in, struct cell *ret) {
        snprintf(ret->text, sizeof(ret->text), "%s", state_names[state_of(in)]);
}

static const struct column columns[] = {
        {"KEY", "key of the buffer", K_STRING, get_key},
        {"BACKEND", "backend that made it (sysv, posix)", K_STRING, get_backend},
        {"STATE", "ready, creating, or half-created (its creator died)", K_STRING, get_state},
        {"SIZE", "ring size", K_SIZE, get_size},
        {"USED", "unread bytes in the ring", K_SIZE, get_used},
        {"USE%", "fill level of the ring, percent", K_NUMBER, get_use_pct},
        {"BACKLOG", "already-read bytes kept before the read index", K_SIZE, get_backlog},
        {"PROVIDER", "pid of the provider (of the creator, while not ready)", K_NUMBER, get_provider},
        {"PALIVE", "whether the provider (creator) process is alive", K_BOOL, get_palive},
        {"CLIENT", "pid of the attached client", K_NUMBER, get_client},
        {"CALIVE", "whether the client process is alive", K_BOOL, get_calive},
        {"MODE", "permission bits", K_STRING, get_mode},
        {"OWNER", "owner of the buffer", K_STRING, get_owner},
        {"UID", "owner's user id", K_NUMBER, get_uid},
        {"WRITES", "write commits so far", K_NUMBER, get_writes},
        {"READS", "read commits so far", K_NUMBER, get_reads},
        {"VALID", "whether the status block passed validation", K_BOOL, get_valid},
        {"RECOVERIES", "times a dead holder's lock was taken over", K_NUMBER, get_recoveries},
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static const char default_columns[] =
        "KEY,BACKEND,STATE,SIZE,USED,USE%,BACKLOG,PROVIDER,PALIVE,CLIENT,CALIVE,MODE,OWNER";

enum format { TABLE, RAW, JSON };

/* Parse "A,B,C" (or "+A,B" to add to the defaults) into column indexes. */
static int parse_columns(const char *list, size_t *cols, size_t *ncols) {
        if (list[0] == '+') {
                int r = parse_columns(default_columns, cols, ncols);
                if (r < 0)
                        return r;
                list++;
        }
        char *copy = strdup(list), *save = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < NCOLUMNS; i++)
                        if (strcasecmp(name, columns[i].name) == 0)
                                break;
                if (i == NCOLUMNS) {
                        util_usage("unknown column '%s'", name);
                        free(copy);
                        return -EINVAL;
                }
                if (*ncols == NCOLUMNS * 2) {
                        util_usage("too many columns");
                        free(copy);
                        return -EINVAL;
                }
                cols[(*ncols)++] = i;
        }
        free(copy);
        if (*ncols == 0) {
                util_usage("no columns given");
                return -EINVAL;
        }
        return 0;
}

static void render_text(const struct column *col, const struct cell *c, bool bytes, char *buf, size_t n) {
        if (c->null) {
                snprintf(buf, n, "-");
                return;
        }
        switch (col->kind) {
        case K_STRING:
                snprintf(buf, n, "%s", c->text);
                break;
        case K_NUMBER:
                snprintf(buf, n, "%llu", c->num);
                break;
        case K_SIZE:
                if (bytes) {
                        snprintf(buf, n, "%llu", c->num);
                } else {
                        char s[16];
                        snprintf(buf, n, "%s", util_format_size(c->num, s));
                }
                break;
        case K_BOOL:
                snprintf(buf, n, "%s", c->truth ? "yes" : "no");
                break;
        }
}

static void json_name(const char *name) {
        char lower[32];
        size_t i;
        for (i = 0; name[i] && i + 1 < sizeof(lower); i++)
                lower[i] = (char) (name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
        lower[i] = '\0';
        util_json_string(lower);
}

static void print_json(const struct row *items, size_t n, const size_t *cols, size_t ncols,
                       const shbuf_other *skipped, size_t nskipped) {
        printf("{\n   \"shbuf\": [");
        for (size_t i = 0; i < n; i++) {
                printf("%s\n      {", i ? "," : "");
                for (size_t j = 0; j < ncols; j++) {
                        const struct column *col = &columns[cols[j]];
                        struct cell c = {0};
                        col->get(&items[i].in, &c);
                        printf("%s", j ? ", " : "");
                        json_name(col->name);
                        printf(": ");
                        if (c.null)
                                printf("null");
                        else if (col->kind == K_STRING)
                                util_json_string(c.text);
                        else if (col->kind == K_BOOL)
                                printf("%s", c.truth ? "true" : "false");
                        else
                                printf("%llu", c.num);
                }
                printf("}");
        }
        printf("%s],\n   \"skipped\": [", n ? "\n   " : "");
        /* What is under a buffer's name but is no buffer, never touched. */
        for (size_t i = 0; i < nskipped; i++) {
                char k[11];
                printf("%s\n      {\"backend\": ", i ? "," : "");
                util_json_string(skipped[i].backend);
                printf(", \"key\": ");
                util_json_string(util_format_key(skipped[i].key, k));
                printf(", \"name\": ");
                util_json_string(skipped[i].object);
                printf(", \"reason\": ");
                util_json_string(skipped[i].reason);
                printf("}");
        }
        printf("%s]\n}\n", nskipped ? "\n   " : "");
}

static void print_table(const struct row *items, size_t n, const size_t *cols, size_t ncols, bool raw,
                        bool headings, bool bytes) {
        size_t width[NCOLUMNS * 2] = {0};
        char(*text)[48] = calloc(n * ncols + 1, sizeof(*text));
        if (!text) {
                util_errno(ENOMEM, "cannot format the list");
                exit(EXIT_FAIL);
        }
        for (size_t j = 0; j < ncols; j++)
                width[j] = headings ? strlen(columns[cols[j]].name) : 0;
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < ncols; j++) {
                        struct cell c = {0};
                        columns[cols[j]].get(&items[i].in, &c);
                        render_text(&columns[cols[j]], &c, bytes, text[i * ncols + j], sizeof(text[0]));
                        size_t w = strlen(text[i * ncols + j]);
                        if (w > width[j])
                                width[j] = w;
                }
        for (size_t i = headings ? 0 : 1; i <= n; i++) {
                for (size_t j = 0; j < ncols; j++) {
                        const struct column *col = &columns[cols[j]];
                        const char *s = i == 0 ? col->name : text[(i - 1) * ncols + j];
                        bool last = j + 1 == ncols;
                        if (raw)
                                printf("%s%s", s, last ? "" : " ");
                        else if (col->kind == K_STRING || col->kind == K_BOOL)
                                printf("%-*s%s", last ? 0 : (int) width[j], s, last ? "" : " ");
                        else
                                printf("%*s%s", (int) width[j], s, last ? "" : " ");
                }
                putchar('\n');
        }
        free(text);
}

static int by_backend_and_key(const void *a, const void *b) {
        const shbuf_info *x = &((const struct row *) a)->in, *y = &((const struct row *) b)->in;
        int r = strcmp(x->backend, y->backend);
        if (r != 0)
                return r;
        uint32_t kx = (uint32_t) x->key, ky = (uint32_t) y->key;
        return kx < ky ? -1 : kx > ky;
}

/* A line for a buffer that is not whole: what its creation marker says. */
static void half_made_row(const shbuf_other *o, struct row *ret) {
        memset(ret, 0, sizeof(*ret));
        ret->state = o->state == SHBUF_OTHER_CREATING ? ST_CREATING : ST_HALF_CREATED;
        memcpy(ret->in.backend, o->backend, sizeof(ret->in.backend));
        ret->in.key = o->key;
        ret->in.size = o->size;
        ret->in.provider_pid = o->creator_pid;
        ret->in.provider_alive = o->state == SHBUF_OTHER_CREATING;
        ret->in.mode = o->mode;
        ret->in.uid = o->uid;
        ret->in.attachments = -1;
}

/*
 * Everything there is to list, of one backend or all: the buffers and the
 * half-made ones as rows, the rest as skipped objects (static reasons).
 */
static int list_rows(const char *backend, struct row **ret, size_t *count, shbuf_other **ret_skipped,
                     size_t *nskipped) {
        shbuf_info *items = NULL;
        shbuf_other *others = NULL;
        size_t n = 0, nothers = 0, nrows = 0, nskip = 0;
        if (shbuf_list(&items, &n) < 0 || shbuf_list_other(&others, &nothers) < 0) {
                int e = errno;
                free(items);
                return -e;
        }
        struct row *rows = calloc(n + nothers + 1, sizeof(*rows));
        if (!rows) {
                free(items);
                free(others);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (!backend || strcmp(items[i].backend, backend) == 0)
                        rows[nrows++] = (struct row){.in = items[i], .state = ST_READY};
        for (size_t i = 0; i < nothers; i++) {
                if (backend && strcmp(others[i].backend, backend) != 0)
                        continue;
                if (others[i].state == SHBUF_OTHER_SKIPPED)
                        others[nskip++] = others[i];
                else
                        half_made_row(&others[i], &rows[nrows++]);
        }
        free(items);
        *ret = rows;
        *count = nrows;
        *ret_skipped = others;
        *nskipped = nskip;
        return 0;
}

static void usage(void) {
        printf("Usage:\n"
               " shbuf ls [options]\n"
               "\n"
               "List the shared buffers on this machine, of every compiled backend, also\n"
               "those being created and those whose creator died half-way (see STATE).\n"
               "\n"
               "Options:\n"
               " -J, --json            use JSON output format; \"skipped\" lists what is\n"
               "                       under a buffer's name but is not a buffer, and why\n"
               " -n, --noheadings      don't print headings\n"
               " -r, --raw             use the raw output format (no alignment)\n"
               " -o, --output LIST     columns to show (\"+LIST\" adds to the default)\n"
               " -b, --bytes           print sizes in bytes rather than in a human format\n"
               "     --backend NAME    list only the buffers of this backend\n"
               " -h, --help            display this help\n"
               "\n"
               "Columns (default %s):\n",
               default_columns);
        for (size_t i = 0; i < NCOLUMNS; i++)
                printf(" %10s  %s\n", columns[i].name, columns[i].help);
}

int cmd_ls(int argc, char **argv) {
        enum { OPT_BACKEND = 256 };
        static const struct option longopts[] = {
                {"json", no_argument, NULL, 'J'},  {"noheadings", no_argument, NULL, 'n'},
                {"raw", no_argument, NULL, 'r'},   {"output", required_argument, NULL, 'o'},
                {"bytes", no_argument, NULL, 'b'}, {"backend", required_argument, NULL, OPT_BACKEND},
                {"help", no_argument, NULL, 'h'},  {NULL, 0, NULL, 0},
        };
        size_t cols[NCOLUMNS * 2], ncols = 0;
        const char *output = default_columns, *backend = NULL;
        enum format format = TABLE;
        bool headings = true, bytes = false;
        int opt;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":Jnro:bh", longopts, NULL)) != -1) {
                switch (opt) {
                case 'J':
                        format = JSON;
                        break;
                case 'n':
                        headings = false;
                        break;
                case 'r':
                        format = RAW;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case 'b':
                        bytes = true;
                        break;
                case OPT_BACKEND:
                        backend = optarg;
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
        if (parse_columns(output, cols, &ncols) < 0)
                return EXIT_FAIL;
        if (backend) {
                bool known = false;
                for (const char *const *b = shbuf_backends(); *b; b++)
                        known = known || strcmp(*b, backend) == 0;
                if (!known)
                        return util_usage("unknown backend '%s' (see 'shbuf --backends')", backend);
        }

        struct row *rows = NULL;
        shbuf_other *skipped = NULL;
        size_t n = 0, nskipped = 0;
        int r = list_rows(backend, &rows, &n, &skipped, &nskipped);
        if (r < 0) {
                util_errno(-r, "cannot list the buffers");
                return EXIT_FAIL;
        }
        if (n > 1)
                qsort(rows, n, sizeof(*rows), by_backend_and_key);
        if (format == JSON)
                print_json(rows, n, cols, ncols, skipped, nskipped);
        else
                print_table(rows, n, cols, ncols, format == RAW, headings, bytes);
        free(rows);
        free(skipped);
        return EXIT_OK;
}
