/*
 * Reproducible bytes: a pseudo-random stream both ends of a test can
 * regenerate, and an independent generator for sizes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_TEST_BYTES_H
#define SHBUF_TEST_BYTES_H

#include <stddef.h>
#include <stdint.h>

/*
 * A reproducible stream of pseudo-random bytes (xorshift64*): both ends of a
 * streaming test regenerate it from the seed, so every byte can be checked
 * without sending the expected data separately.
 */
struct t_stream {
        uint64_t state;
        uint64_t word; /* unused bytes of the current word, low byte first */
        unsigned left; /* how many bytes of word are unused */
};

void t_stream_init(struct t_stream *s, uint64_t seed);
void t_stream_fill(struct t_stream *s, unsigned char *buf, size_t n);

/* The next 64 random bits of an independent generator (for chunk sizes). */
uint64_t t_rand64(uint64_t *state);

/*
 * A fixed-size record that carries who wrote it, its sequence number and a
 * checksum, for tests where many threads write and read one ring: a torn
 * or mixed record fails t_record_ok().
 */
#define T_RECORD 48
struct t_record {
        uint32_t writer, seq;
        unsigned char payload[T_RECORD - 12];
        uint32_t sum;
};
_Static_assert(sizeof(struct t_record) == T_RECORD, "records are T_RECORD bytes");

void t_record_make(struct t_record *r, uint32_t writer, uint32_t seq);
/* Whether r is a whole record of one of writers writers. */
int t_record_ok(const struct t_record *r, uint32_t writers);

#endif
