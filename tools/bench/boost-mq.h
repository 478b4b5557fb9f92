/*
 * A C interface to Boost.Interprocess's message_queue (boost-mq.cpp), for
 * the benchmark's boost-mq transport. Every function catches what Boost
 * throws: it returns 0 or -errno and describes a failure in err.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_BENCH_BOOST_MQ_H
#define SHBUF_BENCH_BOOST_MQ_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bench_bmq;

int bench_bmq_create(const char *name, size_t max_msgs, size_t msg_size, struct bench_bmq **ret, char *err,
                     size_t errlen);
int bench_bmq_open(const char *name, struct bench_bmq **ret, char *err, size_t errlen);
int bench_bmq_send(struct bench_bmq *q, const void *p, size_t n, char *err, size_t errlen);
int bench_bmq_receive(struct bench_bmq *q, void *p, size_t n, size_t *ret_n, char *err, size_t errlen);
void bench_bmq_close(struct bench_bmq *q);
/* 1 if a queue of that name was removed, 0 if there was none. */
int bench_bmq_remove(const char *name);
/* "1.74", for the report. */
const char *bench_bmq_version(void);

#ifdef __cplusplus
}
#endif

#endif
