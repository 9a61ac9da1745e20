#!/usr/bin/env python3
"""STUN-like UDP mapping check for plainmode integration tests (RFC 4787 mapping and filtering).
Python 3 standard library only, IPv4.

  udp_mapping.py reflect --listen ADDR:PORT [--listen ...] [--duration S]
  udp_mapping.py probe --socket ADDR:PORT [--socket ...] --ask I=ADDR:PORT [--ask ...]
                       [--timeout S] [--tries N] [--linger S] [--answer-strays]

reflect: every datagram "probe NONCE" received on a --listen socket is answered from that socket
with "seen IP:PORT NONCE", IP:PORT being the datagram's source as this host sees it (what a STUN
server reports as the mapped address). Prints "ready" once every socket is bound; runs for
--duration seconds (default 120), then prints {"answered": n}.

probe: binds one socket per --socket (in order, index 0, 1, ...). Each --ask I=REMOTE sends
"probe NONCE" from socket I to REMOTE and waits up to --timeout seconds (default 3) for the
matching "seen" answer from REMOTE, sending again up to --tries times (default 3). Then prints
one JSON line and flushes:
  {"seen": [{"socket": I, "local": "ADDR:PORT", "remote": "ADDR:PORT", "external": "IP:PORT"|null}, ...]}
Then reads every socket for --linger seconds (default 0) and prints a second JSON line listing
whatever else arrived (late answers included), with its source as the socket saw it:
  {"stray": [{"socket": I, "from": "IP:PORT", "payload": "text"}, ...]}
With --answer-strays each datagram read during the linger is answered from its socket with
"reply " + its payload, to its source (the remote then sees where the LAN socket's replies come from).
Every wait is bounded; the run takes at most tries x timeout per ask plus the linger.

Exit status: 0 when every ask was answered, 1 otherwise, 2 on a usage or socket setup error.
"""

import argparse
import json
import os
import select
import socket
import sys
import time


def endpoint(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError("expected ADDR:PORT, got %r" % text)
    try:
        return (str(host), int(port))
    except ValueError:
        raise argparse.ArgumentTypeError("bad port in %r" % text) from None


def ask(text):
    index, sep, remote = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected I=ADDR:PORT, got %r" % text)
    return (int(index), endpoint(remote))


def text_of(address):
    return "%s:%d" % (address[0], address[1])


def bind_all(endpoints):
    sockets = []
    for address in endpoints:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as error:
            sys.stderr.write("udp_mapping: cannot bind %s: %s\n" % (text_of(address), error))
            sys.exit(2)
        sockets.append(s)
    return sockets


def reflect(arguments):
    sockets = bind_all(arguments.listen)
    print("ready", flush=True)
    answered = 0
    deadline = time.monotonic() + arguments.duration
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select(sockets, [], [], min(left, 1.0))
        for s in readable:
            data, source = s.recvfrom(2048)
            words = data.split()
            if len(words) == 2 and words[0] == b"probe":
                s.sendto(b"seen " + text_of(source).encode() + b" " + words[1], source)
                answered += 1
    print(json.dumps({"answered": answered}), flush=True)


def received(sockets, seconds, until=lambda: False):
    """(socket, payload, source) of each datagram the sockets get within `seconds`, until `until()`."""
    deadline = time.monotonic() + seconds
    while not until():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        readable, _, _ = select.select(sockets, [], [], left)
        for r in readable:
            data, source = r.recvfrom(2048)
            yield r, data, source


def probe(arguments):
    sockets = bind_all(arguments.socket)
    stray = []
    seen = []
    for index, remote in arguments.ask:
        if not 0 <= index < len(sockets):
            sys.stderr.write("udp_mapping: --ask %d names no --socket\n" % index)
            sys.exit(2)
        s = sockets[index]
        nonce = os.urandom(6).hex().encode()
        external = None
        for _ in range(arguments.tries):
            s.sendto(b"probe " + nonce, remote)
            for r, data, source in received(sockets, arguments.timeout, until=lambda: external is not None):
                words = data.split()
                if r is s and source == remote and len(words) == 3 and words[0] == b"seen" and words[2] == nonce:
                    external = words[1].decode()
                else:
                    stray.append({"socket": sockets.index(r), "from": text_of(source),
                                  "payload": data.decode("utf-8", "replace")})
            if external is not None:
                break
        seen.append({"socket": index, "local": text_of(s.getsockname()), "remote": text_of(remote), "external": external})
    print(json.dumps({"seen": seen}), flush=True)
    for r, data, source in received(sockets, arguments.linger):
        stray.append({"socket": sockets.index(r), "from": text_of(source), "payload": data.decode("utf-8", "replace")})
        if arguments.answer_strays:
            r.sendto(b"reply " + data, source)
    print(json.dumps({"stray": stray}), flush=True)
    return 0 if all(item["external"] for item in seen) else 1


def main():
    parser = argparse.ArgumentParser(description="STUN-like UDP mapping check (see the module docstring)")
    commands = parser.add_subparsers(dest="command", required=True)
    r = commands.add_parser("reflect")
    r.add_argument("--listen", type=endpoint, action="append", required=True)
    r.add_argument("--duration", type=float, default=120)
    p = commands.add_parser("probe")
    p.add_argument("--socket", type=endpoint, action="append", required=True)
    p.add_argument("--ask", type=ask, action="append", required=True)
    p.add_argument("--timeout", type=float, default=3)
    p.add_argument("--tries", type=int, default=3)
    p.add_argument("--linger", type=float, default=0)
    p.add_argument("--answer-strays", action="store_true")
    arguments = parser.parse_args()
    if arguments.command == "reflect":
        reflect(arguments)
        return 0
    return probe(arguments)


if __name__ == "__main__":
    sys.exit(main())
