#!/usr/bin/env python3
"""Checking UDP client for an echo server (udp_echo.py, or one reached through plainmode).
Python 3 standard library only.

  udp_check.py --to ADDR --port P [--count N] [--min BYTES] [--max BYTES] [--window W]
               [--timeout SEC] [--seed S] [--bind ADDR[:PORT]] [--deadline SEC] [--linger SEC]

Sends N datagrams of random sizes in [--min, --max] filled with random bytes, both from
random.Random(--seed) so that a run repeats exactly, keeping at most W datagrams unanswered in
flight (W = 1: ping-pong). A datagram with no reply --timeout seconds after it was sent counts as
lost and is not retransmitted; its slot in the window is then reused.

Replies carry no sequence numbers (a datagram may be 1 byte), so they are matched as a multiset:
a reply must equal, byte for byte, one of the payloads still outstanding (the oldest one when
several are equal); that datagram is then answered and its RTT (time.perf_counter_ns from just
before sendto to just after recvfrom) recorded. A reply that equals no outstanding payload counts
  as a duplicate  when it equals a payload already answered,
  as late         when it equals a payload already counted lost,
  as mismatched   otherwise.
Replies must come from ADDR:P; datagrams from any other address or port count as foreign (and do
not answer anything). After the last datagram is answered or lost the socket is read for --linger
more seconds (default 0.1) to catch trailing duplicates. The whole run stops after --deadline
seconds (default 120): datagrams still outstanding then count as lost, unsent ones as not_sent.

--bind ADDR[:PORT] sets the source (IPv6 with a port: [ADDR]:PORT). The address family follows
--to. The receive buffer is sized for the window (--rcvbuf), so that large datagrams with a wide
window are not dropped by the client itself. Prints one JSON line:
  {"sent", "received", "lost", "mismatched", "duplicates", "late", "foreign", "not_sent",
   "send_errors", "elapsed_s", "rtt_median_us", "rtt_p99_us", "rtt_jitter_us", "rtt_min_us",
   "rtt_max_us", "local", "rcvbuf"}
"received" counts datagrams answered in time (so sent == received + lost); elapsed_s runs from the
first send to the last datagram answered or lost (linger excluded); rtt_p99_us is nearest-rank;
rtt_jitter_us is the mean absolute difference between the RTTs of consecutive answered datagrams
in sending order (RFC 3550 style, unsmoothed); the rtt fields are null without data.

Exit status: 0 when lost, mismatched, duplicates, late, foreign, not_sent and send_errors are all
0; 1 otherwise; 2 on a usage or socket setup error (message on stderr, no JSON).
"""

import argparse
import collections
import hashlib
import ipaddress
import json
import math
import random
import socket
import statistics
import sys
import time

MAX_UDP_PAYLOAD = {4: 65507, 6: 65527}
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RECV_SIZE = 65536


def die(message):
    sys.stderr.write("udp_check: error: %s\n" % message)
    sys.stderr.flush()
    sys.exit(2)


def parse_bind(text):
    """'ADDR', 'ADDR:PORT' (IPv4), '[ADDR]' or '[ADDR]:PORT' (IPv6) -> (ip_address, port)."""
    t = text.strip()
    port = "0"
    if t.startswith("["):
        host, sep, rest = t[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError("bad --bind %r (IPv6 with a port: [ADDR]:PORT)" % text)
        if rest:
            port = rest[1:]
    elif t.count(":") == 1:
        host, port = t.split(":")
    else:
        host = t
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError("bad --bind address %r" % host) from None
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError("bad --bind port %r" % port)
    return addr, int(port)


def ip_arg(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an IPv4 or IPv6 literal" % text) from None


def digest(payload):
    return hashlib.blake2b(payload, digest_size=16).digest()


def same_host(sockaddr_host, addr):
    try:
        return ipaddress.ip_address(sockaddr_host.split("%", 1)[0]) == addr
    except ValueError:
        return False


def set_rcvbuf(s, size):
    """Asks for a receive buffer of `size` bytes (SO_RCVBUFFORCE when privileged, else SO_RCVBUF,
    which net.core.rmem_max caps); returns what the kernel granted."""
    size = min(size, 1 << 30)
    for opt in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, size // 2)   # the kernel doubles the value
            break
        except OSError:
            continue
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def run(args):
    fam = socket.AF_INET6 if args.to.version == 6 else socket.AF_INET
    dest = (str(args.to), args.port)
    try:
        s = socket.socket(fam, socket.SOCK_DGRAM)
    except OSError as e:
        die("cannot create UDP socket: %s" % e)
    if args.bind is not None:
        baddr, bport = args.bind
        if baddr.version != args.to.version:
            die("--bind %s is not of the same address family as --to %s" % (baddr, args.to))
        try:
            s.bind((str(baddr), bport))
        except OSError as e:
            die("cannot bind to %s port %d: %s" % (baddr, bport, e))
    rcvbuf = set_rcvbuf(s, args.rcvbuf if args.rcvbuf else
                        max(2 * args.window * (args.max + 512), 256 * 1024))
    try:
        # Fix the source now (an unbound socket gets its port at the first sendto).
        if args.bind is None:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
        local = s.getsockname()
    except OSError as e:
        die("cannot bind: %s" % e)

    rng = random.Random(args.seed)
    timeout_ns = int(args.timeout * 1e9)
    start_ns = time.perf_counter_ns()
    deadline_ns = start_ns + int(args.deadline * 1e9)

    pending = {}                                  # seq -> (payload, send_ns)
    by_payload = collections.defaultdict(collections.deque)   # payload -> seqs, oldest first
    order = collections.deque()                   # seqs in sending order (lazily cleaned)
    answered = collections.Counter()              # digest -> answered datagrams with that payload
    expired = collections.Counter()               # digest -> lost datagrams with that payload
    rtts = {}                                     # seq -> rtt ns
    c = dict(sent=0, received=0, lost=0, mismatched=0, duplicates=0, late=0, foreign=0,
             not_sent=0, send_errors=0)
    next_seq = 0
    last_event_ns = start_ns

    def expire(now_ns, force=False):
        nonlocal last_event_ns
        while order:
            seq = order[0]
            if seq not in pending:
                order.popleft()
                continue
            payload, t_ns = pending[seq]
            if not force and t_ns + timeout_ns > now_ns:
                return t_ns + timeout_ns
            order.popleft()
            del pending[seq]
            q = by_payload[payload]
            q.remove(seq)
            if not q:
                del by_payload[payload]
            expired[digest(payload)] += 1
            c["lost"] += 1
            last_event_ns = min(now_ns, t_ns + timeout_ns) if not force else now_ns
        return None

    def handle(data, peer, now_ns):
        nonlocal last_event_ns
        if not (same_host(peer[0], args.to) and peer[1] == args.port):
            c["foreign"] += 1
            return
        q = by_payload.get(data)
        if q:
            seq = q.popleft()
            if not q:
                del by_payload[data]
            _, t_ns = pending.pop(seq)
            rtts[seq] = now_ns - t_ns
            answered[digest(data)] += 1
            c["received"] += 1
            last_event_ns = now_ns
            return
        d = digest(data)
        if answered[d]:
            c["duplicates"] += 1
        elif expired[d]:
            c["late"] += 1
        else:
            c["mismatched"] += 1

    def receive(wait_ns):
        """Waits up to wait_ns for one datagram; handles it. False when nothing came."""
        s.settimeout(max(wait_ns, 0) / 1e9)
        try:
            data, peer = s.recvfrom(RECV_SIZE)
        except socket.timeout:
            return False
        except OSError:
            return False   # an ICMP error report; the datagram concerned will time out
        handle(data, peer, time.perf_counter_ns())
        return True

    # Every pass either sends, receives, expires a datagram or waits until the next expiry, and
    # the loop ends at the deadline at the latest.
    while True:
        now = time.perf_counter_ns()
        if now >= deadline_ns:
            break
        next_expiry = expire(now)
        while len(pending) < args.window and next_seq < args.count:
            size = rng.randint(args.min, args.max)
            payload = rng.randbytes(size)
            seq = next_seq
            next_seq += 1
            t_ns = time.perf_counter_ns()
            try:
                s.settimeout(max(min(args.timeout, (deadline_ns - t_ns) / 1e9), 0.001))
                s.sendto(payload, dest)
            except OSError:
                c["send_errors"] += 1
                continue
            c["sent"] += 1
            pending[seq] = (payload, t_ns)
            by_payload[payload].append(seq)
            order.append(seq)
            if next_expiry is None:
                next_expiry = t_ns + timeout_ns
        if not pending and next_seq >= args.count:
            break
        now = time.perf_counter_ns()
        until = min(next_expiry if next_expiry is not None else deadline_ns, deadline_ns)
        receive(until - now)

    end_ns = time.perf_counter_ns()
    c["not_sent"] = args.count - next_seq
    if pending or c["not_sent"]:                  # stopped by the deadline
        expire(end_ns, force=True)
        elapsed_ns = end_ns - start_ns
    else:
        elapsed_ns = max(last_event_ns, start_ns) - start_ns

    linger_end = min(time.perf_counter_ns() + int(args.linger * 1e9), deadline_ns)
    for _ in range(100000):                       # bounded by count and by linger_end
        left = linger_end - time.perf_counter_ns()
        if left <= 0 or not receive(left):
            break
    s.close()

    ordered = [rtts[k] / 1000.0 for k in sorted(rtts)]
    srt = sorted(ordered)

    def r(x):
        return None if x is None else round(x, 1)

    result = dict(c)
    result.update({
        "elapsed_s": round(elapsed_ns / 1e9, 6),
        "rtt_median_us": r(statistics.median(srt)) if srt else None,
        "rtt_p99_us": r(srt[max(math.ceil(0.99 * len(srt)) - 1, 0)]) if srt else None,
        "rtt_jitter_us": r(sum(abs(b - a) for a, b in zip(ordered, ordered[1:])) / (len(ordered) - 1))
        if len(ordered) >= 2 else None,
        "rtt_min_us": r(srt[0]) if srt else None,
        "rtt_max_us": r(srt[-1]) if srt else None,
        "local": ("[%s]:%d" if fam == socket.AF_INET6 else "%s:%d") % (local[0], local[1]),
        "rcvbuf": rcvbuf,
    })
    # Key order: the ones named in the test plan first.
    keys = ["sent", "received", "lost", "mismatched", "duplicates", "elapsed_s", "rtt_median_us",
            "rtt_p99_us", "rtt_jitter_us"]
    out = {k: result[k] for k in keys}
    out.update({k: v for k, v in result.items() if k not in out})
    print(json.dumps(out), flush=True)
    bad = ("lost", "mismatched", "duplicates", "late", "foreign", "not_sent", "send_errors")
    return 0 if all(c[k] == 0 for k in bad) else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--to", type=ip_arg, required=True, metavar="ADDR", help="echo server address")
    p.add_argument("--port", type=int, required=True, metavar="P", help="echo server port")
    p.add_argument("--count", type=int, default=1000, metavar="N", help="datagrams to send (default 1000)")
    p.add_argument("--min", type=int, default=1, metavar="BYTES", help="smallest payload (default 1)")
    p.add_argument("--max", type=int, default=1400, metavar="BYTES", help="largest payload (default 1400)")
    p.add_argument("--window", type=int, default=1, metavar="W",
                   help="most datagrams unanswered at once (default 1: ping-pong)")
    p.add_argument("--timeout", type=float, default=1.0, metavar="SEC",
                   help="reply wait per datagram before it counts as lost (default 1.0)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="PRNG seed for sizes and bytes (default 1)")
    p.add_argument("--bind", type=parse_bind, default=None, metavar="ADDR[:PORT]",
                   help="source address (and port); IPv6 with a port as [ADDR]:PORT")
    p.add_argument("--deadline", type=float, default=120.0, metavar="SEC",
                   help="stop the whole run after SEC seconds (default 120)")
    p.add_argument("--rcvbuf", type=int, default=0, metavar="BYTES",
                   help="socket receive buffer (default: room for twice the window of largest "
                        "datagrams, at least 256 KiB; SO_RCVBUFFORCE when allowed)")
    p.add_argument("--linger", type=float, default=0.1, metavar="SEC",
                   help="keep reading SEC seconds after the end for trailing duplicates (default 0.1)")
    args = p.parse_args()
    if not 1 <= args.port <= 65535:
        p.error("--port must be in 1..65535")
    if args.count < 0:
        p.error("--count must be >= 0")
    limit = MAX_UDP_PAYLOAD[args.to.version]
    if not 0 <= args.min <= args.max <= limit:
        p.error("need 0 <= --min <= --max <= %d" % limit)
    if args.window < 1:
        p.error("--window must be >= 1")
    if not args.timeout > 0 or not args.deadline > 0 or args.linger < 0:
        p.error("--timeout and --deadline must be positive, --linger >= 0")
    return run(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
