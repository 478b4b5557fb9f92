/*
 * The transports this build measures, in the order a round runs them, and
 * the ones it cannot. The only place that knows which optional libraries
 * were found when the tool was built.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stddef.h>

#include "bench.h"

const struct bench_transport *const bench_transports[] = {
        &bench_tr_shbuf,
        &bench_tr_shbuf_zc,
        &bench_tr_ring,
        &bench_tr_pipe,
        &bench_tr_pipe_sized,
        &bench_tr_vmsplice,
        &bench_tr_fifo,
        &bench_tr_socketpair,
#ifdef SHBUF_BENCH_WITH_ZMQ
        &bench_tr_zmq_pushpull,
        &bench_tr_zmq_pair,
#endif
#ifdef SHBUF_BENCH_WITH_BOOST
        &bench_tr_boost_mq,
#endif
#ifdef SHBUF_BENCH_WITH_NNG
        &bench_tr_nng_pipeline,
#endif
        NULL,
};

#ifdef SHBUF_BENCH_NO_PEERS
#define NOT_BUILT(what) what " was left out of this build (SHBUF_BENCH_PEERS=OFF)"
#else
#define NOT_BUILT(what) what " was not found when this program was built"
#endif

const struct bench_skipped bench_skipped[] = {
#ifndef SHBUF_BENCH_WITH_ZMQ
        {"zmq-pushpull", NOT_BUILT("ZeroMQ (libzmq)")},
        {"zmq-pair", NOT_BUILT("ZeroMQ (libzmq)")},
#endif
#ifndef SHBUF_BENCH_WITH_BOOST
        {"boost-mq", NOT_BUILT("Boost.Interprocess (Boost headers and a C++ compiler)")},
#endif
#ifndef SHBUF_BENCH_WITH_NNG
        {"nng-pipeline", NOT_BUILT("NNG")},
#endif
        {NULL, NULL},
};
