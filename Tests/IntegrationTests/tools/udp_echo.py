#!/usr/bin/env python3
"""UDP echo server (or tiny authoritative DNS responder) for plainmode integration tests.
Python 3 standard library only.

  udp_echo.py --port P [--bind ADDR] [--duration S] [--dns] [--a-addr V4] [--aaaa-addr V6]

Binds one UDP socket to ADDR:P (ADDR an IPv4 or IPv6 literal; the default "::" is dual-stack,
IPV6_V6ONLY=0, so IPv4 clients are served as well; any other IPv6 literal is IPv6 only). P may be
0 for a port chosen by the kernel. Once bound it prints "ready PORT" (the bound port) and flushes.

Echo mode (default): every datagram received is sent back unchanged to its sender (zero-length
datagrams too). Replies leave from the address the datagram was sent to (IP_PKTINFO /
IPV6_PKTINFO), so a client that checks the reply's source works on multi-address hosts.

--dns: instead of echoing, parse each datagram as a DNS query (RFC 1035: 12-byte header and one
question, anything after the question such as an EDNS OPT record is ignored) and answer it
authoritatively (QR and AA set, same ID, RD copied, RA clear, the question echoed byte for byte):
  type A    (1), class IN or ANY  ->  one answer 203.0.113.53 (--a-addr),  TTL 60
  type AAAA (28), class IN or ANY ->  one answer 2001:db8::53 (--aaaa-addr), TTL 60
  any other type or class         ->  NOERROR with no answers
The answer's owner name is the compression pointer 0xC00C (the question name). A query with an
opcode other than 0 (QUERY) gets a NOTIMP (rcode 4) response with the question echoed. Malformed
datagrams are not answered and only counted: shorter than 12 bytes, QR bit set (a response),
QDCOUNT != 1, a truncated or invalid question name (label > 63 bytes, name > 255 bytes,
compression pointer or reserved label type in the question) or missing QTYPE/QCLASS.

Runs for --duration seconds (default 120), or until SIGTERM / SIGINT, then prints one JSON line:
  {"received": n, "sent": n, "malformed": n, "send_errors": n, "mode": "echo"|"dns",
   "seconds": s}
("received": datagrams read; "sent": replies sent; "send_errors": replies the kernel refused).

Exit status: 0 after a normal run (duration elapsed or signal), 2 when the socket cannot be set
up (bad address, address in use, IPv6 disabled, ...), with a message on stderr.
"""

import argparse
import errno
import ipaddress
import json
import signal
import socket
import struct
import sys
import time

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RCVBUF = 4 << 20    # bytes of receive buffer asked for
POLL = 0.2          # seconds between checks of the stop flag / the end of the run
MAX_DATAGRAM = 65535

TYPE_A, TYPE_AAAA = 1, 28
CLASS_IN, CLASS_ANY = 1, 255
TTL = 60

_stop = False


def _on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
    global _stop
    _stop = True


def die(message):
    sys.stderr.write("udp_echo: error: %s\n" % message)
    sys.stderr.flush()
    sys.exit(2)


# ---------------------------------------------------------------- DNS

class Malformed(Exception):
    pass


def parse_question(data):
    """Returns (id, flags, question_bytes, qtype, qclass) of a DNS query; raises Malformed."""
    if len(data) < 12:
        raise Malformed("short header")
    qid, flags, qdcount = struct.unpack_from("!HHH", data, 0)
    if flags & 0x8000:
        raise Malformed("QR set")
    if qdcount != 1:
        raise Malformed("qdcount %d" % qdcount)
    pos = 12
    name_len = 1
    for _ in range(128):                      # at most 127 labels fit in 255 bytes
        if pos >= len(data):
            raise Malformed("truncated name")
        n = data[pos]
        if n & 0xC0:
            raise Malformed("pointer or reserved label type in question")
        pos += 1
        if n == 0:
            break
        name_len += n + 1
        if name_len > 255:
            raise Malformed("name too long")
        pos += n
    else:
        raise Malformed("too many labels")
    if pos + 4 > len(data):
        raise Malformed("truncated question")
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    return qid, flags, data[12:pos + 4], qtype, qclass


def dns_response(data, a_addr, aaaa_addr):
    """The response to the query `data`; raises Malformed for datagrams not to be answered."""
    qid, flags, question, qtype, qclass = parse_question(data)
    opcode = (flags >> 11) & 0xF
    rd = flags & 0x0100
    # QR=1, opcode copied, AA=1, TC=0, RD copied, RA=0, Z=0, rcode NOERROR or NOTIMP
    out_flags = 0x8000 | (opcode << 11) | 0x0400 | rd
    answers = b""
    if opcode != 0:
        out_flags |= 4
    elif qclass in (CLASS_IN, CLASS_ANY) and qtype in (TYPE_A, TYPE_AAAA):
        rdata = a_addr if qtype == TYPE_A else aaaa_addr
        answers = struct.pack("!HHHIH", 0xC00C, qtype, CLASS_IN, TTL, len(rdata)) + rdata
    ancount = 1 if answers else 0
    return struct.pack("!HHHHHH", qid, out_flags, 1, ancount, 0, 0) + question + answers


# ---------------------------------------------------------------- socket

def open_socket(bind, port):
    addr = ipaddress.ip_address(bind)
    fam = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    try:
        s = socket.socket(fam, socket.SOCK_DGRAM)
    except OSError as e:
        die("cannot create %s UDP socket: %s" % ("IPv6" if fam == socket.AF_INET6 else "IPv4", e))
    pktinfo = addr.is_unspecified   # a wildcard bind: choose each reply's source explicitly
    # Room for bursts of large datagrams (SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is
    # capped by net.core.rmem_max).
    for opt in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, RCVBUF // 2)
            break
        except OSError:
            continue
    try:
        if fam == socket.AF_INET6:
            # "::" is dual-stack; a specific IPv6 address can only ever see IPv6 anyway.
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if addr.is_unspecified else 1)
            if pktinfo:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        elif pktinfo:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.bind((bind, port))
    except OSError as e:
        die("cannot bind UDP %s port %d: %s" % (bind, port, e))
    return s, fam, pktinfo


def reply_cmsg(fam, ancdata):
    """Ancillary data that makes a reply leave from the address the request was sent to."""
    for level, ctype, cdata in ancdata:
        if fam == socket.AF_INET6 and level == socket.IPPROTO_IPV6 and ctype == IPV6_PKTINFO \
                and len(cdata) >= 20:
            dst = ipaddress.IPv6Address(cdata[:16])
            if dst.is_multicast:
                return []
            ifindex = struct.unpack_from("@I", cdata, 16)[0] if dst.is_link_local else 0
            return [(socket.IPPROTO_IPV6, IPV6_PKTINFO, cdata[:16] + struct.pack("@I", ifindex))]
        if fam == socket.AF_INET and level == socket.IPPROTO_IP and ctype == IP_PKTINFO \
                and len(cdata) >= 12:
            spec_dst = cdata[4:8]      # struct in_pktinfo {int ifindex; in_addr spec_dst, addr}
            return [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("@i", 0) + spec_dst + bytes(4))]
    return []


def send_reply(s, data, peer, cmsg):
    if cmsg:
        try:
            s.sendmsg([data], cmsg, 0, peer)
            return
        except OSError as e:
            # The request's destination cannot be a source (a broadcast address, an address
            # gone meanwhile): let the kernel choose. Anything else is a real send error.
            if e.errno not in (errno.EINVAL, errno.EADDRNOTAVAIL):
                raise
    s.sendto(data, peer)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bind", default="::", metavar="ADDR",
                   help='IPv4 or IPv6 literal to bind (default "::", dual-stack)')
    p.add_argument("--port", type=int, required=True, metavar="P", help="UDP port (0: any free port)")
    p.add_argument("--duration", type=float, default=120.0, metavar="S",
                   help="exit after S seconds (default 120)")
    p.add_argument("--dns", action="store_true", help="answer DNS queries instead of echoing")
    p.add_argument("--a-addr", default="203.0.113.53", metavar="V4",
                   help="address in A answers (default 203.0.113.53)")
    p.add_argument("--aaaa-addr", default="2001:db8::53", metavar="V6",
                   help="address in AAAA answers (default 2001:db8::53)")
    args = p.parse_args()
    if not 0 <= args.port <= 65535:
        p.error("--port must be in 0..65535")
    if not args.duration > 0:
        p.error("--duration must be positive")
    try:
        ipaddress.ip_address(args.bind)
    except ValueError:
        p.error("--bind %r is not an IPv4 or IPv6 literal" % args.bind)
    try:
        a_addr = ipaddress.IPv4Address(args.a_addr).packed
        aaaa_addr = ipaddress.IPv6Address(args.aaaa_addr).packed
    except ValueError as e:
        p.error(str(e))

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    s, fam, pktinfo = open_socket(args.bind, args.port)
    print("ready %d" % s.getsockname()[1], flush=True)

    counts = {"received": 0, "sent": 0, "malformed": 0, "send_errors": 0}
    ancbufsize = socket.CMSG_SPACE(64) if pktinfo else 0
    started = time.monotonic()
    end = started + args.duration
    while not _stop:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(min(left, POLL))
        try:
            data, ancdata, _flags, peer = s.recvmsg(MAX_DATAGRAM, ancbufsize)
        except socket.timeout:
            continue
        except OSError:
            continue    # e.g. a queued ICMP error; the loop stays bounded by `end`
        counts["received"] += 1
        if args.dns:
            try:
                data = dns_response(data, a_addr, aaaa_addr)
            except Malformed:
                counts["malformed"] += 1
                continue
        try:
            send_reply(s, data, peer, reply_cmsg(fam, ancdata) if pktinfo else [])
            counts["sent"] += 1
        except OSError:
            counts["send_errors"] += 1
    s.close()
    counts["mode"] = "dns" if args.dns else "echo"
    counts["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
