/*
 * The identification part of the control block.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"

/* Everything of the identification but the magic. */
static void fill_header(struct shbuf__header *h, uint8_t backend_id, int32_t key, uint64_t data_size) {
        h->layout_version = SHBUF__LAYOUT_VERSION;
        h->word_size = (uint8_t) sizeof(unsigned long);
        h->backend_id = backend_id;
        h->control_size = SHBUF__CONTROL_SIZE;
        h->data_size = data_size;
        h->key = key;
}

void shbuf__control_init(struct shbuf__control *c, uint8_t backend_id, int32_t key, uint64_t data_size) {
        struct shbuf__header *h = &c->header;
        fill_header(h, backend_id, key, data_size);
        /* The magic goes last and with release order: whoever sees it also
         * sees a complete header. */
        atomic_store_explicit(&h->magic, SHBUF__MAGIC, memory_order_release);
}

void shbuf__control_mark_creating(struct shbuf__control *c, uint8_t backend_id, int32_t key,
                                  uint64_t data_size) {
        struct shbuf__header *h = &c->header;
        fill_header(h, backend_id, key, data_size);
        h->creator = (uint32_t) getpid();
        atomic_store_explicit(&h->magic, SHBUF__MAGIC_CREATING, memory_order_release);
}

/* The identification apart from the magic: layout, word size, backend,
 * sizes. */
static int check_header(const struct shbuf__header *h, uint8_t backend_id) {
        if (h->layout_version != SHBUF__LAYOUT_VERSION || h->word_size != sizeof(unsigned long) ||
            h->backend_id != backend_id || h->control_size != SHBUF__CONTROL_SIZE)
                return -EPROTO;
        /* The data block must be mappable and its positions representable. */
        if (h->data_size == 0 || h->data_size > (uint64_t) SIZE_MAX / 2 || h->data_size > SHBUF__SIZE_MAX)
                return -EPROTO;
        return 0;
}

int shbuf__control_validate(const struct shbuf__control *c, uint64_t mapped_size, uint8_t backend_id) {
        const struct shbuf__header *h = &c->header;
        if (mapped_size < SHBUF__CONTROL_SIZE)
                return -EPROTO;
        if (atomic_load_explicit(&h->magic, memory_order_acquire) != SHBUF__MAGIC)
                return -EPROTO;
        return check_header(h, backend_id);
}

int shbuf__control_classify(const struct shbuf__control *c, uint64_t mapped_size, uint8_t backend_id,
                            int32_t key, uint32_t *ret_creator, uint64_t *ret_data_size) {
        const struct shbuf__header *h = &c->header;
        if (mapped_size < SHBUF__CONTROL_SIZE)
                return -EPROTO;
        uint32_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
        if ((magic != SHBUF__MAGIC && magic != SHBUF__MAGIC_CREATING) || check_header(h, backend_id) < 0 ||
            h->key != key)
                return -EPROTO;
        /* Read once and checked again: the block is writable by others,
         * and the caller goes by what it is told here. */
        uint64_t data_size = *(const volatile uint64_t *) &h->data_size;
        if (data_size == 0 || data_size > (uint64_t) SIZE_MAX / 2 || data_size > SHBUF__SIZE_MAX)
                return -EPROTO;
        *ret_creator = *(const volatile uint32_t *) &h->creator;
        *ret_data_size = data_size;
        return magic == SHBUF__MAGIC ? SHBUF__CONTROL_BUFFER : SHBUF__CONTROL_CREATING;
}
