#!/usr/bin/env python3
"""A PCP client (RFC 6887 MAP and ANNOUNCE, RFC 7753 PORT_SET) for plainmode's integration
tests, written from the RFCs' figures and independent of plainmode's own PCP codec.
Python 3 standard library only.

  pcp_client.py selftest
      Encodes the RFC 7753 section 5.1 request and decodes its response, and compares both with
      the bytes of FACTS.md section 5; prints {"selftest": "ok"} or the first difference (exit 1).
  pcp_client.py map --server ADDR [--port 5351] --bind ADDR [--client ADDR] [--protocol 6|17|N]
                [--internal-port P] [--external-port P] [--external-address ADDR] [--lifetime S]
                [--nonce HEX24] [--port-set N] [--parity] [--third-party ADDR] [--prefer-failure]
                [--filter ADDR/LEN[:PORT]]... [--wait S]
      Sends one MAP request from --bind (the PCP Client's IP Address is --client, default
      --bind) and prints one JSON line per response received within --wait seconds (default 1):
        {"result": CODE, "result_name": NAME, "lifetime": S, "epoch": S, "opcode": N,
         "nonce": HEX24, "protocol": N, "internal_port": P, "external_port": P,
         "external_address": ADDR, "port_set": {"size", "first_internal_port", "parity"} | null}
      and, when nothing came back, {"result": null}.
  pcp_client.py announce --server ADDR --bind ADDR [--wait S]
      Sends an ANNOUNCE request; prints the responses as for map.
  pcp_client.py cases --server ADDR --bind ADDR [--other ADDR]
      Sends each malformed request of RFC 6887 section 8.3 / 7.3 / 13 and RFC 7753 section 4.2
      (FACTS.md section 5) and prints one line per case: {"case": NAME, "result": CODE | null}
      (null: no answer, which the RFC asks for some). --other is an address that is not --bind
      (for the ADDRESS_MISMATCH case).
  pcp_client.py listen --bind ADDR --duration S
      Listens on ADDR:5350 (the client port, RFC 6887 section 19.1) and prints each message
      received as for map (unsolicited ANNOUNCEs).
"""

import argparse
import ipaddress
import json
import socket
import struct
import sys
import time

RESULT_NAMES = ["SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST", "UNSUPP_OPCODE",
                "UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE", "NO_RESOURCES", "UNSUPP_PROTOCOL",
                "USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL", "ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS"]
OPCODE_ANNOUNCE, OPCODE_MAP, OPCODE_PEER = 0, 1, 2
OPTION_THIRD_PARTY, OPTION_PREFER_FAILURE, OPTION_FILTER, OPTION_PORT_SET = 1, 2, 3, 130
FACTS_REQUEST = bytes.fromhex(
    "02 01 00 00 00 00 1C 20 00 00 00 00 00 00 00 00 00 00 FF FF C0 00 02 64"
    "01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 00 00 00 00 00 00"
    "00 00 00 00 00 00 FF FF 00 00 00 00 82 00 00 05 00 64 C3 50 00 00 00 00".replace(" ", ""))
FACTS_RESPONSE = bytes.fromhex(
    "02 81 00 00 00 00 1C 20 00 00 0E 10 00 00 00 00 00 00 00 00 00 00 00 00"
    "01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 90 C0 00 00 00 00"
    "00 00 00 00 00 00 FF FF C0 00 02 03 82 00 00 05 00 20 C3 50 00 00 00 00".replace(" ", ""))


def pcp_address(text):
    """16 bytes: IPv6 as is, IPv4 as IPv4-mapped (RFC 6887 section 5)."""
    address = ipaddress.ip_address(text)
    if address.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + address.packed
    return address.packed


def text_address(raw):
    address = ipaddress.IPv6Address(raw)
    return str(address.ipv4_mapped) if address.ipv4_mapped else str(address)


def option(code, data=b""):
    """RFC 6887 section 7.3: code, reserved, length (unpadded), data padded to 4 bytes."""
    return struct.pack("!BBH", code, 0, len(data)) + data + b"\x00" * (-len(data) % 4)


def header(opcode, lifetime, client):
    """RFC 6887 section 7.1: version 2, R=0 and opcode, reserved, lifetime, client address."""
    return struct.pack("!BBHI", 2, opcode, 0, lifetime) + pcp_address(client)


def map_data(nonce, protocol, internal_port, external_port, external_address):
    """RFC 6887 section 11.1: nonce (96 bits), protocol, 24 reserved bits, ports, address."""
    return nonce + struct.pack("!B3xHH", protocol, internal_port, external_port) + pcp_address(external_address)


def port_set_option(size, first, parity):
    """RFC 7753 section 4: Port Set Size, First Internal Port, 7 reserved bits and P."""
    return option(OPTION_PORT_SET, struct.pack("!HHB", size, first, 1 if parity else 0))


def filter_option(text):
    """RFC 6887 section 13.3: reserved, prefix length, remote peer port, remote peer address."""
    if text.startswith("["):  # [ADDR/LEN]:PORT for IPv6
        address, _, port = text[1:].partition("]")
        port = port.lstrip(":")
    elif text.count(":") == 1:  # A.B.C.D/LEN:PORT
        address, _, port = text.partition(":")
    else:
        address, port = text, ""
    network, _, length = address.partition("/")
    length = int(length or (32 if ipaddress.ip_address(network).version == 4 else 128))
    if ipaddress.ip_address(network).version == 4:
        length += 96
    return option(OPTION_FILTER, struct.pack("!BBH", 0, length, int(port or 0)) + pcp_address(network))


def map_request(args, lifetime=None, options=None):
    nonce = bytes.fromhex(args.nonce)
    body = header(OPCODE_MAP, args.lifetime if lifetime is None else lifetime, args.client or args.bind)
    body += map_data(nonce, args.protocol, args.internal_port, args.external_port, args.external_address)
    if options is not None:
        return body + options
    if args.third_party:
        body += option(OPTION_THIRD_PARTY, pcp_address(args.third_party))
    if args.prefer_failure:
        body += option(OPTION_PREFER_FAILURE)
    for text in args.filter:
        body += filter_option(text)
    if args.port_set:
        body += port_set_option(args.port_set, args.internal_port, args.parity)
    return body


def decode(message):
    """A response (RFC 6887 section 7.2 header, 11.1 MAP data, options) as a dictionary."""
    if len(message) < 24 or message[0] != 2 or not message[1] & 0x80:
        return {"result": None, "error": "not a PCP response", "bytes": message.hex()}
    opcode = message[1] & 0x7F
    result = message[3]
    lifetime, epoch = struct.unpack_from("!II", message, 4)
    out = {"result": result, "result_name": RESULT_NAMES[result] if result < len(RESULT_NAMES) else "?",
           "lifetime": lifetime, "epoch": epoch, "opcode": opcode, "length": len(message)}
    offset = 24
    if opcode == OPCODE_MAP and len(message) >= 60:
        out["nonce"] = message[24:36].hex()
        out["protocol"] = message[36]
        out["internal_port"], out["external_port"] = struct.unpack_from("!HH", message, 40)
        out["external_address"] = text_address(message[44:60])
        offset = 60
    out["port_set"] = None
    out["options"] = []
    while offset + 4 <= len(message):
        code, _, length = struct.unpack_from("!BBH", message, offset)
        data = message[offset + 4:offset + 4 + length]
        out["options"].append(code)
        if code == OPTION_PORT_SET and length == 5:
            size, first, parity = struct.unpack_from("!HHB", data)
            out["port_set"] = {"size": size, "first_internal_port": first, "parity": bool(parity & 1)}
        offset += 4 + length + (-length % 4)
    return out


def exchange(args, message, wait=None):
    """Sends `message` from --bind to the server; the responses received within --wait seconds."""
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((args.bind, 0))
        sock.sendto(message, (args.server, args.port))
        deadline = time.monotonic() + (args.wait if wait is None else wait)
        responses = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return responses
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(2048)
            except socket.timeout:
                return responses
            responses.append(data)


def print_responses(responses):
    for response in responses:
        print(json.dumps(decode(response)), flush=True)
    if not responses:
        print(json.dumps({"result": None}), flush=True)


def selftest():
    class Args:
        nonce = "0102030405060708090a0b0c"
        lifetime, client, bind, protocol = 7200, "192.0.2.100", "192.0.2.100", 17
        internal_port, external_port, external_address = 50000, 0, "0.0.0.0"
        third_party, prefer_failure, filter, port_set, parity = None, False, [], 100, False
    encoded = map_request(Args)
    if encoded != FACTS_REQUEST:
        print(json.dumps({"selftest": "request differs", "ours": encoded.hex(), "facts": FACTS_REQUEST.hex()}))
        return 1
    decoded = decode(FACTS_RESPONSE)
    expected = {"result": 0, "lifetime": 7200, "epoch": 3600, "opcode": 1, "nonce": Args.nonce, "protocol": 17,
                "internal_port": 50000, "external_port": 37056, "external_address": "192.0.2.3",
                "port_set": {"size": 32, "first_internal_port": 50000, "parity": False}}
    for key, value in expected.items():
        if decoded.get(key) != value:
            print(json.dumps({"selftest": "response field differs", "field": key, "ours": decoded.get(key), "facts": value}))
            return 1
    print(json.dumps({"selftest": "ok"}))
    return 0


def malformed_cases(args):
    """(name, bytes) of each malformed request; expectations are the test's, not this tool's."""
    base = map_request(args, options=b"")
    ok_set = port_set_option(4, args.internal_port, False)
    # PEER (RFC 6887 s12.1): nonce, protocol, ports, suggested address, remote port, remote address: 56 bytes.
    peer = (header(OPCODE_PEER, 7200, args.bind) + base[24:36] + struct.pack("!B3xHH", 6, 8080, 0) + pcp_address("0.0.0.0")
            + struct.pack("!HH", 80, 0) + pcp_address("203.0.113.2"))
    return [
        ("one_byte", bytes([2])),
        ("response_bit", bytes([2, 0x81]) + base[2:]),
        ("version_1", bytes([1]) + base[1:]),
        ("shorter_than_header", base[:20]),
        ("not_multiple_of_four", base + b"\x00\x00"),
        ("longer_than_1100", base + option(200, b"\x00" * 1100)),
        ("truncated_map_data", base[:40]),
        ("peer_opcode", peer),
        ("opcode_99", bytes([2, 99]) + base[2:]),
        ("unknown_mandatory_option", base + option(100, b"\x00" * 4)),
        ("option_overruns", base + struct.pack("!BBH", OPTION_PORT_SET, 0, 40) + b"\x00" * 8),
        ("port_set_length_4", base + option(OPTION_PORT_SET, b"\x00\x04\x00\x50")),
        ("port_set_size_0", base + port_set_option(0, args.internal_port, False)),
        ("two_port_sets", base + ok_set + ok_set),
        ("port_set_with_prefer_failure", map_request(args, options=b"")[:42] + struct.pack("!H", 7000) + base[44:]
         + ok_set + option(OPTION_PREFER_FAILURE)),
        ("prefer_failure_without_suggestion", base + option(OPTION_PREFER_FAILURE)),
        ("prefer_failure_with_lifetime_0", map_request(args, lifetime=0, options=b"")[:42] + struct.pack("!H", 7000)
         + base[44:] + option(OPTION_PREFER_FAILURE)),
        ("filter_prefix_length_40_ipv4", base + option(OPTION_FILTER, struct.pack("!BBH", 0, 40, 0) + pcp_address("203.0.113.0"))),
        ("third_party_is_source", base + option(OPTION_THIRD_PARTY, pcp_address(args.bind))),
        ("third_party_not_subscriber", base + option(OPTION_THIRD_PARTY, pcp_address("203.0.113.77"))),
        ("client_address_mismatch", header(OPCODE_MAP, 7200, args.other) + base[24:]),
        ("protocol_132", base[:36] + bytes([132]) + base[37:]),
        ("all_ports_with_lifetime", base[:40] + b"\x00\x00" + base[42:]),
        ("announce_with_option", header(OPCODE_ANNOUNCE, 0, args.bind) + option(OPTION_PREFER_FAILURE)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["selftest", "map", "announce", "cases", "listen"])
    parser.add_argument("--server")
    parser.add_argument("--port", type=int, default=5351)
    parser.add_argument("--bind")
    parser.add_argument("--client")
    parser.add_argument("--other", default="198.51.100.99")
    parser.add_argument("--protocol", type=int, default=6)
    parser.add_argument("--internal-port", type=int, default=8080)
    parser.add_argument("--external-port", type=int, default=0)
    parser.add_argument("--external-address", default="0.0.0.0")
    parser.add_argument("--lifetime", type=int, default=7200)
    parser.add_argument("--nonce", default="0102030405060708090a0b0c")
    parser.add_argument("--port-set", type=int, default=0)
    parser.add_argument("--parity", action="store_true")
    parser.add_argument("--third-party")
    parser.add_argument("--prefer-failure", action="store_true")
    parser.add_argument("--filter", action="append", default=[])
    parser.add_argument("--wait", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    if args.command == "selftest":
        return selftest()
    if args.command == "listen":
        family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((args.bind, 5350))
            print(json.dumps({"listening": args.bind}), flush=True)
            deadline = time.monotonic() + args.duration
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data, source = sock.recvfrom(2048)
                except socket.timeout:
                    break
                record = decode(data)
                record["from"] = source[0]
                print(json.dumps(record), flush=True)
        return 0
    if args.command == "map":
        print_responses(exchange(args, map_request(args)))
    elif args.command == "announce":
        print_responses(exchange(args, header(OPCODE_ANNOUNCE, 0, args.client or args.bind)))
    else:
        for name, message in malformed_cases(args):
            responses = exchange(args, message, wait=0.5)
            first = decode(responses[0]) if responses else {"result": None}
            print(json.dumps({"case": name, "result": first["result"], "length": len(message),
                              "answers": len(responses)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
