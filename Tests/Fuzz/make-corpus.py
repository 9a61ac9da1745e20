#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets into Tests/Fuzz/corpus/<target>/.

Seeds are small, hand-built inputs (valid and slightly broken) that reach each decoder's main
paths; libFuzzer mutates from there. Re-running this script rewrites the same files, byte for
byte. Input layouts (see the fuzz target sources):
  packet       an IPv4/IPv6 packet as NFQUEUE hands it over (also tried as address text)
  pm-block     1 policy byte (0x00 = default policy), then the start of the MPTCP stream
  udp-framing  1 byte choosing the maximum datagram size (0x00 = 65507), then the framed stream
  pcp          one PCP message (tried as a request and as a response)
  cpe-pcp      datagrams to the CPE's PCP side in order (LAN requests, the concentrator's answers),
               each len16 || context || message
  pcp-server   requests to one PCP server in order, each len16 || context || message; the context
               byte's low 2 bits pick the source (0 link A, 1 link B of one subscriber, 2 another
               subscriber, 3 an IPv6 CPE), its high 6 bits the seconds (x16) passing before it
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def hexbytes(text):
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def v4(text):
    return bytes(int(x) for x in text.split("."))


def v6(text):
    head, _, tail = text.partition("::")
    h = [int(g, 16) for g in head.split(":") if g]
    t = [int(g, 16) for g in tail.split(":") if g]
    groups = h + [0] * (8 - len(h) - len(t)) + t if "::" in text else h
    return struct.pack("!8H", *groups)


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def tcp(src, dst, sport, dport, flags, options=b"", payload=b"", seq=0x1000, ack=0):
    options += b"\x00" * (-len(options) % 4)
    hlen = 20 + len(options)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hlen // 4) << 4, flags, 64240, 0, 0) + options
    seg = hdr + payload
    c = csum(pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload, zero_checksum=False):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = 0 if zero_checksum else (csum(pseudo(src, dst, 17, len(seg)) + seg) or 0xFFFF)
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def ipv4(src, dst, proto, payload, options=b"", flags_frag=0x4000, total=None, ident=0x1234):
    ihl = 5 + len(options) // 4
    length = 20 + len(options) + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, ident, flags_frag, 64, proto, 0, src, dst) + options
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def ipv6(src, dst, next_header, payload, payload_length=None):
    length = len(payload) if payload_length is None else payload_length
    return struct.pack("!IHBB", 0x6000_0000, length, next_header, 64) + src + dst + payload


def ext(next_header, body):
    """A hop-by-hop/routing/destination-options header padded to a multiple of 8."""
    body += b"\x00" * (-(len(body) + 2) % 8)
    return bytes([next_header, (len(body) + 2) // 8 - 1]) + body


def frag(next_header, offset, more, ident=0xABCD):
    return struct.pack("!BBHI", next_header, 0, (offset // 8) << 3 | (1 if more else 0), ident)


# The PM examples of FACTS.md section 1.
PM_V4_DST_443 = hexbytes("1E 0A E0 06 C0 00 02 01 01 BB")
PM_V4_SRC = hexbytes("1E 08 E8 06 C6 33 64 07")
PM_V6_DST_53 = hexbytes("1E 16 E0 11 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01 00 35")
PM_UDP_SYN = PM_V6_DST_53 + hexbytes("00 00 05") + b"hello"
assert len(PM_UDP_SYN) == 30
PM_V6_SRC = hexbytes("1E 16 E8 11") + v6("2001:db8:1::7") + struct.pack("!H", 40000)
PM_V6_SRC_TCP = hexbytes("1E 14 E8 06") + v6("2001:db8:1::7")
PM_V6_DST_TCP = hexbytes("1E 16 E0 06") + v6("2001:db8::80") + struct.pack("!H", 443)

MP_CAPABLE_SYN = hexbytes("1E 04 01 81")  # RFC 8684 v1 MP_CAPABLE on a SYN: no key
MP_CAPABLE_KEY = hexbytes("1E 0C 01 81 01 02 03 04 05 06 07 08")  # v0-style, with a key
MP_JOIN_SYN = hexbytes("1E 0C 10 01 11 22 33 44 55 66 77 88")
SYN_OPTS = hexbytes("02 04 05 B4 04 02 08 0A 00 00 00 01 00 00 00 00 01 03 03 07")


def packet_seeds():
    c4, s4 = v4("198.51.100.7"), v4("203.0.113.1")
    c6, s6 = v6("2001:db8:1::7"), v6("2001:db8::1")
    seeds = {}
    pm_tcp = PM_V4_DST_443 + b"\x00" + b"GET / HTTP/1.1\r\n\r\n"
    seeds["ipv4-tcp-syn-mpcapable-pm"] = ipv4(c4, s4, 6, tcp(c4, s4, 40000, 8443, 0x02, SYN_OPTS + MP_CAPABLE_SYN, pm_tcp))
    seeds["ipv4-tcp-syn-mpcapable-key"] = ipv4(c4, s4, 6, tcp(c4, s4, 40001, 8443, 0x02, MP_CAPABLE_KEY + b"\x01\x01", b""))
    seeds["ipv4-tcp-syn-mpjoin"] = ipv4(c4, s4, 6, tcp(c4, s4, 40002, 8443, 0x02, MP_JOIN_SYN))
    seeds["ipv4-tcp-synack"] = ipv4(s4, c4, 6, tcp(s4, c4, 8443, 40000, 0x12, hexbytes("02 04 05 B4 01 01 04 02"), ack=0x1001))
    seeds["ipv4-tcp-options-ip"] = ipv4(c4, s4, 6, tcp(c4, s4, 40003, 8443, 0x10, b"", b"data"), options=hexbytes("94 04 00 00"))
    seeds["ipv4-tcp-gso-total0"] = ipv4(c4, s4, 6, tcp(c4, s4, 40004, 8443, 0x18, b"", b"x" * 40), total=0)
    seeds["ipv4-tcp-bad-option"] = ipv4(c4, s4, 6, tcp(c4, s4, 40005, 8443, 0x02, hexbytes("02 09 05 B4 1E 01 00 00")))
    pm_udp = PM_V4_DST_443[:3] + b"\x11" + PM_V4_DST_443[4:] + hexbytes("00 00 05") + b"hello"
    seeds["ipv4-tcp-syn-pm-udp"] = ipv4(c4, s4, 6, tcp(c4, s4, 40006, 8443, 0x02, MP_CAPABLE_SYN, pm_udp))
    seeds["ipv4-udp"] = ipv4(c4, s4, 17, udp(c4, s4, 5353, 53, b"\x12\x34\x01\x00\x00\x01" + b"\x00" * 6))
    seeds["ipv4-udp-zero-checksum"] = ipv4(c4, s4, 17, udp(c4, s4, 5000, 5001, b"hello", zero_checksum=True))
    seeds["ipv4-udp-padded"] = ipv4(c4, s4, 17, udp(c4, s4, 5000, 5001, b"odd")) + b"\x00" * 6
    seeds["ipv4-icmp"] = ipv4(c4, s4, 1, hexbytes("08 00 F7 FF 00 00 00 00"))
    first = tcp(c4, s4, 40007, 8443, 0x18, b"", b"A" * 32)
    seeds["ipv4-frag-first"] = ipv4(c4, s4, 6, first[:24], flags_frag=0x2000)
    seeds["ipv4-frag-middle"] = ipv4(c4, s4, 6, first[24:], flags_frag=0x2000 | 3)
    seeds["ipv4-frag-last-udp"] = ipv4(c4, s4, 17, b"B" * 12, flags_frag=2)

    pm6 = PM_V6_SRC_TCP + PM_V6_DST_TCP + b"\x00" + b"payload"
    seeds["ipv6-tcp-syn-mpcapable-pm"] = ipv6(c6, s6, 6, tcp(c6, s6, 40000, 8443, 0x02, SYN_OPTS + MP_CAPABLE_SYN, pm6))
    seeds["ipv6-tcp-syn-pm-udp"] = ipv6(c6, s6, 6, tcp(c6, s6, 40001, 8443, 0x02, MP_CAPABLE_SYN, PM_UDP_SYN))
    seeds["ipv6-udp"] = ipv6(c6, s6, 17, udp(c6, s6, 40000, 53, b"query"))
    seeds["ipv6-udp-jumbo-len0"] = ipv6(c6, s6, 17, udp(c6, s6, 40000, 53, b"x" * 9), payload_length=0)
    body = udp(c6, s6, 40000, 4500, b"fragmented datagram payload!")
    seeds["ipv6-hbh-frag-first-udp"] = ipv6(c6, s6, 0, ext(44, hexbytes("05 02 00 00")) + frag(17, 0, True) + body[:24])
    seeds["ipv6-hbh-frag-next"] = ipv6(c6, s6, 0, ext(44, hexbytes("05 02 00 00")) + frag(17, 24, False) + body[24:])
    seeds["ipv6-frag-atomic-tcp"] = ipv6(c6, s6, 44, frag(6, 0, False) + tcp(c6, s6, 40002, 443, 0x02, MP_CAPABLE_SYN))
    routing = ext(60, hexbytes("00 00 00 00 00 00") + v6("2001:db8::99"))
    seeds["ipv6-routing-dstopts-tcp"] = ipv6(c6, s6, 43, routing + ext(6, hexbytes("01 04 00 00 00 00")) + tcp(c6, s6, 40003, 443, 0x10, b"", b"hi"))
    ah = struct.pack("!BBHII", 17, 4, 0, 0x100, 1) + b"\x00" * 12
    seeds["ipv6-ah-udp"] = ipv6(c6, s6, 51, ah + udp(c6, s6, 1, 2, b"ah"))
    seeds["ipv6-esp"] = ipv6(c6, s6, 50, struct.pack("!II", 0x100, 1) + b"\x00" * 16)
    seeds["ipv6-no-next-header"] = ipv6(c6, s6, 59, b"")
    seeds["ipv6-icmpv6"] = ipv6(c6, s6, 58, hexbytes("80 00 00 00 00 01 00 01"))
    mapped = v6("::ffff:c000:201")
    seeds["ipv6-mapped-udp"] = ipv6(mapped, s6, 17, udp(mapped, s6, 1, 2, b""))
    for name, text in [("v4", "192.0.2.1"), ("v6", "2001:db8::1"), ("v6-mapped", "::ffff:192.0.2.1"),
                       ("v6-full", "2001:0db8:0000:0000:0001:0000:0000:0001"), ("v6-any", "::"),
                       ("v6-trailing", "fe80::"), ("v6-upper", "FE80::A:B:C:D")]:
        seeds["text-" + name] = text.encode()
    return seeds


def pm_seeds():
    default, req_src, no_dst, all_protocols = b"\x00", b"\x04", b"\x08", b"\x10"
    eol = b"\x00"
    s = {}
    s["v4-dst-443"] = default + PM_V4_DST_443 + eol + b"GET /"
    s["v4-src"] = no_dst + PM_V4_SRC + eol
    s["v4-src-dst"] = req_src + PM_V4_SRC + PM_V4_DST_443 + eol + b"data"
    s["v4-dst-src"] = req_src + PM_V4_DST_443 + PM_V4_SRC + eol
    s["v6-dst-53"] = default + PM_V6_DST_53 + eol
    s["v6-udp-syn-payload"] = default + PM_UDP_SYN
    s["v6-src-dst-udp"] = req_src + PM_V6_SRC + PM_V6_DST_53 + eol + hexbytes("00 02 68 69")
    s["v6-src-dst-tcp"] = default + PM_V6_SRC_TCP + PM_V6_DST_TCP + eol
    s["eol-only"] = no_dst + eol + b"rest"
    s["missing-destination"] = default + PM_V4_SRC + eol
    s["missing-port"] = default + PM_V4_SRC[:2] + b"\xE0" + PM_V4_SRC[3:] + eol
    s["duplicate-destination"] = default + PM_V4_DST_443 + PM_V4_DST_443 + eol
    s["family-mismatch"] = default + PM_V4_SRC + PM_V6_DST_53[:3] + b"\x06" + PM_V6_DST_53[4:] + eol
    s["loopback-destination"] = default + hexbytes("1E 0A E0 06 7F 00 00 01 00 50") + eol
    s["bad-length"] = default + hexbytes("1E 09 E0 06 C0 00 02 01 01") + eol
    s["wrong-subtype"] = default + hexbytes("1E 0A 00 06 C0 00 02 01 01 BB") + eol
    s["subtype-0-policy"] = b"\x02" + hexbytes("1E 0A 08 06 C0 00 02 01 01 BB") + hexbytes("1E 0A 00 06 C0 00 02 02 01 BB") + eol
    s["sctp-all-protocols"] = all_protocols + hexbytes("1E 0A E0 84 C0 00 02 01 0B 59") + eol
    s["cap-16"] = b"\xA4" + PM_V4_SRC + hexbytes("1E 08 E0 06 C0 00 02 01") + eol
    s["cap-8"] = b"\x88" + PM_V4_SRC + eol
    s["cap-64-flags"] = b"\xE0" + hexbytes("1E 0A E7 11 C0 00 02 01 00 35") + eol
    s["truncated"] = default + PM_V6_DST_53[:13]
    s["not-an-option"] = default + b"\x16\x03\x01\x02\x00"
    # Fuzzer finding, fixed in 4724084: options filling the cap (8) exactly, then 30 with a bad
    # Length; a read boundary after the 30 used to turn badLength into blockTooLong.
    s["regress-cap-error-kind"] = b"\x80" + PM_V4_SRC + hexbytes("1E 09")
    return s


def frame(payload):
    return struct.pack("!H", len(payload)) + payload


def udp_framing_seeds():
    s = {}
    s["three-records"] = b"\x00" + frame(b"hello") + frame(b"") + frame(b"abc")
    s["partial-tail"] = b"\x00" + frame(b"first") + frame(b"second record")[:7]
    s["odd-prefix-tail"] = b"\x00" + frame(b"x") + b"\x01"
    s["pm-payload-tail"] = b"\x00" + hexbytes("00 05") + b"hello"
    s["mtu-1500"] = b"\x0D" + frame(bytes(range(256)) * 5 + b"\xAA" * 120) + frame(b"tail")
    s["too-large-for-512"] = b"\x0A" + frame(b"ok") + frame(b"\x55" * 600)
    s["max-1-error"] = b"\x03" + frame(b"a") + frame(b"ab") + frame(b"c")
    s["max-0-empties"] = b"\x02" + frame(b"") * 4
    s["max-65535-prefix"] = b"\x01" + b"\xFF\xFF" + b"\x00" * 32
    s["default-over-limit"] = b"\x00" + b"\xFF\xE4" + b"\x00" * 8
    s["many-small"] = b"\x07" + b"".join(frame(bytes([i]) * (i % 7)) for i in range(40))
    return s


# RFC 7753 section 5.1 (FACTS.md section 5).
PCP_REQUEST = hexbytes("""
02 01 00 00 00 00 1C 20 00 00 00 00 00 00 00 00 00 00 FF FF C0 00 02 64
01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 00 00 00 00 00 00
00 00 00 00 00 00 FF FF 00 00 00 00 82 00 00 05 00 64 C3 50 00 00 00 00""")
PCP_RESPONSE = hexbytes("""
02 81 00 00 00 00 1C 20 00 00 0E 10 00 00 00 00 00 00 00 00 00 00 00 00
01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 90 C0 00 00 00 00
00 00 00 00 00 00 FF FF C0 00 02 03 82 00 00 05 00 20 C3 50 00 00 00 00""")


def pcp_seeds():
    s = {}
    req, resp = PCP_REQUEST, PCP_RESPONSE
    assert len(req) == 72 and len(resp) == 72
    s["rfc7753-request"] = req
    s["rfc7753-response"] = resp
    map_only = req[:60]
    s["map-request-no-options"] = map_only
    third_party = hexbytes("01 00 00 10") + v6("::ffff:c000:265")
    prefer_failure = hexbytes("02 00 00 00")
    filt = hexbytes("03 00 00 14 00 60 01 BB") + v6("::ffff:c633:6407")
    s["map-request-third-party-filter"] = map_only + third_party + filt
    s["map-request-prefer-failure"] = map_only[:42] + hexbytes("C3 50") + map_only[44:] + prefer_failure
    s["map-request-two-port-sets"] = req + req[60:]
    s["map-request-port-set-prefer-failure"] = req + prefer_failure
    s["map-request-unknown-optional"] = map_only + hexbytes("FE 00 00 03 AA BB CC 00")
    s["map-request-unknown-mandatory"] = map_only + hexbytes("7F 00 00 00")
    s["map-request-bad-option-length"] = map_only + hexbytes("82 00 00 04 00 64 C3 50")
    s["map-request-option-overrun"] = map_only + hexbytes("01 00 00 40") + b"\x00" * 4
    announce = req[:1] + b"\x00" + req[2:24]
    s["announce-request"] = announce
    s["announce-response"] = resp[:1] + b"\x80" + resp[2:24]
    s["peer-request"] = req[:1] + b"\x02" + req[2:]
    s["version-1"] = b"\x01" + req[1:]
    s["response-error"] = resp[:3] + b"\x08" + resp[4:60]
    s["truncated-header"] = req[:20]
    s["not-multiple-of-4"] = req + b"\x00\x00"
    filler = 1100 - len(req) - 4
    s["max-size"] = req + struct.pack("!BBH", 0xFE, 0, filler) + b"\x00" * filler
    assert len(s["max-size"]) == 1100
    return s


def pcp_server_seeds():
    """Request sequences from the RFC 7753 s5.1 request, re-addressed to the fuzz target's sources."""
    def mapped4(text):
        return b"\x00" * 10 + b"\xff\xff" + bytes(int(part) for part in text.split("."))

    def record(message, source=0, wait=0):
        return struct.pack("!HB", len(message), wait << 2 | source) + message

    def request(client="198.51.100.2", lifetime=7200, protocol=17, internal=50000, size=100, options=b"", nonce=None):
        body = PCP_REQUEST[:4] + struct.pack("!I", lifetime) + mapped4(client)
        body += (nonce or PCP_REQUEST[24:36]) + bytes([protocol]) + b"\x00" * 3 + struct.pack("!HH", internal, 0)
        body += mapped4("0.0.0.0")
        if size:
            body += hexbytes("82 00 00 05") + struct.pack("!HHB", size, internal, 0) + b"\x00" * 3
        return body + options

    announce = PCP_REQUEST[:1] + b"\x00" + PCP_REQUEST[2:4] + b"\x00" * 4 + mapped4("198.51.100.2")
    s = {}
    s["rfc7753-request"] = record(request())
    s["set-renew-link-b-delete"] = (record(request()) + record(request(client="198.51.100.6", lifetime=600), source=1, wait=2)
                                    + record(request(lifetime=0), wait=1))
    s["overlap-and-single"] = (record(request(internal=100, size=0)) + record(request(internal=101, size=10))
                               + record(request(internal=100, size=100)))
    s["quota"] = b"".join(record(request(protocol=6, internal=1000 + i, size=0)) for i in range(5))
    s["wrong-nonce-delete"] = record(request(size=0)) + record(request(lifetime=0, size=0, nonce=b"\xAA" * 12))
    s["expiry"] = record(request(lifetime=120, size=4)) + record(announce, wait=63) + record(announce, wait=63)
    s["neighbour-and-ipv6"] = (record(request(client="198.51.100.10", size=8), source=2)
                               + record(PCP_REQUEST[:8] + v6("2001:db8:a::2") + PCP_REQUEST[24:], source=3))
    s["third-party-filter-prefer-failure"] = (
        record(request(size=0, options=hexbytes("01 00 00 10") + mapped4("192.168.1.10")
                       + hexbytes("03 00 00 14 00 78 00 00") + mapped4("203.0.113.0")))
        + record(request(internal=7000, size=0)[:42] + struct.pack("!H", 40000) + request(size=0)[44:60] + hexbytes("02 00 00 00")))
    s["malformed-mix"] = record(b"\x02") + record(PCP_REQUEST[:20]) + record(b"\x01" + PCP_REQUEST[1:]) + record(PCP_REQUEST + PCP_REQUEST[60:])
    return s


def cpe_pcp_seeds():
    """LAN requests to the CPE's PCP proxy and the concentrator's answers, each len16 || context || message."""
    def mapped4(text):
        return b"\x00" * 10 + b"\xff\xff" + bytes(int(part) for part in text.split("."))

    def record(message, server=False, host=0, wait=0):
        return struct.pack("!HB", len(message), wait << 2 | host << 1 | int(server)) + message

    def request(client="192.168.1.20", lifetime=600, protocol=17, internal=50000, size=0, nonce=None):
        body = PCP_REQUEST[:4] + struct.pack("!I", lifetime) + mapped4(client)
        body += (nonce or PCP_REQUEST[24:36]) + bytes([protocol]) + b"\x00" * 3 + struct.pack("!HH", internal, 0)
        body += mapped4("0.0.0.0")
        if size:
            body += hexbytes("82 00 00 05") + struct.pack("!HHB", size, internal, 0) + b"\x00" * 3
        return body

    def answer(internal, external, protocol=17, lifetime=600, nonce=None, result=0, size=0):
        # A success answer as the concentrator sends it; the CPE's own nonce is unknown to the seed,
        # so these exercise matching and refusal (the fuzzer finds the rest).
        body = bytes([2, 0x81, 0, result]) + struct.pack("!II", lifetime, 100) + b"\x00" * 12
        body += (nonce or PCP_REQUEST[24:36]) + bytes([protocol]) + b"\x00" * 3 + struct.pack("!HH", internal, external)
        body += mapped4("192.0.2.130")
        if size:
            body += hexbytes("82 00 00 05") + struct.pack("!HHB", size, internal, 0) + b"\x00" * 3
        return body

    s = {}
    s["lan-map"] = record(request())
    s["lan-map-port-set-answer"] = record(request(size=100)) + record(answer(50000, 1856, size=16), server=True)
    s["lan-renew-delete"] = record(request()) + record(request(lifetime=0), wait=3) + record(request(lifetime=0, nonce=b"\x11" * 12))
    s["two-hosts-quota"] = b"".join(record(request(client="192.168.1.2" + str(h), internal=1000 + i), host=h) for i in range(3) for h in (0, 1))
    s["server-refusal-and-epoch"] = (record(answer(80, 0, protocol=6, result=10, lifetime=30), server=True)
                                     + record(bytes([2, 0x80, 0, 0]) + struct.pack("!II", 0, 5) + b"\x00" * 12, server=True, wait=10))
    s["lapse"] = record(request(lifetime=120)) + record(b"\x02\x00", wait=63) + record(b"\x02\x00", wait=63)
    s["malformed"] = record(b"\x02") + record(PCP_REQUEST[:20]) + record(request(client="192.168.1.99")) + record(PCP_REQUEST)
    return s


def write(target, seeds):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    for old in os.listdir(directory):
        os.remove(os.path.join(directory, old))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")


def main():
    targets = {"packet": packet_seeds, "pm-block": pm_seeds, "udp-framing": udp_framing_seeds, "pcp": pcp_seeds,
               "pcp-server": pcp_server_seeds, "cpe-pcp": cpe_pcp_seeds}
    chosen = sys.argv[1:] or list(targets)
    for target in chosen:
        write(target, targets[target]())


if __name__ == "__main__":
    main()
