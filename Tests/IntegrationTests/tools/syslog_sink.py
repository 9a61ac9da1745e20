#!/usr/bin/env python3
"""A syslog collector for the tests (RFC 5426: one RFC 5424 message per UDP datagram).

  syslog_sink.py --listen ADDR --port P [--lifetime S]
      prints READY, then one JSON line per message: {"raw": ..., "pri", "version", "time", "host",
      "app", "procid", "msgid", "sd_id", "params": {...}, "msg"}; a message that does not parse as
      RFC 5424 with one SD-ELEMENT prints {"raw": ..., "error": "..."}. Standard library only.
"""
import argparse, json, re, socket, sys, time

HEADER = re.compile(r"^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) ")
PARAM = re.compile(r'([^\s=\]"]+)="((?:[^"\\\]]|\\["\\\]])*)"')


def parse(text):
    match = HEADER.match(text)
    if not match:
        return {"raw": text, "error": "no RFC 5424 header"}
    pri, version, stamp, host, app, procid, msgid = match.groups()
    rest = text[match.end():]
    if not rest.startswith("["):
        return {"raw": text, "error": "no structured data"}
    # The SD-ELEMENT ends at the first ']' not escaped by a backslash.
    end, index = None, 1
    while index < len(rest):
        if rest[index] == "\\":
            index += 2
            continue
        if rest[index] == "]":
            end = index
            break
        index += 1
    if end is None:
        return {"raw": text, "error": "unterminated structured data"}
    element = rest[1:end]
    sd_id, _, body = element.partition(" ")
    params = {name: re.sub(r'\\(["\\\]])', r"\1", value) for name, value in PARAM.findall(body)}
    return {"raw": text, "pri": int(pri), "version": int(version), "time": stamp, "host": host, "app": app,
            "procid": procid, "msgid": msgid, "sd_id": sd_id, "params": params, "msg": rest[end + 1:].strip()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args()
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.listen, args.port))
    sock.settimeout(0.5)
    print("READY", flush=True)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65535)
        except socket.timeout:
            continue
        print(json.dumps(parse(data.decode("utf-8", "replace"))), flush=True)


if __name__ == "__main__":
    sys.exit(main())
