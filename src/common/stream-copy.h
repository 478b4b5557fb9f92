/*
 * Copying with streaming (non-temporal) stores: the loop of shbuf_write()
 * (src/core/copy.c). It lives in src/common/, the one folder of headers that
 * the library and its tools share, so that the benchmark's naive ring
 * copies with the very same instructions without reaching into the
 * library's private sources. A reference that
 * copied otherwise would measure the choice of stores, not the library:
 * 8-byte streaming stores (movnti) ran 25-45% slower here than these
 * 16-byte ones at times.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SHBUF_STREAM_COPY_H
#define SHBUF_STREAM_COPY_H

#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
#include <emmintrin.h>
#include <stdint.h>
#include <string.h>

#define SHBUF__HAVE_STREAM_COPY 1

/* Copy n bytes to dst with streaming stores, then fence: they are weakly
 * ordered, and all of them must be visible before the commit (or index)
 * that publishes the bytes. */
static inline void shbuf__stream_copy(unsigned char *dst, const unsigned char *src, uint64_t n) {
        /* Head up to a 16-byte boundary of the destination. */
        uint64_t head = (16 - ((uintptr_t) dst & 15)) & 15;
        if (head > n)
                head = n;
        memcpy(dst, src, head);
        dst += head;
        src += head;
        n -= head;
        for (; n >= 64; n -= 64, dst += 64, src += 64) {
                __m128i a = _mm_loadu_si128((const __m128i *) (const void *) src);
                __m128i b = _mm_loadu_si128((const __m128i *) (const void *) (src + 16));
                __m128i c = _mm_loadu_si128((const __m128i *) (const void *) (src + 32));
                __m128i d = _mm_loadu_si128((const __m128i *) (const void *) (src + 48));
                _mm_stream_si128((__m128i *) (void *) dst, a);
                _mm_stream_si128((__m128i *) (void *) (dst + 16), b);
                _mm_stream_si128((__m128i *) (void *) (dst + 32), c);
                _mm_stream_si128((__m128i *) (void *) (dst + 48), d);
        }
        memcpy(dst, src, n);
        _mm_sfence();
}
#endif

#endif
