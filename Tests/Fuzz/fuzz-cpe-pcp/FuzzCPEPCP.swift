// libFuzzer target for the CPE's PCP side (CPEMappings: the LAN hosts' requests it proxies and the
// concentrator's answers, with one static forward): an input is a sequence of datagrams, each
// `len16 || context || bytes`; context bit 0 says from where (0: a LAN host, 1: the concentrator's
// server), bit 1 which LAN host, the rest how many seconds pass before it (timers run then).
//
// Invariants (each a `require`, so a violation is a crash libFuzzer saves):
//  - every answer to the LAN is a PCP response: 24...1100 bytes, a multiple of 4, version 2, R set,
//    a defined result code; nothing is answered to a LAN input shorter than 2 bytes;
//  - everything sent to the concentrator parses as a MAP request from the CPE's own address, with
//    no THIRD_PARTY (the CPE asks for itself);
//  - forwards are never to a port range past 65535 and go to a LAN host that asked (or the forward);
//    a range is unforwarded only after it was forwarded.
//
// Fuzz run:     Tests/Fuzz/run-fuzzers.sh [RUNS] cpe-pcp
// Replay build: swift run fuzz-cpe-pcp Tests/Fuzz/corpus/cpe-pcp

import FuzzSupport
import PCP
import PCPClient
import WireFormat

let cpe = IPv6Address(ipv4Mapped: IPv4Address(198, 51, 100, 2))
let lanHosts = [IPv6Address(ipv4Mapped: IPv4Address(192, 168, 1, 20)), IPv6Address(ipv4Mapped: IPv4Address(192, 168, 1, 21))]
let forwardHost = IPAddress.v4(IPv4Address(192, 168, 1, 30))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var now = ContinuousClock.Instant.now
    var mappings = CPEMappings(clientAddress: cpe, forwards: [
        .init(protocolNumber: 6, suggestedExternalPort: 8080, host: forwardHost, port: 80),
    ], maximumLANMappings: 4, seed: 7, seededNonces: true, now: now)
    var forwarded: Set<String> = []
    check(mappings.tick(now: now), forwarded: &forwarded)
    var offset = 0
    while offset + 3 <= size {
        let length = min(Int(input[offset]) << 8 | Int(input[offset + 1]), size - offset - 3)
        let context = input[offset + 2]
        let message = [UInt8](input[(offset + 3)..<(offset + 3 + length)])
        offset += 3 + length
        now += .seconds(Int64(context >> 2) * 8)
        check(mappings.tick(now: now), forwarded: &forwarded)
        if context & 1 == 0 {
            let outputs = mappings.lanRequest(message, from: lanHosts[Int(context >> 1 & 1)], port: 5350, now: now)
            if message.count < 2 {
                require(!outputs.contains { if case .toLAN = $0 { true } else { false } }, "answered \(message.count) bytes")
            }
            check(outputs, forwarded: &forwarded)
        } else {
            check(mappings.serverMessage(message, now: now), forwarded: &forwarded)
        }
    }
    return 0
}

func check(_ outputs: [CPEMappings.Output], forwarded: inout Set<String>) {
    for output in outputs {
        switch output {
        case .toLAN(let host, _, let answer):
            require(lanHosts.contains(host), "answer to a host that never asked")
            require((PCP.headerSize...PCP.maximumMessageSize).contains(answer.count) && answer.count % 4 == 0,
                    "LAN answer of \(answer.count) bytes")
            require(answer[0] == PCP.version && answer[1] & PCP.responseBit != 0, "not a version-2 response")
            require(PCPResultCode(rawValue: answer[3]) != nil, "undefined result code \(answer[3])")
        case .toServer(let bytes):
            let request: PCPRequest
            do { request = try PCPRequest.parse(bytes) } catch { fatalError("a request to the server does not parse: \(error)") }
            require(request.opcode == .map && request.clientAddress == cpe && request.thirdPartyAddress == nil,
                    "not the CPE's own MAP")
        case let .forward(protocolNumber, ports, host, firstPort):
            require(protocolNumber == 6 || protocolNumber == 17, "forward of protocol \(protocolNumber)")
            require(Int(firstPort) + ports.count - 1 <= 65535, "internal ports past 65535")
            require(host == forwardHost || lanHosts.contains { $0.ipv4Mapped.map(IPAddress.v4) == host }, "forward to a stranger")
            forwarded.insert("\(protocolNumber)/\(ports)")
        case let .unforward(protocolNumber, ports):
            require(forwarded.remove("\(protocolNumber)/\(ports)") != nil, "unforward of \(ports) never forwarded")
        case .note:
            break
        }
    }
}

#if !FUZZING
/// In a normal build this target replays corpus files: `fuzz-cpe-pcp Tests/Fuzz/corpus/cpe-pcp`.
@main
enum FuzzCPEPCPReplay {
    static func main() { replayCorpus(name: "fuzz-cpe-pcp", entry: fuzz) }
}
#endif
