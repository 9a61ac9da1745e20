// Plain C baseline for the plainmode wire micro-benchmarks (compiled with -O2).
// Each function mirrors the Swift code in ../../../../Sources it is compared with: same inputs,
// same validation, same outputs. The benchmark inputs themselves are defined once, here
// (inputs.c), and the Swift side reads them through cb_input_*().
#ifndef CBASELINE_H
#define CBASELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// Shared inputs (one definition for both languages).

/// The 60-byte IPv4+TCP SYN (20-byte IP header, 40-byte TCP header with MSS, SACK-permitted,
/// timestamps, NOP, window scale): 192.0.2.10:51000 -> 198.51.100.20:443, checksums valid.
const uint8_t *cb_input_syn(size_t *length);
/// PM block with two IPv6 options with ports (source 2001:db8:1::100 port 51000, destination
/// 2001:db8::1 port 443, TCP) and the EOL: 45 bytes.
const uint8_t *cb_input_pm_ipv6(size_t *length);
/// PM block with one IPv4 destination option (192.0.2.1 port 443, TCP) and the EOL: 11 bytes.
const uint8_t *cb_input_pm_ipv4(size_t *length);
/// Records in the UDP framing stream, and the payload size of each.
enum { CB_UDP_RECORDS = 32, CB_UDP_PAYLOAD = 100, CB_UDP_STREAM_BYTES = CB_UDP_RECORDS * (CB_UDP_PAYLOAD + 2) };
/// Read size of the split-stream case (a TCP MSS: records straddle reads).
enum { CB_UDP_READ_SIZE = 1448 };
/// Fills `out` (CB_UDP_STREAM_BYTES) with 32 records `len16 || payload`, payloads 100 bytes.
void cb_make_udp_stream(uint8_t *out);
/// NAT rewrite target of the rewrite cases: 203.0.113.5:40001 (and back to the original).
#define CB_NAT_ADDRESS 0xCB007105u
#define CB_NAT_PORT 40001

// ---------------------------------------------------------------------------------------------
// The sink both languages pass every per-operation result to. It lives in its own translation
// unit, so neither compiler can see that it does nothing: the whole result must be in memory.
void bench_sink(const void *value, size_t size);

// ---------------------------------------------------------------------------------------------
// Packet parse (mirror of WireFormat.ParsedPacket.parse, IPv4 path).

enum cb_packet_error {
    CB_PKT_OK = 0,
    CB_PKT_TRUNCATED = 1,
    CB_PKT_BAD_VERSION = 2,
    CB_PKT_BAD_HEADER_LENGTH = 3,
    CB_PKT_BAD_TOTAL_LENGTH = 4,
    /// An IPv6 packet: the baseline implements the IPv4 path only (the benchmark input is IPv4).
    CB_PKT_IPV6_NOT_IN_BASELINE = 99,
};
enum cb_layer { CB_LAYER_IPV4 = 0, CB_LAYER_IPV6 = 1, CB_LAYER_IPV6_EXT = 2, CB_LAYER_TCP = 3, CB_LAYER_UDP = 4 };
enum cb_transport_kind { CB_TRANSPORT_TCP = 0, CB_TRANSPORT_UDP = 1, CB_TRANSPORT_OTHER = 2 };

typedef struct {
    uint64_t high, low;  // host order, IPv4 in the low 32 bits
    uint8_t family;      // 4 or 6
} cb_address;

typedef struct {
    uint16_t source_port, destination_port;
    uint32_t sequence_number, acknowledgment_number;
    int64_t header_length;
    uint8_t flags;
    uint16_t window, checksum, urgent_pointer;
} cb_tcp_header;

typedef struct {
    uint16_t source_port, destination_port;
    int64_t total_length;
    uint16_t checksum;
} cb_udp_header;

typedef struct {
    cb_address source, destination;
    uint8_t protocol_number;
    int64_t transport_offset;
    int64_t packet_length;
    uint8_t transport_kind;  // cb_transport_kind
    union { cb_tcp_header tcp; cb_udp_header udp; } transport;
    bool is_fragment;
} cb_parsed_packet;

/// Returns CB_PKT_OK and fills `out`, or an error code (and its layer in `*error_layer`).
int cb_parse_packet(const uint8_t *bytes, size_t count, cb_parsed_packet *out, int *error_layer);

/// NAT rewrites with RFC 1624 eq. 3 updates of the IPv4 header checksum and the TCP/UDP
/// checksum (mirror of ParsedPacket.rewriteIPv4Address / rewritePort). `source` selects the end.
void cb_rewrite_ipv4_address(cb_parsed_packet *parsed, bool source, uint32_t address, uint8_t *packet);
void cb_rewrite_port(cb_parsed_packet *parsed, bool source, uint16_t port, uint8_t *packet);

/// Benchmark loops: each iteration does one operation and sinks its result; they return the
/// number of failed operations (0 on the benchmark inputs).
long cb_run_parse(const uint8_t *packet, size_t count, long iterations);
/// `work` is a writable copy of the packet; the loop copies `original` into it first, parses it
/// once, then per iteration rewrites source address and port (alternating NAT/original values).
long cb_run_rewrite(const uint8_t *original, uint8_t *work, size_t count, long iterations);
/// Per iteration: parse, then rewrite source address and port (a NAT's whole per-packet job).
long cb_run_parse_rewrite(const uint8_t *original, uint8_t *work, size_t count, long iterations);

// ---------------------------------------------------------------------------------------------
// PM block parse (mirror of PlainMode.PlainModeBlock.parse with a PlainModePolicy).

enum cb_pm_error {
    CB_PM_OK = 0,
    CB_PM_BAD_LENGTH = 1,
    CB_PM_UNKNOWN_SUBTYPE = 2,
    CB_PM_UNEXPECTED_KIND = 3,
    CB_PM_DUPLICATE_SOURCE = 4,
    CB_PM_DUPLICATE_DESTINATION = 5,
    CB_PM_FORBIDDEN_ADDRESS = 6,
    CB_PM_MISSING_DESTINATION = 7,
    CB_PM_MISSING_SOURCE = 8,
    CB_PM_MISSING_DESTINATION_PORT = 9,
    CB_PM_ZERO_DESTINATION_PORT = 10,
    CB_PM_PROTOCOL_NOT_ENABLED = 11,
    CB_PM_PROTOCOL_MISMATCH = 12,
    CB_PM_FAMILY_MISMATCH = 13,
    CB_PM_BLOCK_TOO_LONG = 14,
    CB_PM_TRUNCATED = 15,
};

typedef struct {
    uint8_t subtype;
    uint64_t enabled_protocols[4];  // 256-bit map
    bool requires_destination;
    bool requires_source;
    int64_t maximum_block_length;
} cb_pm_policy;

/// PlainModePolicy() defaults: subtype 0xE, TCP and UDP, destination required, 45-byte cap.
void cb_pm_default_policy(cb_pm_policy *policy);

typedef struct {
    bool present;
    uint8_t is_source;  // D bit
    uint8_t protocol_number;
    cb_address address;
    bool has_port;
    uint16_t port;
    uint8_t subtype;
    uint8_t flags;
} cb_pm_option;

typedef struct {
    cb_pm_option source, destination;
    int64_t length;  // bytes of the input the block used (options + EOL)
} cb_pm_block;

/// Parses a block that must be whole in `bytes`. Returns CB_PM_OK or an error; on an error
/// involving an address, `*error_detail` gets the forbidden kind (1 multicast, 2 broadcast,
/// 3 loopback, 4 unspecified) * 2 + D bit, or the offending byte for kind/length/subtype errors.
int cb_pm_parse(const uint8_t *bytes, size_t count, const cb_pm_policy *policy, cb_pm_block *out, int *error_detail);

long cb_run_pm_parse(const uint8_t *block, size_t count, long iterations);

// ---------------------------------------------------------------------------------------------
// UDP frame decoder (mirror of PlainMode.UDPFrameDecoder). It is in its own translation unit,
// as the Swift decoder is a non-inlinable function of another module: the deliver callback is
// an indirect call in both.

enum { CB_UDP_AWAITING_PREFIX = 0, CB_UDP_AWAITING_PREFIX_LOW = 1, CB_UDP_GATHERING = 2 };
enum { CB_UDP_LARGEST_IPV4_DATAGRAM = 65507 };

typedef struct {
    int64_t maximum_datagram_size;
    uint8_t *storage;
    int64_t storage_count;
    uint8_t prefix_high;
    uint8_t state;
    int64_t gather_length, gather_filled;
    bool failed;
    int64_t failed_length;
} cb_udp_decoder;

typedef void (*cb_udp_deliver)(void *context, const uint8_t *datagram, size_t length);

void cb_udp_decoder_init(cb_udp_decoder *decoder, int64_t maximum_datagram_size);
void cb_udp_decoder_destroy(cb_udp_decoder *decoder);
/// Returns 0, or -1 once a record exceeds the maximum (sticky, as in Swift).
int cb_udp_decode(cb_udp_decoder *decoder, const uint8_t *bytes, size_t count, cb_udp_deliver deliver, void *context);

/// Per iteration: decode the whole stream, fed in reads of `read_size` bytes, summing datagram
/// lengths in the callback; sinks the sum.
long cb_run_udp_decode(const uint8_t *stream, size_t count, size_t read_size, long iterations);

#ifdef __cplusplus
}
#endif
#endif
