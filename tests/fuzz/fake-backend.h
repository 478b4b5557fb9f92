/* See fake-backend.c. SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SHBUF_FAKE_BACKEND_H
#define SHBUF_FAKE_BACKEND_H

#include "handle.h"

extern const struct shbuf__backend shbuf__backend_fake;

/* Make sb a handle over caller-owned memory. */
void fake_handle_init(shbuf *sb, struct shbuf__control *control, unsigned char *data, uint64_t size);

#endif
