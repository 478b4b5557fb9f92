/*
 * Boost.Interprocess's message_queue behind a C interface (boost-mq.h): a
 * fixed number of fixed-size slots in POSIX shared memory, guarded by a
 * process-shared mutex, with condition variables for "not empty" and "not
 * full". C++ because Boost is; nothing else of the benchmark is.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <cerrno>
#include <cstdio>
#include <exception>
#include <new>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/version.hpp>

#include "boost-mq.h"

namespace bi = boost::interprocess;

struct bench_bmq {
        bi::message_queue *q;
};

/* Describe what Boost threw; an errno value to return, negated. */
static int failed(const char *what, char *err, size_t errlen) {
        try {
                throw;
        } catch (const bi::interprocess_exception &x) {
                std::snprintf(err, errlen, "%s: %s", what, x.what());
                int e = x.get_native_error();
                return e > 0 ? -e : -EIO;
        } catch (const std::bad_alloc &) {
                std::snprintf(err, errlen, "%s: out of memory", what);
                return -ENOMEM;
        } catch (const std::exception &x) {
                std::snprintf(err, errlen, "%s: %s", what, x.what());
                return -EIO;
        }
}

int bench_bmq_create(const char *name, size_t max_msgs, size_t msg_size, bench_bmq **ret, char *err,
                     size_t errlen) {
        try {
                bi::permissions perm(0600);
                *ret = new bench_bmq{new bi::message_queue(bi::create_only, name, max_msgs, msg_size, perm)};
                return 0;
        } catch (...) {
                return failed("creating the message_queue", err, errlen);
        }
}

int bench_bmq_open(const char *name, bench_bmq **ret, char *err, size_t errlen) {
        try {
                *ret = new bench_bmq{new bi::message_queue(bi::open_only, name)};
                return 0;
        } catch (...) {
                return failed("opening the message_queue", err, errlen);
        }
}

int bench_bmq_send(bench_bmq *q, const void *p, size_t n, char *err, size_t errlen) {
        try {
                q->q->send(p, n, 0);
                return 0;
        } catch (...) {
                return failed("message_queue::send", err, errlen);
        }
}

int bench_bmq_receive(bench_bmq *q, void *p, size_t n, size_t *ret_n, char *err, size_t errlen) {
        try {
                bi::message_queue::size_type got = 0;
                unsigned int priority;
                q->q->receive(p, n, got, priority);
                *ret_n = got;
                return 0;
        } catch (...) {
                return failed("message_queue::receive", err, errlen);
        }
}

void bench_bmq_close(bench_bmq *q) {
        if (q) {
                delete q->q;
                delete q;
        }
}

int bench_bmq_remove(const char *name) {
        try {
                return bi::message_queue::remove(name) ? 1 : 0;
        } catch (...) {
                return 0;
        }
}

const char *bench_bmq_version(void) {
        static char v[16];
        std::snprintf(v, sizeof(v), "%d.%d", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000);
        return v;
}
