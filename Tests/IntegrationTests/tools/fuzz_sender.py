#!/usr/bin/env python3
"""Fires random packets at a list of ports for a while, for plainmode's robustness tests.
Python 3 standard library only; the syn and raw modes need CAP_NET_RAW.

  fuzz_sender.py --to ADDR --ports LIST [--mode udp|syn|raw[,...]] [--duration S] [--rate PPS]
                 [--seed S] [--from ADDR] [--mptcp-fraction F]

LIST is a comma-separated list of ports and inclusive ranges, e.g. 5000,7000-7010. Every packet
goes to ADDR and to a port drawn from LIST; sizes, bytes and ports all come from
random.Random(--seed), so a run repeats. Packets are paced at --rate per second (default 2000)
for --duration seconds (default 10); the run ends after at most rate * duration + 1 packets.
--mode takes one mode or a comma-separated list (used in turn, packet by packet):

  udp  UDP datagrams with 0..1472 random payload bytes, from an ordinary UDP socket (source: the
       host's own address chosen by the kernel, or --from when given).
  syn  TCP SYN segments from a raw socket(AF_INET[6], SOCK_RAW, IPPROTO_TCP) bound to --from (the
       kernel builds the IP header): random source port, sequence number and window, 0..40 bytes
       of random TCP options (whole 32-bit words; the data offset always matches), 0..1000
       random payload bytes. Every other SYN carries a correct TCP checksum, the others a wrong
       random one. Purely random option bytes are nearly always badly framed, and Linux drops
       such a segment before any listener sees it (seen on Linux 6.18: not even a closed port
       answers it with an RST). So a fraction --mptcp-fraction (default 0.25) of the SYNs carry a
       well-formed MP_CAPABLE (1e 04 01 01) followed by well-framed options of random kinds and
       contents, and a payload that starts with a plain-mode-shaped option header (1e, length,
       subtype byte, protocol 6 or 17) followed by random bytes: with a correct checksum those
       reach an MPTCP listener (as TFO SYN data when it accepts that). 0 makes all the options purely random.
  raw  whole packets from socket(AF_INET[6], SOCK_RAW, IPPROTO_RAW): a valid IPv4 header
       (IHL 5, TTL 64, correct total length and checksum) or IPv6 header (correct payload
       length, hop limit 64) from --from to ADDR, claiming protocol 6 or 17, followed by random
       transport bytes of one of these kinds:
         tcp_truncated / udp_truncated  fewer bytes than the fixed header (0..19 / 0..7)
         tcp  a 20-byte header with a random data offset (0..15, usually not matching the
              length), random flags, sequence numbers and window, then 0..1000 random bytes
         udp  an 8-byte header whose length field is right or random, then 0..1000 random bytes
       half of the tcp and udp kinds with a correct checksum, half with a random one.

--from ADDR (required for syn and raw; same family as --to) is the source address written into
the packets; use the sending host's own address so that answers come back to it.

Send errors (ENOBUFS, EPERM from a firewall, EAGAIN on a full queue, ...) are counted, never
fatal. At the end (duration, SIGTERM or SIGINT) prints one JSON line:
  {"sent": {MODE: n}, "send_errors": {MODE: n}, "errors": {ERRNO_NAME: n},
   "syn_checksum": {"good": n, "bad": n}, "mptcp_shaped": n, "raw_kinds": {KIND: n},
   "elapsed_s": s}
("sent" counts packets the kernel accepted; "syn_checksum" and "mptcp_shaped" appear only with
the syn mode, "raw_kinds" only with the raw mode.)
Exit status: 0 after a run (whatever the send errors), 2 when a socket cannot be set up (no
CAP_NET_RAW, --from not a local address, ...) or on bad arguments, with a message on stderr.
"""

import argparse
import errno
import ipaddress
import json
import math
import random
import signal
import socket
import struct
import sys
import time

MODES = ("udp", "syn", "raw")
MAX_UDP_PAYLOAD = 1472
MAX_SEGMENT_PAYLOAD = 1000
MP_CAPABLE_SYN = bytes([30, 4, 0x01, 0x01])   # kind 30, length 4, subtype 0 version 1, flag H

_stop = False


def _on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
    global _stop
    _stop = True


def die(message):
    sys.stderr.write("fuzz_sender: error: %s\n" % message)
    sys.stderr.flush()
    sys.exit(2)


def parse_ports(text):
    ports = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if not lo.strip().isdigit() or (sep and not hi.strip().isdigit()):
            raise argparse.ArgumentTypeError("bad port or range %r in %r" % (part, text))
        lo = int(lo)
        hi = int(hi) if sep else lo
        if not 1 <= lo <= hi <= 65535:
            raise argparse.ArgumentTypeError("port range %r outside 1..65535 or reversed" % part)
        ports.update(range(lo, hi + 1))
    if not ports:
        raise argparse.ArgumentTypeError("no ports in %r" % text)
    return sorted(ports)


def parse_modes(text):
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if not modes or bad:
        raise argparse.ArgumentTypeError("modes are udp, syn, raw (comma-separated), not %r" % text)
    return modes


def ip_arg(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an IPv4 or IPv6 literal" % text) from None


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src, dst, proto, length):
    if src.version == 4:
        return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, proto)


def with_checksum(segment, offset, src, dst, proto, good, rng):
    """`segment` with its checksum field (at `offset`) right, or wrong at random when not `good`."""
    seg = bytearray(segment)
    seg[offset:offset + 2] = b"\0\0"
    right = checksum(pseudo_header(src, dst, proto, len(seg)) + bytes(seg))
    if proto == 17 and right == 0:
        right = 0xFFFF
    value = right
    for _ in range(8):   # in one's complement 0x0000 and 0xFFFF are both zero: avoid the twin
        if good:
            break
        value = right ^ rng.randrange(1, 0x10000)
        if {value, right} != {0, 0xFFFF}:
            break
    seg[offset:offset + 2] = struct.pack("!H", value)
    return bytes(seg)


def wellformed_options(rng, size):
    """`size` bytes of TCP options with valid kind/length framing but random kinds and contents
    (no EOL, no MD5 (19), TCP-AO (29) or MPTCP (30) option: Linux drops a segment whose options
    are badly framed or carry an authentication option it has no key for, before any listener
    sees it)."""
    out = bytearray()
    for _ in range(size):                      # every pass adds at least one byte
        left = size - len(out)
        if left <= 0:
            break
        if left == 1 or rng.random() < 0.2:
            out.append(1)                      # NOP
            continue
        kind = rng.choice([k for k in range(2, 256) if k not in (19, 29, 30)])
        length = rng.randint(2, min(left, 12))
        out += bytes([kind, length]) + rng.randbytes(length - 2)
    return bytes(out)


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.fam = socket.AF_INET6 if args.to.version == 6 else socket.AF_INET
        self.dest = (str(args.to), 0)
        self.socks = {}
        self.sent = {m: 0 for m in args.mode}
        self.send_errors = {m: 0 for m in args.mode}
        self.errors = {}
        self.syn_checksum = {"good": 0, "bad": 0}
        self.raw_kinds = {}
        self.mptcp_shaped = 0
        self.syn_count = 0

    # ------------------------------------------------------------ sockets

    def open(self):
        for mode in dict.fromkeys(self.args.mode):
            proto = {"udp": 0, "syn": socket.IPPROTO_TCP, "raw": socket.IPPROTO_RAW}[mode]
            kind = socket.SOCK_DGRAM if mode == "udp" else socket.SOCK_RAW
            try:
                s = socket.socket(self.fam, kind, proto)
            except PermissionError as e:
                die("mode %s: cannot open a raw socket (%s); run as root or with CAP_NET_RAW" % (mode, e))
            except OSError as e:
                die("mode %s: cannot open socket: %s" % (mode, e))
            try:
                # Nothing is read: keep what arrives (echoes, SYN-ACKs, RSTs) from piling up.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
            except OSError:
                pass
            if self.args.from_ is not None and mode != "raw":
                try:
                    s.bind((str(self.args.from_), 0))
                except OSError as e:
                    die("mode %s: cannot bind to --from %s (must be a local address): %s"
                        % (mode, self.args.from_, e))
            s.setblocking(False)
            self.socks[mode] = s

    def close(self):
        for s in self.socks.values():
            s.close()

    # ------------------------------------------------------------ packets

    def port(self):
        return self.rng.choice(self.args.ports)

    def udp_packet(self):
        return self.rng.randbytes(self.rng.randint(0, MAX_UDP_PAYLOAD)), (str(self.args.to), self.port())

    def syn_packet(self):
        rng = self.rng
        shaped = rng.random() < self.args.mptcp_fraction
        if shaped:
            options = MP_CAPABLE_SYN + wellformed_options(rng, 4 * rng.randint(0, 9))
            payload = bytes([30, rng.choice((8, 10, 20, 22, rng.randrange(256))), rng.randrange(256),
                             rng.choice((6, 17))]) + rng.randbytes(rng.randint(0, MAX_SEGMENT_PAYLOAD - 4))
            self.mptcp_shaped += 1
        else:
            options = rng.randbytes(4 * rng.randint(0, 10))
            payload = rng.randbytes(rng.randint(0, MAX_SEGMENT_PAYLOAD))
        doff = 5 + len(options) // 4
        header = struct.pack("!HHIIBBHHH", rng.randint(1024, 65535), self.port(), rng.getrandbits(32), 0,
                             doff << 4, 0x02, rng.randint(1, 65535), 0, 0)
        good = self.syn_count % 2 == 0
        self.syn_count += 1
        self.syn_checksum["good" if good else "bad"] += 1
        segment = with_checksum(header + options + payload, 16, self.args.from_, self.args.to, 6, good, rng)
        return segment, self.dest

    def raw_transport(self, proto):
        rng = self.rng
        name = "tcp" if proto == 6 else "udp"
        fixed = 20 if proto == 6 else 8
        if rng.random() < 0.25:
            kind = name + "_truncated"
            data = bytearray(rng.randbytes(rng.randint(0, fixed - 1)))
            if len(data) >= 4:
                data[2:4] = struct.pack("!H", self.port())
            return kind, bytes(data)
        good = rng.random() < 0.5
        rest = rng.randbytes(rng.randint(0, MAX_SEGMENT_PAYLOAD))
        if proto == 6:
            header = struct.pack("!HHIIBBHHH", rng.randint(1, 65535), self.port(), rng.getrandbits(32),
                                 rng.getrandbits(32), (rng.randrange(16) << 4) | rng.randrange(16),
                                 rng.randrange(256), rng.randrange(65536), 0, rng.randrange(65536))
            offset = 16
        else:
            length = 8 + len(rest) if rng.random() < 0.5 else rng.randrange(65536)
            header = struct.pack("!HHHH", rng.randint(1, 65535), self.port(), length, 0)
            offset = 6
        segment = with_checksum(header + rest, offset, self.args.from_, self.args.to, proto, good, rng)
        return name, segment

    def raw_packet(self):
        rng = self.rng
        proto = rng.choice((6, 17))
        kind, transport = self.raw_transport(proto)
        self.raw_kinds[kind] = self.raw_kinds.get(kind, 0) + 1
        src, dst = self.args.from_, self.args.to
        if dst.version == 4:
            header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), rng.randrange(1, 65536),
                                           0, 64, proto, 0, src.packed, dst.packed))
            header[10:12] = struct.pack("!H", checksum(bytes(header)))
        else:
            header = struct.pack("!IHBB16s16s", (6 << 28) | rng.getrandbits(20), len(transport), proto, 64,
                                 src.packed, dst.packed)
        return bytes(header) + transport, self.dest

    # ------------------------------------------------------------ run

    def send(self, mode):
        packet, address = {"udp": self.udp_packet, "syn": self.syn_packet, "raw": self.raw_packet}[mode]()
        try:
            self.socks[mode].sendto(packet, address)
            self.sent[mode] += 1
        except OSError as e:
            self.send_errors[mode] += 1
            name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno is not None else type(e).__name__
            self.errors[name] = self.errors.get(name, 0) + 1

    def run(self):
        a = self.args
        limit = int(math.ceil(a.rate * a.duration)) + 1
        start = time.monotonic()
        end = start + a.duration
        for i in range(limit):
            if _stop:
                break
            now = time.monotonic()
            if now >= end:
                break
            due = start + i / a.rate
            if due > now:
                time.sleep(min(due, end) - now)
                if _stop or time.monotonic() >= end:
                    break
            self.send(a.mode[i % len(a.mode)])
        return time.monotonic() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--to", type=ip_arg, required=True, metavar="ADDR", help="destination address")
    p.add_argument("--ports", type=parse_ports, required=True, metavar="LIST",
                   help="destination ports, e.g. 5000,7000-7010")
    p.add_argument("--mode", type=parse_modes, default=["udp"], metavar="udp|syn|raw[,...]",
                   help="what to send (default udp); a comma-separated list takes turns")
    p.add_argument("--duration", type=float, default=10.0, metavar="S", help="seconds to run (default 10)")
    p.add_argument("--rate", type=float, default=2000.0, metavar="PPS", help="packets per second (default 2000)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="PRNG seed (default 1)")
    p.add_argument("--from", dest="from_", type=ip_arg, default=None, metavar="ADDR",
                   help="source address (required for syn and raw; optional bind for udp)")
    p.add_argument("--mptcp-fraction", type=float, default=0.25, metavar="F",
                   help="share of syn packets shaped like MPTCP plain-mode SYNs (default 0.25)")
    args = p.parse_args()
    if not args.duration > 0 or not 0 < args.rate <= 1e6:
        p.error("--duration must be positive and --rate in (0, 1000000]")
    if not 0 <= args.mptcp_fraction <= 1:
        p.error("--mptcp-fraction must be in [0, 1]")
    if ("syn" in args.mode or "raw" in args.mode) and args.from_ is None:
        p.error("--from ADDR is required for the syn and raw modes")
    if args.from_ is not None and args.from_.version != args.to.version:
        p.error("--from %s and --to %s are not of the same address family" % (args.from_, args.to))

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    fuzzer = Fuzzer(args)
    fuzzer.open()
    try:
        elapsed = fuzzer.run()
    finally:
        fuzzer.close()
    out = {"sent": fuzzer.sent, "send_errors": fuzzer.send_errors, "errors": fuzzer.errors}
    if "syn" in args.mode:
        out["syn_checksum"] = fuzzer.syn_checksum
        out["mptcp_shaped"] = fuzzer.mptcp_shaped
    if "raw" in args.mode:
        out["raw_kinds"] = fuzzer.raw_kinds
    out["elapsed_s"] = round(elapsed, 3)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
