/*
 * Reproducible bytes. See bytes.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bytes.h"

void t_stream_init(struct t_stream *s, uint64_t seed) {
        s->state = seed ? seed : 0x9E3779B97F4A7C15u;
        s->left = 0;
        s->word = 0;
}

static uint64_t next_word(uint64_t *x) {
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        return *x * 0x2545F4914F6CDD1Du;
}

void t_stream_fill(struct t_stream *s, unsigned char *buf, size_t n) {
        size_t i = 0;

        /* Bytes left over from the last word, then whole words, then a tail:
         * the stream is the same however it is cut into pieces. */
        while (i < n && s->left > 0) {
                buf[i++] = (unsigned char) s->word;
                s->word >>= 8;
                s->left--;
        }
        while (n - i >= 8) {
                uint64_t w = next_word(&s->state);
                for (int b = 0; b < 8; b++)
                        buf[i + (size_t) b] = (unsigned char) (w >> (8 * b));
                i += 8;
        }
        if (i < n) {
                s->word = next_word(&s->state);
                s->left = 8;
                while (i < n) {
                        buf[i++] = (unsigned char) s->word;
                        s->word >>= 8;
                        s->left--;
                }
        }
}

uint64_t t_rand64(uint64_t *state) {
        if (*state == 0)
                *state = 0x2545F4914F6CDD1Du;
        return next_word(state);
}

static uint32_t record_sum(const struct t_record *r) {
        uint32_t x = r->writer * 2654435761u ^ r->seq;
        for (size_t i = 0; i < sizeof(r->payload); i++)
                x = x * 31 + r->payload[i];
        return x;
}

void t_record_make(struct t_record *r, uint32_t writer, uint32_t seq) {
        r->writer = writer;
        r->seq = seq;
        for (size_t i = 0; i < sizeof(r->payload); i++)
                r->payload[i] = (unsigned char) (writer * 7 + seq * 13 + i);
        r->sum = record_sum(r);
}

int t_record_ok(const struct t_record *r, uint32_t writers) {
        return r->writer < writers && r->sum == record_sum(r);
}
