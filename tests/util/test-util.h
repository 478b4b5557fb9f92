/*
 * The helpers of the test programs, peers and tools, one header for all:
 *
 *   keys.h          keys per test process, the record of what it made, the sweep
 *   peer.h          forked peers driven through pipes, waiting, time
 *   bytes.h         reproducible byte streams
 *   measure.h       descriptors, CPU time, environment, sanitizers
 *   backend-desc.h  what the tests know of each backend's OS objects
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_UTIL_H
#define SHBUF_TEST_UTIL_H

#include "backend-desc.h"
#include "bytes.h"
#include "keys.h"
#include "measure.h"
#include "peer.h"

#endif
