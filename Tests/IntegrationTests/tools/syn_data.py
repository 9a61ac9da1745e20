#!/usr/bin/env python3
"""Sends chosen bytes as MPTCP SYN data (TFO without cookie) and reports how the peer ended the
connection, for the concentrator's bad-input tests. Standard library only.

  syn_data.py send --to ADDR PORT --hex '1e0a...' [--then-hex HEX] [--wait S] [--bind ADDR] [--parallel N]
      prints one JSON line: {"outcome": "reset"|"eof"|"data"|"open", "received": n, "mptcp": 1|0|null}
      ("reset": the peer answered with an RST or MP_FASTCLOSE, seen as ECONNRESET or ECONNREFUSED;
      "seconds": from the SYN to that outcome); --bind: source address; --parallel N: N such
      connections at once (one thread each, started together), one line each; --tcp: plain TCP
  syn_data.py talk --to ADDR PORT --hex '1e0a...' --every S --for T
      the same SYN data, then one byte every S seconds for T seconds (reading what comes back),
      then shuts down writes and reads to EOF (at most 10 s more); prints
      {"outcome", "sent" (bytes after the SYN data), "received", "seconds"}
  syn_data.py flood --to ADDR PORT --count N --hold S
      opens N MPTCP connections that send nothing, holds them S seconds, prints
      {"opened": n, "refused": r (reset while connecting), "closed_by_peer": m}
"""
import argparse, json, resource, selectors, socket, sys, threading, time

IPPROTO_MPTCP = 262
TCP_FASTOPEN_NO_COOKIE = 34
TCP_IS_MPTCP = 43
print_lock = threading.Lock()


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def send(args):
    if args.parallel <= 1:
        send_one(args)
        return
    start = threading.Event()
    threads = [threading.Thread(target=lambda: (start.wait(), send_one(args))) for _ in range(args.parallel)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()


def send_one(args):
    data = bytes.fromhex(args.hex)
    s = socket.socket(family_of(args.to[0]), socket.SOCK_STREAM, socket.IPPROTO_TCP if args.tcp else IPPROTO_MPTCP)
    s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1)
    if args.bind:
        s.bind((args.bind, 0))
    s.settimeout(args.wait)
    outcome, received, mptcp = "open", 0, None
    started = time.monotonic()
    try:
        s.sendto(data, socket.MSG_FASTOPEN, (args.to[0], int(args.to[1])))
        if args.then_hex:
            time.sleep(0.2)
            s.send(bytes.fromhex(args.then_hex))
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                outcome = "eof"
                break
            received += len(chunk)
            outcome = "data"
            # Whether the connection runs MPTCP (0: the kernel fell back to plain TCP).
            mptcp = s.getsockopt(socket.IPPROTO_TCP, TCP_IS_MPTCP)
    except (ConnectionResetError, ConnectionRefusedError):
        # A reset that lands before the client's handshake completes reads as "refused".
        outcome = "reset"
    except socket.timeout:
        pass
    except OSError as error:
        outcome = "error: %s" % error
    finally:
        s.close()
    line = json.dumps({"outcome": outcome, "received": received, "seconds": round(time.monotonic() - started, 3),
                       "mptcp": mptcp})
    with print_lock:
        print(line, flush=True)


def talk(args):
    s = socket.socket(family_of(args.to[0]), socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1)
    outcome, sent, received = "open", 0, 0
    started = time.monotonic()

    def read_until(deadline):
        nonlocal received
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return False
            if not chunk:
                return True
            received += len(chunk)

    try:
        s.sendto(bytes.fromhex(args.hex), socket.MSG_FASTOPEN, (args.to[0], int(args.to[1])))
        end = started + args.duration
        while time.monotonic() < end:
            if read_until(min(time.monotonic() + args.every, end)):
                outcome = "eof_early"
                break
            if time.monotonic() < end:
                s.send(b"k")
                sent += 1
        else:
            s.shutdown(socket.SHUT_WR)
            outcome = "eof" if read_until(time.monotonic() + 10) else "open"
    except (ConnectionResetError, ConnectionRefusedError):
        outcome = "reset"
    except OSError as error:
        outcome = "error: %s" % error
    finally:
        s.close()
    print(json.dumps({"outcome": outcome, "sent": sent, "received": received,
                      "seconds": round(time.monotonic() - started, 3)}), flush=True)


def flood(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sockets, refused = [], 0
    for _ in range(args.count):
        s = socket.socket(family_of(args.to[0]), socket.SOCK_STREAM, IPPROTO_MPTCP)
        s.settimeout(5)
        try:
            s.connect((args.to[0], int(args.to[1])))
        except (ConnectionResetError, ConnectionRefusedError):
            # A peer that sheds load aborts at once; that still counts as an answer.
            refused += 1
            s.close()
            continue
        s.setblocking(False)
        sockets.append(s)
    closed = set()
    selector = selectors.DefaultSelector()
    for s in sockets:
        selector.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + args.hold
    while time.monotonic() < deadline and len(closed) < len(sockets):
        for key, _ in selector.select(0.2):
            s = key.fileobj
            try:
                if not s.recv(1):
                    closed.add(s)
            except OSError:
                closed.add(s)
            if s in closed:
                selector.unregister(s)
    for s in sockets:
        s.close()
    print(json.dumps({"opened": len(sockets), "refused": refused, "closed_by_peer": len(closed)}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("send")
    p.add_argument("--to", nargs=2, required=True, metavar=("ADDR", "PORT"))
    p.add_argument("--hex", required=True)
    p.add_argument("--then-hex", default="")
    p.add_argument("--wait", type=float, default=5)
    p.add_argument("--bind", default="", metavar="ADDR")
    p.add_argument("--parallel", type=int, default=1, metavar="N")
    p.add_argument("--tcp", action="store_true", help="plain TCP: a SYN without MP_CAPABLE")
    p = sub.add_parser("talk")
    p.add_argument("--to", nargs=2, required=True, metavar=("ADDR", "PORT"))
    p.add_argument("--hex", required=True)
    p.add_argument("--every", type=float, default=0.5)
    p.add_argument("--for", dest="duration", type=float, default=5)
    p = sub.add_parser("flood")
    p.add_argument("--to", nargs=2, required=True, metavar=("ADDR", "PORT"))
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--hold", type=float, default=10)
    args = parser.parse_args()
    {"send": send, "talk": talk, "flood": flood}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
