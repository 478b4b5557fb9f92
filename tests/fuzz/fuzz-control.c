/*
 * libFuzzer target: arbitrary bytes as a control block.
 *
 * The control block is shared with another process and may be corrupted or
 * hostile, so whatever it holds, attaching must validate it without reading
 * outside it, and every status helper must either work or fail with EPROTO,
 * never hand out a pointer outside the data block nor touch memory outside
 * the two blocks. Run under AddressSanitizer and UBSan.
 *
 * The first bytes choose the data size and the operations; the rest is the
 * control block.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake-backend.h"

static void check_range(const shbuf *sb, const unsigned char *p, uint64_t len) {
        if (p < sb->data || p > sb->data + sb->size || len > (uint64_t) (sb->data + sb->size - p))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
        struct shbuf__control *c = aligned_alloc(SHBUF__CACHELINE, sizeof(*c));
        uint8_t ops[8] = { 0 };
        shbuf sb = { 0 };

        memcpy(ops, in, n < sizeof(ops) ? n : sizeof(ops));
        in += n < sizeof(ops) ? n : sizeof(ops);
        n -= n < sizeof(ops) ? n : sizeof(ops);
        memset(c, 0, sizeof(*c));
        memcpy(c, in, n < sizeof(*c) ? n : sizeof(*c));

        /* Attach-time validation sees the raw bytes, with a mapping size that
         * may be smaller than a control block. */
        (void) shbuf__control_validate(c, n, ops[0] & 3);
        (void) shbuf__control_validate(c, sizeof(*c), ops[0] & 3);

        uint64_t size = 1 + ((uint64_t) ops[1] << 8 | ops[2]) % 8192;
        unsigned char *data = malloc(size);
        unsigned char buf[256];
        fake_handle_init(&sb, c, data, size);

        for (int i = 3; i < 8; i++) {
                unsigned char *p;
                uint64_t len;
                uint64_t amount = ops[i] * 37u;
                switch (ops[i] % 10) {
                case 0:
                        if (shbuf__get_read(&sb, &p, &len) == 0)
                                check_range(&sb, p, len);
                        break;
                case 1:
                        if (shbuf__get_write(&sb, &p, &len) == 0)
                                check_range(&sb, p, len);
                        break;
                case 2:
                        (void) shbuf__commit_read(&sb, amount);
                        break;
                case 3:
                        (void) shbuf__commit_write(&sb, amount);
                        break;
                case 4:
                        (void) shbuf__read(&sb, buf, amount % sizeof(buf));
                        break;
                case 5:
                        memset(buf, ops[i], sizeof(buf));
                        (void) shbuf__write(&sb, buf, amount % sizeof(buf));
                        break;
                case 6:
                        (void) shbuf__is_empty(&sb);
                        (void) shbuf__is_full(&sb);
                        break;
                case 7:
                        (void) shbuf__reset(&sb, ops[i] & 1);
                        break;
                case 8:
                        if (shbuf__status_lock(&sb) == 0)
                                shbuf__unlock(&sb);
                        break;
                default:
                        (void) shbuf__notify(&sb);
                        break;
                }
        }
        pthread_cond_destroy(&sb.cond);
        pthread_mutex_destroy(&sb.mutex);
        pthread_mutex_destroy(&sb.fifo_mutex);
        free(data);
        free(c);
        return 0;
}
