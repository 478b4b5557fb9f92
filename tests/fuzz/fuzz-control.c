/*
 * libFuzzer target: arbitrary bytes as the shared control block.
 *
 * The control block is shared with another process and may be corrupted or
 * hostile, so whatever it holds, attaching must validate it without reading
 * outside it, and every call must either work or fail with a documented
 * error, never hand out a pointer outside the data block nor touch memory
 * outside the two blocks. Run under AddressSanitizer and UBSan, over the
 * in-memory backend (tests/fake-backend.c).
 *
 * The first bytes choose the data size, what is scribbled and the
 * operations; the rest is written over the control block.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake-backend.h"

#define OPS 12

static void check_range(const shbuf *sb, const unsigned char *p, uint64_t len) {
        if (p < sb->data || p > sb->data + sb->size || len > (uint64_t) (sb->data + sb->size - p))
                abort();
}

static void run(shbuf *sb, const uint8_t *ops) {
        unsigned char buf[256];
        for (int i = 0; i < OPS; i++) {
                unsigned char *p;
                uint64_t len;
                uint64_t amount = ops[i] * 37u;
                switch (ops[i] % 12) {
                case 0:
                        if (shbuf__get_read(sb, &p, &len) == 0)
                                check_range(sb, p, len);
                        break;
                case 1:
                        if (shbuf__get_write(sb, &p, &len) == 0)
                                check_range(sb, p, len);
                        break;
                case 2:
                        (void) shbuf__commit_read(sb, amount);
                        break;
                case 3:
                        (void) shbuf__commit_write(sb, amount);
                        break;
                case 4:
                        (void) shbuf__read(sb, buf, amount % sizeof(buf));
                        break;
                case 5:
                        memset(buf, ops[i], sizeof(buf));
                        (void) shbuf__write(sb, buf, amount % sizeof(buf));
                        break;
                case 6:
                        (void) shbuf__is_empty(sb);
                        (void) shbuf__is_full(sb);
                        break;
                case 7:
                        (void) shbuf__reset(sb, ops[i] & 1);
                        break;
                case 8:
                        if (shbuf__status_lock(sb) == 0) {
                                shbuf_status *st = shbuf__get_status(sb);
                                st->length += ops[i] & 3;
                                (void) shbuf__status_unlock(sb);
                        }
                        break;
                case 9:
                        (void) shbuf__wait(sb, 0);
                        break;
                case 10:
                        (void) shbuf__get_status(sb);
                        break;
                default:
                        (void) shbuf__notify(sb);
                        break;
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
        uint8_t ops[4 + OPS] = {0};
        shbuf *provider = NULL, *client = NULL;

        memcpy(ops, in, n < sizeof(ops) ? n : sizeof(ops));
        in += n < sizeof(ops) ? n : sizeof(ops);
        n -= n < sizeof(ops) ? n : sizeof(ops);

        /* Validation sees the raw bytes, with a mapping size that may be
         * smaller than a control block. */
        struct shbuf__control *raw = aligned_alloc(SHBUF__CACHELINE, SHBUF__CONTROL_SIZE);
        memset(raw, 0, SHBUF__CONTROL_SIZE);
        memcpy(raw, in, n < SHBUF__CONTROL_SIZE ? n : SHBUF__CONTROL_SIZE);
        (void) shbuf__control_validate(raw, n, ops[0] & 3);
        (void) shbuf__control_validate(raw, SHBUF__CONTROL_SIZE, SHBUF__BACKEND_FAKE);
        free(raw);

        /* A made-up holder of the status lock, or a made-up busy mark, may
         * name a side that lives (both are this process): the waits for
         * them are bounded, and here the bound is short. */
        shbuf__lock_wait_ms = 20;
        uint64_t size = 1 + ((uint64_t) ops[1] << 8 | ops[2]) % 8192;
        if (shbuf__create_on(&shbuf__backend_fake, &provider, 0, size, 0600) < 0)
                return 0;
        /* With ops[3] bit 0 a client is attached before the scribbling,
         * with bit 1 the header is scribbled too (only new attaches care). */
        if (ops[3] & 1)
                (void) shbuf__open_on(&shbuf__backend_fake, &client, provider->key);
        struct shbuf__control *c = provider->control;
        const size_t shared = (ops[3] & 2) ? 0 : offsetof(struct shbuf__control, head);
        size_t k = n < SHBUF__CONTROL_SIZE - shared ? n : SHBUF__CONTROL_SIZE - shared;
        /* The pids stay: the status lock waits (boundedly) for a holder
         * whose process lives, and a made-up pid may be anybody's. */
        uint32_t pids[2] = {atomic_load(&c->side[0].pid), atomic_load(&c->side[1].pid)};
        memcpy((char *) c + shared, in, k);
        for (int side = 0; side < 2; side++)
                atomic_store(&c->side[side].pid, pids[side]);

        if (!client)
                (void) shbuf__open_on(&shbuf__backend_fake, &client, provider->key);
        run(provider, ops + 4);
        if (client)
                run(client, ops + 4);
        if (client)
                shbuf__free(client);
        shbuf__free(provider);
        return 0;
}
