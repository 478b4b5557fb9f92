/*
 * The tests' in-memory backend (fake-backend.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_FAKE_BACKEND_H
#define SHBUF_FAKE_BACKEND_H

#include "handle.h"

extern const struct shbuf__backend shbuf__backend_fake;

#endif
