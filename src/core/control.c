/*
 * The identification part of the control block.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "layout.h"

void shbuf__control_init(struct shbuf__control *c, uint8_t backend_id, int32_t key, uint64_t data_size) {
        struct shbuf__header *h = &c->header;
        h->layout_version = SHBUF__LAYOUT_VERSION;
        h->word_size = (uint8_t) sizeof(unsigned long);
        h->backend_id = backend_id;
        h->control_size = SHBUF__CONTROL_SIZE;
        h->data_size = data_size;
        h->key = key;
        /* The magic goes last and with release order: whoever sees it also
         * sees a complete header. */
        atomic_store_explicit(&h->magic, SHBUF__MAGIC, memory_order_release);
}

int shbuf__control_validate(const struct shbuf__control *c, uint64_t mapped_size, uint8_t backend_id) {
        const struct shbuf__header *h = &c->header;
        if (mapped_size < SHBUF__CONTROL_SIZE)
                return -EPROTO;
        if (atomic_load_explicit(&h->magic, memory_order_acquire) != SHBUF__MAGIC)
                return -EPROTO;
        if (h->layout_version != SHBUF__LAYOUT_VERSION || h->word_size != sizeof(unsigned long) ||
            h->backend_id != backend_id || h->control_size != SHBUF__CONTROL_SIZE)
                return -EPROTO;
        /* The data block must be mappable and its positions representable. */
        if (h->data_size == 0 || h->data_size > (uint64_t) SIZE_MAX / 2 || h->data_size > SHBUF__SIZE_MAX)
                return -EPROTO;
        return 0;
}
