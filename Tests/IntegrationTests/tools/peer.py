#!/usr/bin/env python3
"""Data peer for plainmode integration tests (python3 standard library only).

  peer.py serve --listen ADDR --port P [--send BYTES] [--mode sink|echo|rst|fin-after N]
                [--mptcp] [--fastopen QLEN] [--transparent] [--timeout S]
                [--connections N] [--lifetime S] [--congestion ALG]
  peer.py client --connect ADDR --port P --send BYTES [--connections N] [--parallel M]
                 [--mptcp] [--timeout S] [--bind ADDR] [--bind-port P] [--transparent]
                 [--late-fin] [--congestion ALG] [--mark BYTES]
  peer.py expected BYTES

Every byte either side sends comes from one deterministic stream: random.Random(7).randbytes(65536)
called repeatedly, concatenated, cut at the length wanted. `expected BYTES` prints the sha256 of
its first BYTES, so a test can check what arrived without keeping it.

BYTES accepts a plain integer or a suffix: k, M, G (powers of 1000) or Ki, Mi, Gi (powers of 1024).
Addresses are IPv6 when they contain ':'. In the JSON, endpoints are "ip:port" for IPv4 and
"[ip]:port" for IPv6.

serve: listens (IPv6 listeners are IPV6_V6ONLY), prints READY once listening, serves each
connection in its own thread and prints one JSON line per finished connection:
  {"peer", "local", "mode", "received", "received_sha256", "sent", "sent_sha256",
   "first_bytes_hex" (first recv, up to 64 bytes), "seconds", "mptcp", "error" (only on error)}
  and with --mark BYTES "mark_bytes" (received when BYTES had come in) and "mark_seconds" (from
  then to the end of the stream): the rate after set-up and slow start.
"local" is getsockname() of the accepted socket: with --transparent behind TPROXY it is the
original destination. "mptcp" is true when the connection is MPTCP (MPTCP_INFO readable), false
when it fell back to TCP or is plain TCP, "max_subflows" the most MPTCP subflows seen while reading.
Modes, per connection:
  sink         read to EOF; meanwhile send --send bytes of the stream, then shutdown(SHUT_WR)
               (with --send 0 the shutdown waits for EOF: the Linux kernel refuses an MPTCP
               MP_JOIN once the connection has left ESTABLISHED, so an early DATA_FIN would
               keep a peer's second subflow out)
  echo         send back every byte read; shutdown(SHUT_WR) at EOF
  rst          after the first bytes arrive, close with SO_LINGER {1,0} (TCP RST; MP_FASTCLOSE on
               MPTCP)
  fin-after N  read until N bytes have arrived, then send --send bytes and shutdown(SHUT_WR)
               (half-close while the peer is still sending); keep reading to EOF
--fastopen QLEN sets TCP_FASTOPEN=QLEN and TCP_FASTOPEN_NO_COOKIE=1 on the listener (SYN data is
accepted without a cookie; needs sysctl net.ipv4.tcp_fastopen with bit 0x2).

client: per connection connects, sends --send bytes of the stream while reading, shuts down
writes (with --late-fin: only after EOF; the server must close first), reads to EOF, prints {"local", "sent", "sent_sha256", "received", "received_sha256",
"seconds", "mptcp"[, "error"]} (with --mark also "mark_bytes", "mark_seconds"). Exit status 0 only if every connection finished without error.
"""

import argparse
import concurrent.futures
import hashlib
import json
import random
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_INFO = 1
TCP_FASTOPEN = 23
TCP_FASTOPEN_NO_COOKIE = 34
SOL_IP = 0
SOL_IPV6 = 41
IP_TRANSPARENT = 19
IPV6_TRANSPARENT = 75

SEED = 7
CHUNK = 65536

_print_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, sort_keys=False)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def parse_bytes(text):
    t = str(text).strip()
    units = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9,
             "ki": 2**10, "mi": 2**20, "gi": 2**30}
    num = t.rstrip("kKmMgGiIbB")
    suffix = t[len(num):].lower()
    if suffix.endswith("b"):
        suffix = suffix[:-1]
    if not num.isdigit() or suffix not in units:
        raise argparse.ArgumentTypeError("bad byte count %r" % text)
    return int(num) * units[suffix]


def stream_chunks(total):
    """The first `total` bytes of the deterministic stream, in chunks of at most CHUNK bytes."""
    rng = random.Random(SEED)
    left = total
    while left > 0:
        block = rng.randbytes(CHUNK)
        if left < CHUNK:
            block = block[:left]
        left -= len(block)
        yield block


def expected_sha256(total):
    h = hashlib.sha256()
    for c in stream_chunks(total):
        h.update(c)
    return h.hexdigest()


class StreamVerifier:
    """Compares received bytes with the deterministic stream as they arrive; `report()` names
    the first differing offset and the bytes around it (received and expected)."""

    def __init__(self):
        self.chunks = stream_chunks(1 << 62)
        self.expected = b""
        self.offset = 0          # stream offset of self.expected[0]
        self.first_difference = None
        self.tail = []           # what arrived from the first difference on (bounded)
        self.tail_bytes = 0

    def update(self, data):
        if self.first_difference is not None:
            if self.tail_bytes < (1 << 20):
                self.tail.append(data)
                self.tail_bytes += len(data)
            return
        while len(self.expected) < len(data):
            self.expected += next(self.chunks)
        want = self.expected[:len(data)]
        if data != want:
            i = next(k for k in range(len(data)) if data[k] != want[k])
            self.first_difference = {"offset": self.offset + i, "received_hex": data[i:i + 32].hex(),
                                     "expected_hex": want[i:i + 32].hex(),
                                     "received_is_expected_at": self.locate(data[i:i + 32])}
            self.tail = [data[i:]]
            self.tail_bytes = len(data) - i
        self.expected = self.expected[len(data):]
        self.offset += len(data)

    def stretches(self):
        """From the first difference on: up to 12 (received offset, stream offset, length) runs."""
        if self.first_difference is None:
            return None
        got = b"".join(self.tail)
        base = self.first_difference["offset"]
        stream = b"".join(stream_chunks(1 << 20))
        runs, pos = [], 0
        while pos < len(got) and len(runs) < 12:
            at = stream.find(got[pos:pos + 32])
            if at < 0:
                runs.append([base + pos, None, None])
                break
            n = 0
            while pos + n < len(got) and at + n < len(stream) and got[pos + n] == stream[at + n]:
                n += 1
            runs.append([base + pos, at, n])
            pos += n
        return runs

    def locate(self, piece):
        """Where `piece` occurs in the first 1 MB of the stream (a shifted or repeated stretch), or None."""
        if len(piece) < 8:
            return None
        stream = b"".join(stream_chunks(1 << 20))
        at = stream.find(piece)
        return None if at < 0 else at


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def fmt(sockaddr):
    if sockaddr is None:
        return None
    host, port = sockaddr[0], sockaddr[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def set_transparent(sock, fam):
    if fam == socket.AF_INET6:
        sock.setsockopt(SOL_IPV6, IPV6_TRANSPARENT, 1)
    else:
        sock.setsockopt(SOL_IP, IP_TRANSPARENT, 1)


def set_congestion(sock, name):
    if name:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name.encode())


def mptcp_subflows(sock):
    """Number of subflows of an MPTCP connection (1 + additional), or None when not MPTCP
    (plain TCP socket, or an MPTCP socket that fell back to TCP)."""
    try:
        info = sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 64)
    except OSError:
        return None
    if len(info) < 1:
        return None
    return 1 + info[0]  # struct mptcp_info: __u8 mptcpi_subflows (additional subflows)


class Sender(threading.Thread):
    """Sends `total` bytes of the stream, then shuts down writes (if `fin`)."""

    def __init__(self, sock, total, fin=True):
        super().__init__(daemon=True)
        self.sock, self.total, self.fin = sock, total, fin
        self.sent = 0
        self.sha = hashlib.sha256()
        self.error = None

    def run(self):
        try:
            for c in stream_chunks(self.total):
                self.sock.sendall(c)
                self.sha.update(c)
                self.sent += len(c)
            if self.fin:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.error = "send: %s" % e


# ---------------------------------------------------------------- serve

def receive_chunks(sock, deadline, timeout_text):
    """Yields what `sock` receives until end of stream; raises TimeoutError at `deadline`."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(timeout_text)
        sock.settimeout(min(left, 5.0))
        try:
            data = sock.recv(262144)
        except socket.timeout:
            continue
        if not data:
            return
        yield data


def handle(conn, peer, args):
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    rec = {"peer": fmt(peer), "local": None, "mode": args.mode, "received": 0,
           "received_sha256": None, "sent": 0, "sent_sha256": None,
           "first_bytes_hex": "", "seconds": None, "mptcp": None}
    try:
        rec["local"] = fmt(conn.getsockname())
    except OSError:
        pass
    rh = hashlib.sha256()
    sh = hashlib.sha256()
    verifier = StreamVerifier() if args.verify else None
    sender = None
    sent_echo = 0
    max_sf = mptcp_subflows(conn) if args.mptcp else None
    rec["mptcp"] = max_sf is not None
    error = None
    nrecv = 0
    marked_at = None
    receive_ended = None
    try:
        if args.mode == "sink" and args.send > 0:
            sender = Sender(conn, args.send)
            sender.start()
        for data in receive_chunks(conn, deadline, "connection timeout (%gs)" % args.timeout):
            if rec["received"] == 0:
                rec["first_bytes_hex"] = data[:64].hex()
            rec["received"] += len(data)
            if args.mark and marked_at is None and rec["received"] >= args.mark:
                marked_at = time.monotonic()
                rec["mark_bytes"] = rec["received"]
            rh.update(data)
            if verifier:
                verifier.update(data)
            nrecv += 1
            if args.mptcp and nrecv % 64 == 1:
                sf = mptcp_subflows(conn)
                if sf is not None and (max_sf is None or sf > max_sf):
                    max_sf = sf
            if args.mode == "echo":
                conn.settimeout(max(deadline - time.monotonic(), 0.001))
                conn.sendall(data)
                sh.update(data)
                sent_echo += len(data)
            elif args.mode == "rst":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                conn = None
                break
            elif args.mode == "fin-after" and sender is None and rec["received"] >= args.fin_after:
                sender = Sender(conn, args.send)
                sender.start()
        receive_ended = time.monotonic()
        if args.mptcp and conn is not None:
            sf = mptcp_subflows(conn)
            if sf is not None and (max_sf is None or sf > max_sf):
                max_sf = sf
        if conn is not None and (args.mode == "echo" or (args.mode == "sink" and args.send == 0)):
            conn.shutdown(socket.SHUT_WR)
        if args.mode == "fin-after" and sender is None and conn is not None:
            # EOF before N bytes: still send and half-close, so the peer gets its data.
            sender = Sender(conn, args.send)
            sender.start()
        if sender is not None:
            sender.join(max(deadline - time.monotonic(), 0.001))
            if sender.is_alive():
                raise TimeoutError("send did not finish within %gs" % args.timeout)
            if sender.error:
                error = sender.error
    except (OSError, TimeoutError) as e:
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
    if sender is not None:
        rec["sent"], rec["sent_sha256"] = sender.sent, sender.sha.hexdigest()
    elif args.mode == "echo":
        rec["sent"], rec["sent_sha256"] = sent_echo, sh.hexdigest()
    else:
        rec["sent_sha256"] = hashlib.sha256().hexdigest()
    rec["received_sha256"] = rh.hexdigest()
    rec["seconds"] = round(time.monotonic() - t0, 4)
    if marked_at is not None and receive_ended is not None:
        rec["mark_seconds"] = round(receive_ended - marked_at, 4)
    if args.mptcp:
        rec["max_subflows"] = max_sf
    if verifier and verifier.first_difference:
        rec["first_difference"] = dict(verifier.first_difference, stretches=verifier.stretches())
    if error:
        rec["error"] = error
    emit(rec)


def serve(args):
    fam = family_of(args.listen)
    ls = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP if args.mptcp else 0)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if args.transparent:
        set_transparent(ls, fam)
    set_congestion(ls, args.congestion)
    ls.bind((args.listen, args.port))
    if args.fastopen:
        ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, args.fastopen)
        ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1)
    ls.listen(max(128, args.fastopen or 0))
    accept_loop(ls, args, handle)
    return 0


def accept_loop(ls, args, handle):
    """Prints READY, serves each connection of the listening socket `ls` with handle(conn, peer,
    args) in its own thread until --connections or --lifetime, waits (bounded by --timeout) for
    them, then closes `ls`. The listener stays open until the connections are done: an MPTCP
    MP_JOIN (extra subflow) is answered by the listening socket, so closing it early would refuse
    the second subflow."""
    ls.settimeout(0.5)
    print("READY", flush=True)
    end = time.monotonic() + args.lifetime
    threads = []
    accepted = 0
    while time.monotonic() < end and (args.connections == 0 or accepted < args.connections):
        try:
            conn, peer = ls.accept()
        except socket.timeout:
            continue
        accepted += 1
        t = threading.Thread(target=handle, args=(conn, peer, args), daemon=True)
        t.start()
        threads.append(t)
        threads = [x for x in threads if x.is_alive()]
    for t in threads:
        t.join(args.timeout + 1)
    ls.close()


# ---------------------------------------------------------------- client

def one_client(args):
    fam = family_of(args.connect)
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP if args.mptcp else 0)
    rec = {"local": None, "sent": 0, "sent_sha256": None, "received": 0,
           "received_sha256": None, "seconds": None, "mptcp": None}
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    rh = hashlib.sha256()
    sender = None
    error = None
    try:
        if args.transparent:
            set_transparent(s, fam)
        set_congestion(s, args.congestion)
        if args.bind or args.bind_port:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((args.bind or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), args.bind_port))
        s.settimeout(args.timeout)
        s.connect((args.connect, args.port))
        rec["local"] = fmt(s.getsockname())
        sender = Sender(s, args.send, fin=not args.late_fin)
        sender.start()
        marked_at = None
        for data in receive_chunks(s, deadline, "connection timeout (%gs)" % args.timeout):
            rec["received"] += len(data)
            rh.update(data)
            if args.mark and marked_at is None and rec["received"] >= args.mark:
                marked_at = time.monotonic()
                rec["mark_bytes"] = rec["received"]
        if marked_at is not None:
            rec["mark_seconds"] = round(time.monotonic() - marked_at, 4)
        if args.late_fin:
            sender.join(max(deadline - time.monotonic(), 0.001))
            if not sender.is_alive() and sender.error is None:
                s.shutdown(socket.SHUT_WR)
        if args.mptcp:
            rec["mptcp"] = mptcp_subflows(s) is not None
        sender.join(max(deadline - time.monotonic(), 0.001))
        if sender.is_alive():
            raise TimeoutError("send did not finish within %gs" % args.timeout)
        if sender.error:
            error = sender.error
    except (OSError, TimeoutError) as e:
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
    rec["seconds"] = round(time.monotonic() - t0, 4)
    if sender is not None:
        rec["sent"], rec["sent_sha256"] = sender.sent, sender.sha.hexdigest()
    rec["received_sha256"] = rh.hexdigest()
    if error:
        rec["error"] = error
    emit(rec)
    return error is None


def client(args):
    ok = True
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        futures = [pool.submit(one_client, args) for _ in range(args.connections)]
        for f in futures:
            try:
                ok = f.result() and ok
            except Exception as e:  # noqa: BLE001 - report anything and fail
                emit({"error": "%s: %s" % (type(e).__name__, e)})
                ok = False
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="accept connections and sink/echo/reset them")
    s.add_argument("--listen", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--send", type=parse_bytes, default=0, help="bytes to send per connection (sink, fin-after)")
    s.add_argument("--mode", default="sink", choices=["sink", "echo", "rst", "fin-after"])
    s.add_argument("--fin-after", dest="fin_after", type=parse_bytes, default=None,
                   help="N for --mode fin-after (also accepted as '--mode fin-after N')")
    s.add_argument("--mptcp", action="store_true")
    s.add_argument("--fastopen", type=int, default=0, metavar="QLEN")
    s.add_argument("--transparent", action="store_true", help="IP_TRANSPARENT / IPV6_TRANSPARENT listener")
    s.add_argument("--timeout", type=float, default=120.0, help="seconds per connection (default 120)")
    s.add_argument("--congestion", default=None, metavar="ALG", help="TCP_CONGESTION (e.g. cubic) for accepted sockets")
    s.add_argument("--connections", type=int, default=0, help="exit after accepting N (0: no limit)")
    s.add_argument("--mark", type=parse_bytes, default=0, metavar="BYTES",
                   help="also report mark_bytes / mark_seconds: the bytes received when BYTES had come in, "
                        "and the time from then to the end (a rate without set-up and slow start)")
    s.add_argument("--lifetime", type=float, default=3600.0, help="stop accepting after S seconds")
    s.add_argument("--verify", action="store_true",
                   help="compare what arrives with the stream; report first_difference (offset, bytes) if it differs")

    c = sub.add_parser("client", help="connect, send, read to EOF")
    c.add_argument("--connect", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--send", type=parse_bytes, required=True)
    c.add_argument("--connections", type=int, default=1)
    c.add_argument("--parallel", type=int, default=1)
    c.add_argument("--mptcp", action="store_true")
    c.add_argument("--timeout", type=float, default=120.0)
    c.add_argument("--bind", default=None, help="local address (non-local needs --transparent)")
    c.add_argument("--bind-port", type=int, default=0)
    c.add_argument("--transparent", action="store_true")
    c.add_argument("--congestion", default=None, metavar="ALG", help="TCP_CONGESTION (e.g. cubic)")
    c.add_argument("--mark", type=parse_bytes, default=0, metavar="BYTES",
                   help="also report mark_bytes / mark_seconds as serve --mark does, for what this client receives")
    c.add_argument("--late-fin", action="store_true",
                   help="shut down writes only after reading EOF (for downloads over MPTCP: a DATA_FIN "
                        "ends ESTABLISHED and the kernel then refuses further subflows)")

    e = sub.add_parser("expected", help="sha256 of the first BYTES of the stream")
    e.add_argument("bytes", type=parse_bytes)

    argv = list(sys.argv[1:] if argv is None else argv)
    # '--mode fin-after N' is the documented spelling: turn it into '--mode fin-after --fin-after N'.
    for i in range(len(argv) - 2):
        if argv[i] == "--mode" and argv[i + 1] == "fin-after" and not argv[i + 2].startswith("-"):
            argv[i + 2:i + 2] = ["--fin-after"]
            break
    args = p.parse_args(argv)
    if args.cmd == "serve":
        if args.mode == "fin-after":
            if args.fin_after is None:
                p.error("--mode fin-after needs N (e.g. --mode fin-after 1000)")
        return serve(args)
    if args.cmd == "client":
        return client(args)
    print(expected_sha256(args.bytes))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
