// IPv4+TCP/UDP parse and NAT rewrites with RFC 1624 incremental checksum updates: the C mirror
// of WireFormat's ParsedPacket.parse (IPv4 path), rewriteIPv4Address and rewritePort. The Swift
// functions are @inlinable, so here the loops sit in the same translation unit as the code.
#include "cbaseline.h"

#include <stdlib.h>
#include <string.h>

static inline uint16_t load16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return __builtin_bswap16(v); }
static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return __builtin_bswap32(v); }
static inline void store16(uint8_t *p, uint16_t v) { v = __builtin_bswap16(v); memcpy(p, &v, 2); }
static inline void store32(uint8_t *p, uint32_t v) { v = __builtin_bswap32(v); memcpy(p, &v, 4); }

// --- parse -------------------------------------------------------------------------------------

typedef struct {
    int64_t header_length;
    uint8_t type_of_service;
    int64_t total_length;
    uint16_t identification;
    uint16_t flags_and_fragment_offset;
    uint8_t time_to_live;
    uint8_t protocol_number;
    uint16_t header_checksum;
    uint32_t source, destination;
} ipv4_header;

static inline int parse_ipv4(const uint8_t *b, size_t count, ipv4_header *h, int *layer) {
    if (count < 20) { *layer = CB_LAYER_IPV4; return CB_PKT_TRUNCATED; }
    uint8_t version_and_length = b[0];
    if (version_and_length >> 4 != 4) { *layer = -1; return CB_PKT_BAD_VERSION; }
    int64_t header_length = (int64_t)(version_and_length & 0x0f) * 4;
    if (header_length < 20) { *layer = CB_LAYER_IPV4; return CB_PKT_BAD_HEADER_LENGTH; }
    int64_t total_length = load16(b + 2);
    // GSO/GRO-merged packets may carry 0 here: the buffer is authoritative then.
    int64_t effective = total_length == 0 ? (int64_t)count : total_length;
    if (effective < header_length || effective > (int64_t)count) { *layer = CB_LAYER_IPV4; return CB_PKT_BAD_TOTAL_LENGTH; }
    h->header_length = header_length;
    h->type_of_service = b[1];
    h->total_length = effective;
    h->identification = load16(b + 4);
    h->flags_and_fragment_offset = load16(b + 6);
    h->time_to_live = b[8];
    h->protocol_number = b[9];
    h->header_checksum = load16(b + 10);
    h->source = load32(b + 12);
    h->destination = load32(b + 16);
    return CB_PKT_OK;
}

static inline int parse_tcp(const uint8_t *b, size_t count, cb_tcp_header *t, int *layer) {
    if (count < 20) { *layer = CB_LAYER_TCP; return CB_PKT_TRUNCATED; }
    int64_t header_length = (int64_t)(b[12] >> 4) * 4;
    if (header_length < 20) { *layer = CB_LAYER_TCP; return CB_PKT_BAD_HEADER_LENGTH; }
    if (header_length > (int64_t)count) { *layer = CB_LAYER_TCP; return CB_PKT_TRUNCATED; }
    t->source_port = load16(b);
    t->destination_port = load16(b + 2);
    t->sequence_number = load32(b + 4);
    t->acknowledgment_number = load32(b + 8);
    t->header_length = header_length;
    t->flags = b[13];
    t->window = load16(b + 14);
    t->checksum = load16(b + 16);
    t->urgent_pointer = load16(b + 18);
    return CB_PKT_OK;
}

static inline int parse_udp(const uint8_t *b, size_t count, cb_udp_header *u, int *layer) {
    if (count < 8) { *layer = CB_LAYER_UDP; return CB_PKT_TRUNCATED; }
    int64_t total_length = load16(b + 4);
    if (total_length == 0) total_length = (int64_t)count;
    if (total_length < 8 || total_length > (int64_t)count) { *layer = CB_LAYER_UDP; return CB_PKT_BAD_TOTAL_LENGTH; }
    u->source_port = load16(b);
    u->destination_port = load16(b + 2);
    u->total_length = total_length;
    u->checksum = load16(b + 6);
    return CB_PKT_OK;
}

static inline int parse_packet(const uint8_t *b, size_t count, cb_parsed_packet *out, int *layer) {
    if (count == 0) { *layer = CB_LAYER_IPV4; return CB_PKT_TRUNCATED; }
    uint8_t first = b[0];
    bool has_transport_header;
    switch (first >> 4) {
    case 4: {
        ipv4_header ip;
        int error = parse_ipv4(b, count, &ip, layer);
        if (error) return error;
        out->source = (cb_address){ .high = 0, .low = ip.source, .family = 4 };
        out->destination = (cb_address){ .high = 0, .low = ip.destination, .family = 4 };
        out->protocol_number = ip.protocol_number;
        out->transport_offset = ip.header_length;
        out->packet_length = ip.total_length;
        out->is_fragment = (ip.flags_and_fragment_offset & 0x3fff) != 0;
        has_transport_header = (ip.flags_and_fragment_offset & 0x1fff) == 0;
        break;
    }
    case 6:
        *layer = CB_LAYER_IPV6;
        return CB_PKT_IPV6_NOT_IN_BASELINE;
    default:
        *layer = -1;
        return CB_PKT_BAD_VERSION;
    }
    const uint8_t *segment = b + out->transport_offset;
    size_t segment_count = (size_t)(out->packet_length - out->transport_offset);
    if (out->protocol_number == 6 && has_transport_header) {
        out->transport_kind = CB_TRANSPORT_TCP;
        return parse_tcp(segment, segment_count, &out->transport.tcp, layer);
    } else if (out->protocol_number == 17 && has_transport_header) {
        out->transport_kind = CB_TRANSPORT_UDP;
        return parse_udp(segment, segment_count, &out->transport.udp, layer);
    }
    out->transport_kind = CB_TRANSPORT_OTHER;
    return CB_PKT_OK;
}

int cb_parse_packet(const uint8_t *bytes, size_t count, cb_parsed_packet *out, int *error_layer) {
    return parse_packet(bytes, count, out, error_layer);
}

// --- RFC 1624 equation 3: HC' = ~(~HC + ~m + m') ------------------------------------------------

static inline uint16_t oc_add(uint16_t a, uint16_t b) {
    uint32_t s = (uint32_t)a + b;
    return (uint16_t)((s & 0xffff) + (s >> 16));
}
static inline uint16_t oc_sum32(uint32_t v) { return oc_add((uint16_t)(v >> 16), (uint16_t)v); }

static inline uint16_t adjusted16(uint16_t checksum, uint16_t old, uint16_t new_) {
    return (uint16_t)~oc_add(oc_add((uint16_t)~checksum, (uint16_t)~old), new_);
}
static inline uint16_t adjusted32(uint16_t checksum, uint32_t old, uint32_t new_) {
    return (uint16_t)~oc_add(oc_add((uint16_t)~checksum, (uint16_t)~oc_sum32(old)), oc_sum32(new_));
}
// UDP over IPv4: 0 means "no checksum" and stays; a computed 0 is sent as 0xFFFF.
static inline uint16_t adjusted16_udp(uint16_t checksum, uint16_t old, uint16_t new_) {
    if (checksum == 0) return 0;
    uint16_t c = adjusted16(checksum, old, new_);
    return c == 0 ? 0xffff : c;
}
static inline uint16_t adjusted32_udp(uint16_t checksum, uint32_t old, uint32_t new_) {
    if (checksum == 0) return 0;
    uint16_t c = adjusted32(checksum, old, new_);
    return c == 0 ? 0xffff : c;
}

// --- rewrites ----------------------------------------------------------------------------------

static inline void rewrite_ipv4_address(cb_parsed_packet *p, bool source, uint32_t new_, uint8_t *packet) {
    cb_address current = source ? p->source : p->destination;
    if (current.family != 4) abort();  // "IPv4 rewrite of a non-IPv4 packet"
    uint32_t old = (uint32_t)current.low;
    store32(packet + (source ? 12 : 16), new_);
    store16(packet + 10, adjusted32(load16(packet + 10), old, new_));
    switch (p->transport_kind) {
    case CB_TRANSPORT_TCP: {
        uint8_t *field = packet + p->transport_offset + 16;
        p->transport.tcp.checksum = adjusted32(load16(field), old, new_);
        store16(field, p->transport.tcp.checksum);
        break;
    }
    case CB_TRANSPORT_UDP: {
        uint8_t *field = packet + p->transport_offset + 6;
        p->transport.udp.checksum = adjusted32_udp(load16(field), old, new_);
        store16(field, p->transport.udp.checksum);
        break;
    }
    default:
        break;
    }
    cb_address updated = { .high = 0, .low = new_, .family = 4 };
    if (source) p->source = updated; else p->destination = updated;
}

static inline void rewrite_port(cb_parsed_packet *p, bool source, uint16_t new_, uint8_t *packet) {
    int64_t field_offset = p->transport_offset + (source ? 0 : 2);
    uint16_t old;
    switch (p->transport_kind) {
    case CB_TRANSPORT_TCP:
        old = source ? p->transport.tcp.source_port : p->transport.tcp.destination_port;
        if (source) p->transport.tcp.source_port = new_; else p->transport.tcp.destination_port = new_;
        break;
    case CB_TRANSPORT_UDP:
        old = source ? p->transport.udp.source_port : p->transport.udp.destination_port;
        if (source) p->transport.udp.source_port = new_; else p->transport.udp.destination_port = new_;
        break;
    default:
        abort();  // "port rewrite of a packet without TCP or UDP header"
    }
    store16(packet + field_offset, new_);
    switch (p->transport_kind) {
    case CB_TRANSPORT_TCP: {
        uint8_t *field = packet + p->transport_offset + 16;
        p->transport.tcp.checksum = adjusted16(load16(field), old, new_);
        store16(field, p->transport.tcp.checksum);
        break;
    }
    case CB_TRANSPORT_UDP: {
        uint8_t *field = packet + p->transport_offset + 6;
        p->transport.udp.checksum = adjusted16_udp(load16(field), old, new_);
        store16(field, p->transport.udp.checksum);
        break;
    }
    default:
        break;
    }
}

void cb_rewrite_ipv4_address(cb_parsed_packet *parsed, bool source, uint32_t address, uint8_t *packet) {
    rewrite_ipv4_address(parsed, source, address, packet);
}

void cb_rewrite_port(cb_parsed_packet *parsed, bool source, uint16_t port, uint8_t *packet) {
    rewrite_port(parsed, source, port, packet);
}

// --- benchmark loops ---------------------------------------------------------------------------

long cb_run_parse(const uint8_t *packet, size_t count, long iterations) {
    long failures = 0;
    for (long i = 0; i < iterations; i++) {
        cb_parsed_packet parsed;
        int layer;
        if (parse_packet(packet, count, &parsed, &layer) != CB_PKT_OK) { failures++; continue; }
        bench_sink(&parsed, sizeof parsed);
    }
    return failures;
}

long cb_run_rewrite(const uint8_t *original, uint8_t *work, size_t count, long iterations) {
    memcpy(work, original, count);
    cb_parsed_packet parsed;
    int layer;
    if (parse_packet(work, count, &parsed, &layer) != CB_PKT_OK || parsed.transport_kind != CB_TRANSPORT_TCP) return iterations;
    uint32_t original_address = (uint32_t)parsed.source.low;
    uint16_t original_port = parsed.transport.tcp.source_port;
    for (long i = 0; i < iterations; i++) {
        bool to_nat = (i & 1) == 0;
        rewrite_ipv4_address(&parsed, true, to_nat ? CB_NAT_ADDRESS : original_address, work);
        rewrite_port(&parsed, true, to_nat ? CB_NAT_PORT : original_port, work);
        bench_sink(&parsed, sizeof parsed);
    }
    return 0;
}

long cb_run_parse_rewrite(const uint8_t *original, uint8_t *work, size_t count, long iterations) {
    memcpy(work, original, count);
    cb_parsed_packet first;
    int layer;
    if (parse_packet(work, count, &first, &layer) != CB_PKT_OK || first.transport_kind != CB_TRANSPORT_TCP) return iterations;
    uint32_t original_address = (uint32_t)first.source.low;
    uint16_t original_port = first.transport.tcp.source_port;
    long failures = 0;
    for (long i = 0; i < iterations; i++) {
        cb_parsed_packet parsed;
        if (parse_packet(work, count, &parsed, &layer) != CB_PKT_OK) { failures++; continue; }
        bool to_nat = (i & 1) == 0;
        rewrite_ipv4_address(&parsed, true, to_nat ? CB_NAT_ADDRESS : original_address, work);
        rewrite_port(&parsed, true, to_nat ? CB_NAT_PORT : original_port, work);
        bench_sink(&parsed, sizeof parsed);
    }
    return failures;
}
