#!/usr/bin/env python3
"""A third-party plain-mode MPTCP client (no plainmode CPE needed; python3 standard library only).

  pm_client.py --concentrator ADDR PORT --dest ADDR PORT [--source ADDR [--source-port P]]
               [--send BYTES] [--timeout S] [--protocol 6] [--subtype 0xE] [--syn-data N]
               [--bind ADDR]
  pm_client.py --dest ADDR PORT [--source ADDR ...] [--protocol 17] --print-block

Builds a PM block (draft-boucadair-mptcp-plain-mode-08 section 4.1): one option per address,
  Kind 30, Length, (SubType << 4) | (D << 3), Protocol, Address (4 or 16 bytes), Port (2 bytes BE)
with Length 10 (IPv4 + port), 22 (IPv6 + port), 8 / 20 without a port (--source without
--source-port); D = 1 for the source option, 0 for the destination; the source option first; then
EOL (0x00). It opens an IPPROTO_MPTCP socket with TCP_FASTOPEN_NO_COOKIE, sends the block and the
first --syn-data bytes of the data in the SYN (sendto MSG_FASTOPEN), sends the rest of --send bytes,
shuts down writes, reads the reply to EOF and prints one JSON line:
  {"sent", "sent_sha256", "received", "received_sha256", "block_hex", "local", "seconds",
   "mptcp", "max_subflows"[, "error"]}
("max_subflows": the most MPTCP subflows seen while reading, None when not MPTCP.)
"sent"/"sent_sha256" cover the data only (not the PM block), so they compare directly with what
the destination server receives through a concentrator. The data is peer.py's deterministic
stream (`peer.py expected BYTES` gives its sha256). Exit status 0 only without error.

--no-fastopen connects first and sends the block after the handshake (for comparisons only: a
concentrator expects the block as SYN data).
--bind ADDR opens the MPTCP connection from ADDR (e.g. a CPE's second WAN address).
--print-block prints the block (options + EOL) as hex bytes and exits.
Check vector: --dest 198.51.100.1 53 --protocol 17 gives 1e 0a e0 11 c6 33 64 01 00 35 00.
"""

import argparse
import hashlib
import ipaddress
import json
import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402  (same directory: the shared deterministic stream and helpers)

IPPROTO_MPTCP = 262
TCP_FASTOPEN_NO_COOKIE = 34
PM_KIND = 30
EOL = b"\x00"


def pm_option(addr, port, source, protocol, subtype):
    ip = ipaddress.ip_address(addr)
    body = ip.packed + (b"" if port is None else int(port).to_bytes(2, "big"))
    length = 4 + len(body)
    return bytes([PM_KIND, length, ((subtype & 0xF) << 4) | ((1 if source else 0) << 3), protocol & 0xFF]) + body


def pm_block(dest, dest_port, source=None, source_port=None, protocol=6, subtype=0xE):
    block = b""
    if source is not None:
        block += pm_option(source, source_port, True, protocol, subtype)
    block += pm_option(dest, dest_port, False, protocol, subtype)
    return block + EOL


def hexbytes(b):
    return " ".join("%02x" % x for x in b)


def run(args, block):
    caddr, cport = args.concentrator[0], int(args.concentrator[1])
    fam = peer.family_of(caddr)
    rec = {"sent": 0, "sent_sha256": None, "received": 0, "received_sha256": None,
           "block_hex": block.hex(), "local": None, "seconds": None, "mptcp": None}
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    sh = hashlib.sha256()
    rh = hashlib.sha256()
    error = None
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP)
    send_err = []
    try:
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1)
        if args.bind:
            s.bind((args.bind, 0))
        s.settimeout(args.timeout)
        chunks = peer.stream_chunks(args.send)
        first = b""
        pending = b""
        for c in chunks:
            first, pending = c[:args.syn_data], c[args.syn_data:]
            break
        payload = block + first
        if args.no_fastopen:
            s.connect((caddr, cport))
            n = 0
        else:
            n = s.sendto(payload, socket.MSG_FASTOPEN, (caddr, cport))
        rec["local"] = peer.fmt(s.getsockname())
        # A Fast Open connect returns at once; until the handshake ends, recv() and shutdown()
        # on the socket fail with ENOTCONN instead of waiting, so wait for it (writable).
        if not select.select([], [s], [], max(deadline - time.monotonic(), 0.001))[1]:
            raise TimeoutError("connect did not finish within %gs" % args.timeout)
        if n < len(payload):
            s.sendall(payload[n:])
        sh.update(first)
        rec["sent"] = len(first)

        def send_rest():
            try:
                if pending:
                    s.sendall(pending)
                    sh.update(pending)
                    rec["sent"] += len(pending)
                for c in chunks:
                    s.sendall(c)
                    sh.update(c)
                    rec["sent"] += len(c)
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                send_err.append("send: %s" % e)

        t = threading.Thread(target=send_rest, daemon=True)
        t.start()
        max_sf = peer.mptcp_subflows(s)
        for i, data in enumerate(peer.receive_chunks(s, deadline, "timeout (%gs)" % args.timeout)):
            rec["received"] += len(data)
            rh.update(data)
            if i % 64 == 0:
                sf = peer.mptcp_subflows(s)
                if sf is not None and (max_sf is None or sf > max_sf):
                    max_sf = sf
        sf = peer.mptcp_subflows(s)
        rec["mptcp"] = sf is not None
        rec["max_subflows"] = max(sf, max_sf or 0) if sf is not None else max_sf
        t.join(max(deadline - time.monotonic(), 0.001))
        if t.is_alive():
            raise TimeoutError("send did not finish within %gs" % args.timeout)
        if send_err:
            error = send_err[0]
    except (OSError, TimeoutError) as e:
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
    rec["sent_sha256"] = sh.hexdigest()
    rec["received_sha256"] = rh.hexdigest()
    rec["seconds"] = round(time.monotonic() - t0, 4)
    if error:
        rec["error"] = error
    print(json.dumps(rec), flush=True)
    return 0 if error is None else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--concentrator", nargs=2, metavar=("ADDR", "PORT"))
    p.add_argument("--dest", nargs=2, metavar=("ADDR", "PORT"), required=True)
    p.add_argument("--source", default=None, metavar="ADDR")
    p.add_argument("--source-port", type=int, default=None, metavar="P")
    p.add_argument("--send", type=peer.parse_bytes, default=0, metavar="BYTES")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S")
    p.add_argument("--protocol", type=int, default=6, help="IANA protocol number in the options (default 6)")
    p.add_argument("--subtype", type=lambda v: int(v, 0), default=0xE, help="PM SubType (default 0xE)")
    p.add_argument("--syn-data", type=int, default=1000, metavar="N",
                   help="data bytes sent with the PM block in the SYN (default 1000)")
    p.add_argument("--no-fastopen", action="store_true",
                   help="connect() first, then send the block (no SYN data; for comparisons)")
    p.add_argument("--bind", default=None, metavar="ADDR", help="local address of the MPTCP connection")
    p.add_argument("--print-block", action="store_true", help="print the PM block as hex and exit")
    args = p.parse_args(argv)
    if args.source_port is not None and args.source is None:
        p.error("--source-port needs --source")
    try:
        block = pm_block(args.dest[0], int(args.dest[1]), args.source, args.source_port,
                         args.protocol, args.subtype)
    except ValueError as e:
        p.error(str(e))
    if args.print_block:
        print(hexbytes(block))
        return 0
    if not args.concentrator:
        p.error("--concentrator ADDR PORT is required (unless --print-block)")
    return run(args, block)


if __name__ == "__main__":
    sys.exit(main())
