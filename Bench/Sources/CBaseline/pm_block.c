// PM block parse: the C mirror of PlainMode's PlainModeBlock.parse (PlainModeBlockParser fed
// the whole block in one read) with PlainModePolicy's checks. The Swift parse is @inlinable,
// so here the loop sits in the same translation unit as the parser.
#include "cbaseline.h"

#include <string.h>

static inline uint16_t load16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return __builtin_bswap16(v); }
static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return __builtin_bswap32(v); }
static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return __builtin_bswap64(v); }

enum { PM_KIND = 30, PM_EOL = 0, LONGEST_LEGAL_BLOCK = 22 + 22 + 1 };
enum { FORBID_NONE = 0, FORBID_MULTICAST = 1, FORBID_BROADCAST = 2, FORBID_LOOPBACK = 3, FORBID_UNSPECIFIED = 4 };

void cb_pm_default_policy(cb_pm_policy *policy) {
    memset(policy, 0, sizeof *policy);
    policy->subtype = 0xE;
    policy->enabled_protocols[0] = (1ull << 6) | (1ull << 17);  // TCP, UDP
    policy->requires_destination = true;
    policy->requires_source = false;
    policy->maximum_block_length = LONGEST_LEGAL_BLOCK;
}

// Length byte -> layout: 8/10 IPv4 (without/with port), 20/22 IPv6.
static inline bool layout_of_length(uint8_t length, bool *is_ipv4, bool *has_port) {
    switch (length) {
    case 8: *is_ipv4 = true; *has_port = false; return true;
    case 10: *is_ipv4 = true; *has_port = true; return true;
    case 20: *is_ipv4 = false; *has_port = false; return true;
    case 22: *is_ipv4 = false; *has_port = true; return true;
    default: return false;
    }
}

static inline int forbidden_ipv4(uint32_t a) {
    if (a == 0xffffffffu) return FORBID_BROADCAST;
    if (a >> 28 == 0xe) return FORBID_MULTICAST;
    if (a >> 24 == 127) return FORBID_LOOPBACK;
    if (a >> 24 == 0) return FORBID_UNSPECIFIED;
    return FORBID_NONE;
}

// IPAddress.forbiddenKind (draft 4.2): multicast, broadcast, loopback, unspecified.
static inline int forbidden_kind(const cb_address *a) {
    if (a->family == 4) return forbidden_ipv4((uint32_t)a->low);
    if (a->high == 0 && a->low >> 32 == 0xffff) return forbidden_ipv4((uint32_t)a->low);  // ::ffff:a.b.c.d
    if (a->high >> 56 == 0xff) return FORBID_MULTICAST;
    if (a->high == 0 && a->low == 1) return FORBID_LOOPBACK;
    if (a->high == 0 && a->low == 0) return FORBID_UNSPECIFIED;
    return FORBID_NONE;
}

static inline bool protocol_enabled(const cb_pm_policy *policy, uint8_t protocol) {
    return (policy->enabled_protocols[protocol >> 6] >> (protocol & 63)) & 1;
}

// UDP, TCP, SCTP, DCCP, UDP-Lite need a destination port (draft 4.1).
static inline bool protocol_uses_ports(uint8_t protocol) {
    switch (protocol) {
    case 6: case 17: case 33: case 132: case 136: return true;
    default: return false;
    }
}

// PlainModeOption.decode: `b` holds one whole option of a valid length.
static inline int decode_option(const uint8_t *b, uint8_t expected_subtype, bool is_ipv4, bool has_port,
                                cb_pm_option *option, int *detail) {
    int length = b[1];
    uint8_t subtype_and_flags = b[2];
    if (subtype_and_flags >> 4 != expected_subtype) { *detail = subtype_and_flags >> 4; return CB_PM_UNKNOWN_SUBTYPE; }
    option->present = true;
    option->is_source = (subtype_and_flags & 0x08) != 0;
    option->protocol_number = b[3];
    if (is_ipv4) {
        option->address = (cb_address){ .high = 0, .low = load32(b + 4), .family = 4 };
    } else {
        option->address = (cb_address){ .high = load64(b + 4), .low = load64(b + 12), .family = 6 };
    }
    option->has_port = has_port;
    option->port = has_port ? load16(b + length - 2) : 0;
    option->subtype = subtype_and_flags >> 4;
    option->flags = subtype_and_flags & 0x07;
    return CB_PM_OK;
}

// PlainModePolicy.check(option), then the duplicate checks of PlainModeBlockParser.accept.
static inline int accept_option(const cb_pm_policy *policy, cb_pm_block *block, const cb_pm_option *option, int *detail) {
    int forbidden = forbidden_kind(&option->address);
    if (forbidden != FORBID_NONE) { *detail = forbidden * 2 + option->is_source; return CB_PM_FORBIDDEN_ADDRESS; }
    if (!protocol_enabled(policy, option->protocol_number)) { *detail = option->protocol_number; return CB_PM_PROTOCOL_NOT_ENABLED; }
    if (option->is_source) {
        if (block->source.present) return CB_PM_DUPLICATE_SOURCE;
        block->source = *option;
    } else {
        if (block->destination.present) return CB_PM_DUPLICATE_DESTINATION;
        block->destination = *option;
    }
    return CB_PM_OK;
}

// PlainModePolicy.check(source:destination:), once the EOL is seen.
static inline int check_block(const cb_pm_policy *policy, const cb_pm_block *block, int *detail) {
    const cb_pm_option *s = &block->source, *d = &block->destination;
    if (policy->requires_destination && !d->present) return CB_PM_MISSING_DESTINATION;
    if (policy->requires_source && !s->present) return CB_PM_MISSING_SOURCE;
    if (d->present && protocol_uses_ports(d->protocol_number)) {
        if (!d->has_port) return CB_PM_MISSING_DESTINATION_PORT;
        if (d->port == 0) return CB_PM_ZERO_DESTINATION_PORT;
    }
    if (s->present && d->present) {
        if ((s->address.family == 4) != (d->address.family == 4)) return CB_PM_FAMILY_MISMATCH;
        if (s->protocol_number != d->protocol_number) {
            *detail = s->protocol_number << 8 | d->protocol_number;
            return CB_PM_PROTOCOL_MISMATCH;
        }
    }
    return CB_PM_OK;
}

static inline int pm_parse(const uint8_t *b, size_t count_, const cb_pm_policy *policy, cb_pm_block *block, int *detail) {
    const int64_t count = (int64_t)count_;
    const int64_t limit = policy->maximum_block_length;
    int64_t consumed = 0;  // charged against the cap: whole options as soon as their Length is read
    int64_t offset = 0;
    block->source.present = false;
    block->destination.present = false;
    while (offset < count) {
        uint8_t kind = b[offset];
        if (kind == PM_EOL) {
            consumed += 1;
            if (consumed > limit) { *detail = (int)limit; return CB_PM_BLOCK_TOO_LONG; }
            int error = check_block(policy, block, detail);
            if (error) return error;
            block->length = offset + 1;
            return CB_PM_OK;
        }
        if (kind != PM_KIND) { *detail = kind; return CB_PM_UNEXPECTED_KIND; }
        if (offset + 2 > count) return CB_PM_TRUNCATED;  // only the kind byte
        uint8_t length = b[offset + 1];
        bool is_ipv4, has_port;
        if (!layout_of_length(length, &is_ipv4, &has_port)) { *detail = length; return CB_PM_BAD_LENGTH; }
        consumed += length;
        if (consumed > limit) { *detail = (int)limit; return CB_PM_BLOCK_TOO_LONG; }
        if (offset + length > count) return CB_PM_TRUNCATED;  // the option is cut off
        cb_pm_option option;
        int error = decode_option(b + offset, policy->subtype, is_ipv4, has_port, &option, detail);
        if (error) return error;
        error = accept_option(policy, block, &option, detail);
        if (error) return error;
        offset += length;
    }
    return CB_PM_TRUNCATED;  // no EOL: the streaming parser would wait, one-shot parsing cannot
}

int cb_pm_parse(const uint8_t *bytes, size_t count, const cb_pm_policy *policy, cb_pm_block *out, int *error_detail) {
    return pm_parse(bytes, count, policy, out, error_detail);
}

long cb_run_pm_parse(const uint8_t *block_bytes, size_t count, long iterations) {
    cb_pm_policy policy;
    cb_pm_default_policy(&policy);
    long failures = 0;
    for (long i = 0; i < iterations; i++) {
        cb_pm_block block;
        int detail;
        if (pm_parse(block_bytes, count, &policy, &block, &detail) != CB_PM_OK) { failures++; continue; }
        bench_sink(&block, sizeof block);
    }
    return failures;
}
