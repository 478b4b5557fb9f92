/*
 * One end of a verified stream: the writer sends a seeded pseudo-random byte
 * stream, the reader regenerates it and compares every byte. Used by the
 * helper program shbuf-peer and by check_stream, so both processes run the
 * same code whichever role they play.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_STREAM_H
#define SHBUF_TEST_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libshbuf/shbuf.h"

struct stream_opts {
        bool writer;    /* write the stream (else read and verify it) */
        bool zero_copy; /* get_*_pointer + inc_* instead of shbuf_read/shbuf_write */
        bool use_poll;  /* poll() the select descriptor instead of shbuf_wait() */
        uint64_t bytes; /* length of the stream */
        uint64_t seed;  /* of the data; the chunk sizes use their own seed */
        int stall_ms;   /* give up when nothing moves for this long (poll mode) */
};

/*
 * Run one end to completion. The writer returns once the reader has taken
 * everything (the ring is empty), so that freeing afterwards loses nothing.
 * Returns 0, or -1 with a one-line reason in err.
 */
int stream_run(shbuf *sb, const struct stream_opts *o, char *err, size_t errlen);

/* Parse "copy"/"ptr" and "wait"/"poll"; false on anything else. */
bool stream_parse_api(const char *s, bool *ret_zero_copy);
bool stream_parse_wait(const char *s, bool *ret_use_poll);

#endif
