// The C mirror of PlainMode's UDPFrameDecoder: `len16 || datagram` records, read in arbitrary
// pieces. Records wholly inside a read are delivered in place; a split record is gathered in a
// buffer that grows by powers of two (from 512, capped at the maximum) and is reused.
// Alone in its translation unit: the Swift decoder is a non-inlinable function of another module.
#include "cbaseline.h"

#include <stdlib.h>
#include <string.h>

void cb_udp_decoder_init(cb_udp_decoder *d, int64_t maximum_datagram_size) {
    memset(d, 0, sizeof *d);
    d->maximum_datagram_size = maximum_datagram_size;
    d->state = CB_UDP_AWAITING_PREFIX;
}

void cb_udp_decoder_destroy(cb_udp_decoder *d) {
    free(d->storage);
    d->storage = NULL;
    d->storage_count = 0;
}

static int check_length(cb_udp_decoder *d, int64_t length) {
    if (length > d->maximum_datagram_size) {
        d->failed = true;
        d->failed_length = length;
        return -1;
    }
    return 0;
}

// Copies the available start of a split record; returns the bytes taken.
static int64_t start_gathering(cb_udp_decoder *d, int64_t length, const uint8_t *available, int64_t available_count) {
    if (d->storage_count < length) {
        int64_t capacity = d->storage_count > 512 ? d->storage_count : 512;
        while (capacity < length) capacity *= 2;
        int64_t cap = d->maximum_datagram_size > 1 ? d->maximum_datagram_size : 1;
        if (capacity > cap) capacity = cap;
        free(d->storage);
        d->storage = malloc((size_t)capacity);
        if (d->storage == NULL) abort();
        d->storage_count = capacity;
    }
    if (available_count > 0) memcpy(d->storage, available, (size_t)available_count);
    d->state = CB_UDP_GATHERING;
    d->gather_length = length;
    d->gather_filled = available_count;
    return available_count;
}

int cb_udp_decode(cb_udp_decoder *d, const uint8_t *b, size_t count_, cb_udp_deliver deliver, void *context) {
    if (d->failed) return -1;
    const int64_t count = (int64_t)count_;
    int64_t offset = 0;
    while (offset < count) {
        switch (d->state) {
        case CB_UDP_AWAITING_PREFIX: {
            if (offset + 2 > count) {
                d->prefix_high = b[offset];
                d->state = CB_UDP_AWAITING_PREFIX_LOW;
                return 0;
            }
            int64_t length = (int64_t)b[offset] << 8 | b[offset + 1];
            if (check_length(d, length)) return -1;
            offset += 2;
            if (offset + length <= count) {
                deliver(context, b + offset, (size_t)length);  // fast path: whole record in this read
                offset += length;
            } else {
                offset += start_gathering(d, length, b + offset, count - offset);
            }
            break;
        }
        case CB_UDP_AWAITING_PREFIX_LOW: {
            int64_t length = (int64_t)d->prefix_high << 8 | b[offset];
            if (check_length(d, length)) return -1;
            offset += 1;
            d->state = CB_UDP_AWAITING_PREFIX;
            if (offset + length <= count) {
                deliver(context, b + offset, (size_t)length);
                offset += length;
            } else {
                offset += start_gathering(d, length, b + offset, count - offset);
            }
            break;
        }
        default: {  // CB_UDP_GATHERING
            int64_t length = d->gather_length, filled = d->gather_filled;
            int64_t take = length - filled < count - offset ? length - filled : count - offset;
            memcpy(d->storage + filled, b + offset, (size_t)take);
            offset += take;
            if (filled + take == length) {
                d->state = CB_UDP_AWAITING_PREFIX;
                deliver(context, d->storage, (size_t)length);
            } else {
                d->gather_filled = filled + take;
            }
            break;
        }
        }
    }
    return 0;
}
