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
        c->layout_version = SHBUF__LAYOUT_VERSION;
        c->word_size = (uint8_t) sizeof(unsigned long);
        c->backend_id = backend_id;
        c->control_size = SHBUF__CONTROL_SIZE;
        c->status_offset = (uint32_t) offsetof(struct shbuf__control, status);
        c->data_size = data_size;
        c->key = key;
        memset(&c->status, 0, sizeof(c->status));
        /* The magic goes last and with release order: whoever sees it also
         * sees a complete header. */
        atomic_store_explicit(&c->magic, SHBUF__MAGIC, memory_order_release);
}

int shbuf__control_validate(const struct shbuf__control *c, uint64_t mapped_size, uint8_t backend_id) {
        if (mapped_size < SHBUF__CONTROL_SIZE)
                return -EPROTO;
        if (atomic_load_explicit(&c->magic, memory_order_acquire) != SHBUF__MAGIC)
                return -EPROTO;
        if (c->layout_version != SHBUF__LAYOUT_VERSION || c->word_size != sizeof(unsigned long) ||
            c->backend_id != backend_id || c->control_size != SHBUF__CONTROL_SIZE ||
            c->status_offset != offsetof(struct shbuf__control, status))
                return -EPROTO;
        /* The data block must be mappable: non-empty and addressable. */
        if (c->data_size == 0 || c->data_size > (uint64_t) SIZE_MAX / 2)
                return -EPROTO;
        return 0;
}
