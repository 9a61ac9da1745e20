#!/usr/bin/env python3
"""Time to first byte of small request/response exchanges (python3 standard library only).

  ttfb.py serve  --listen ADDR --port P [--request BYTES] [--reply BYTES] [--connections N]
                 [--lifetime S] [--timeout S]
  ttfb.py client --connect ADDR --port P [--count 20] [--request BYTES] [--reply BYTES]
                 [--bind ADDR] [--timeout S] [--pause S] [--budget S]

serve: listens (IPv6 listeners are IPV6_V6ONLY), prints READY once listening, and serves each
connection in its own thread: reads until --request bytes have arrived (or EOF; with --request 0
it answers at once), sends --reply bytes, closes. One JSON line per finished connection:
  {"peer", "received", "sent", "seconds"[, "error"]}
Stops after --connections connections (0: no limit) or --lifetime seconds.

client: --count exchanges, one after the other, each on a new TCP connection (optionally bound to
--bind): connect, send --request bytes, read until --reply bytes have arrived, close. Each sample
is the time from the start of connect() to the arrival of the reply's first byte. Prints one JSON
line:
  {"connect", "bind", "count", "request", "reply", "samples_ms", "median_ms", "min_ms", "max_ms",
   "connect_ms" (median time connect() took), "ok", "errors"}
"samples_ms" holds the successful exchanges only. Exit status 0 only if all --count exchanges
completed with exactly --reply bytes. Every exchange is bounded by --timeout, the whole run by
--budget (exchanges not started within it count as errors).

The request is --request bytes of b"q", the reply --reply bytes of b"r". Addresses are IPv6 when
they contain ':'. TCP_NODELAY is set on both sides, so the measurement is not Python's.
"""

import argparse
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer import accept_loop, emit, family_of, fmt  # noqa: E402  (same directory)

def recv_until(sock, wanted, deadline):
    """Reads until `wanted` bytes or EOF; returns (bytes read, monotonic time of the first byte)."""
    got, first = 0, None
    while got < wanted:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out after %d of %d bytes" % (got, wanted))
        sock.settimeout(left)
        data = sock.recv(min(65536, wanted - got))
        if not data:
            break
        if first is None:
            first = time.monotonic()
        got += len(data)
    return got, first


# ---------------------------------------------------------------- serve

def handle(conn, peer, args):
    t0 = time.monotonic()
    rec = {"peer": fmt(peer), "received": 0, "sent": 0, "seconds": None}
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rec["received"], _ = recv_until(conn, args.request, t0 + args.timeout)
        conn.settimeout(max(t0 + args.timeout - time.monotonic(), 0.001))
        conn.sendall(b"r" * args.reply)
        rec["sent"] = args.reply
    except (OSError, TimeoutError) as e:
        rec["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    rec["seconds"] = round(time.monotonic() - t0, 4)
    emit(rec)


def serve(args):
    fam = family_of(args.listen)
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    ls.bind((args.listen, args.port))
    ls.listen(128)
    accept_loop(ls, args, handle)
    return 0


# ---------------------------------------------------------------- client

def exchange(args):
    """One exchange; returns (ttfb seconds, connect seconds)."""
    fam = family_of(args.connect)
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if args.bind:
            s.bind((args.bind, 0))
        s.settimeout(args.timeout)
        t0 = time.monotonic()
        deadline = t0 + args.timeout
        s.connect((args.connect, args.port))
        connected = time.monotonic()
        s.sendall(b"q" * args.request)
        got, first = recv_until(s, args.reply, deadline)
        if got != args.reply:
            raise ValueError("reply: %d bytes, expected %d" % (got, args.reply))
        return first - t0, connected - t0
    finally:
        s.close()


def client(args):
    samples, connects, errors = [], [], []
    end = time.monotonic() + args.budget
    for i in range(args.count):
        if time.monotonic() >= end:
            errors.append("exchange %d: not started, --budget %gs used up" % (i, args.budget))
            continue
        try:
            ttfb, connect = exchange(args)
            samples.append(round(ttfb * 1000, 3))
            connects.append(connect * 1000)
        except (OSError, TimeoutError, ValueError) as e:
            errors.append("exchange %d: %s: %s" % (i, type(e).__name__, e))
        if i + 1 < args.count:
            time.sleep(args.pause)
    rec = {"connect": args.connect, "bind": args.bind, "count": args.count,
           "request": args.request, "reply": args.reply, "samples_ms": samples,
           "median_ms": round(statistics.median(samples), 3) if samples else None,
           "min_ms": min(samples) if samples else None,
           "max_ms": max(samples) if samples else None,
           "connect_ms": round(statistics.median(connects), 3) if connects else None,
           "ok": len(samples), "errors": errors}
    emit(rec)
    return 0 if len(samples) == args.count else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="answer each connection's request with --reply bytes, then close")
    s.add_argument("--listen", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--request", type=int, default=100, help="bytes to read before replying (default 100)")
    s.add_argument("--reply", type=int, default=100, help="bytes to reply (default 100)")
    s.add_argument("--connections", type=int, default=0, help="stop after accepting N (0: no limit)")
    s.add_argument("--lifetime", type=float, default=600.0, help="stop accepting after S seconds (default 600)")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds per connection (default 10)")

    c = sub.add_parser("client", help="time --count exchanges, print one JSON line")
    c.add_argument("--connect", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, default=20, help="exchanges (default 20, at most 10000)")
    c.add_argument("--request", type=int, default=100, help="request bytes (default 100)")
    c.add_argument("--reply", type=int, default=100, help="reply bytes expected (default 100)")
    c.add_argument("--bind", default=None, help="local address to bind (port chosen by the kernel)")
    c.add_argument("--timeout", type=float, default=5.0, help="seconds per exchange (default 5)")
    c.add_argument("--pause", type=float, default=0.02, help="seconds between exchanges (default 0.02)")
    c.add_argument("--budget", type=float, default=60.0, help="seconds for the whole run (default 60)")

    args = p.parse_args(argv)
    for name in ("request", "reply"):
        if not 0 <= getattr(args, name) <= 1 << 24:
            p.error("--%s must be 0..16777216" % name)
    if args.cmd == "client" and not 1 <= args.count <= 10000:
        p.error("--count must be 1..10000")
    if args.cmd == "client" and args.reply < 1:
        p.error("--reply must be at least 1 (the first byte is what is timed)")
    return serve(args) if args.cmd == "serve" else client(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
