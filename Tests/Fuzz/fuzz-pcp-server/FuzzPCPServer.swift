// libFuzzer target for the PCP server's request handling (PCPRequestHandler over a MappingTable
// and a PortSetAllocator, a=6 k=6 on one pool address): an input is a sequence of requests, each
// `len16 || context || bytes`, handled in order by one server, so renewals, deletions, overlaps
// and quotas meet the state earlier requests made. The context byte picks the source (the
// subscriber's link A or B, another subscriber, an IPv6 CPE) and how many seconds pass before it
// (expiry runs then).
//
// Invariants (each a `require`, so a violation is a crash libFuzzer saves):
//  - every answer is a PCP response: 24...1100 bytes, a multiple of 4, version 2, R set, the
//    request's opcode, a defined result code, the server's Epoch Time; MAP answers of a request
//    that parsed parse as responses; nothing is answered to an input shorter than 2 bytes;
//  - every mapping lies in its subscriber's lease: its address, ports of the PSID set inside one
//    16-port block, no two mappings of a protocol share a port, at most the quota per subscriber,
//    and the allocator's mapped-port count equals the ports the mappings hold;
//  - a SUCCESS MAP with a lifetime names a mapping in force whose first port it carries.
//
// Fuzz run:     Tests/Fuzz/run-fuzzers.sh [RUNS] pcp-server
// Replay build: swift run fuzz-pcp-server Tests/Fuzz/corpus/pcp-server

import BindingState
import FuzzSupport
import PCP
import PCPServer
import PortSets
import TestSupport
import WireFormat

let quota = 3
let epochStart: Int64 = 1_000_000
let geometry = try! PSIDGeometry(offset: 6, psidLength: 6)
let customer = Subscriber(id: SubscriberID("cust-1"), links: [try! IPPrefix("198.51.100.2/32"), try! IPPrefix("198.51.100.6/32")],
                          delegated: [try! IPPrefix("192.168.1.0/24")])
let neighbour = Subscriber(id: SubscriberID("cust-2"), links: [try! IPPrefix("198.51.100.10/32")])
let ipv6CPE = Subscriber(id: SubscriberID("cust-3"), links: [try! IPPrefix("2001:db8:a::/64")], delegated: [try! IPPrefix("2001:db8:1::/48")])
let sources: [(IPAddress, Subscriber)] = [
    (IPAddress("198.51.100.2")!, customer), (IPAddress("198.51.100.6")!, customer),
    (IPAddress("198.51.100.10")!, neighbour), (IPAddress("2001:db8:a::2")!, ipv6CPE),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let allocator = try? PortSetAllocator(pool: [try! IPPrefix("192.0.2.3/32")], geometry: geometry),
          let table = try? MappingTable(allocator: allocator, maximumMappingsPerSubscriber: quota, shardCount: 2)
    else { fatalError("fixed configuration refused") }
    let configuration = PCPServerConfiguration(epochStartMilliseconds: epochStart, maximumFiltersPerMapping: 2,
                                               requestsPerSecond: 1000, requestBurst: 1000)
    let handler = PCPRequestHandler(table: table, configuration: configuration, random: SplitMix64(seed: fnv1a(input)))
    var now = epochStart
    var offset = 0
    while offset + 3 <= size {
        let length = min(Int(input[offset]) << 8 | Int(input[offset + 1]), size - offset - 3)
        let context = input[offset + 2]
        let message = [UInt8](input[(offset + 3)..<(offset + 3 + length)])
        offset += 3 + length
        now += Int64(context >> 2) * 16_000
        handler.expire(nowMilliseconds: now)
        let (source, subscriber) = sources[Int(context & 3)]
        let answers = handler.handle(message, context: PCPRequestContext(source: Endpoint(address: source, port: 5350),
                                                                         subscriber: subscriber, nowMilliseconds: now))
        check(answers, to: message, epoch: configuration.epochTime(nowMilliseconds: now), table: table)
        checkTable(table)
    }
    return 0
}

/// Each answer is a well-formed response to `message`; SUCCESS MAPs name mappings in force.
func check(_ answers: [[UInt8]], to message: [UInt8], epoch: UInt32, table: MappingTable) {
    if message.count < 2 { require(answers.isEmpty, "answered an input of \(message.count) bytes") }
    let parsed = try? PCPRequest.parse(message)
    for answer in answers {
        require((PCP.headerSize...PCP.maximumMessageSize).contains(answer.count) && answer.count % 4 == 0,
                "answer of \(answer.count) bytes")
        require(answer[0] == PCP.version && answer[1] & PCP.responseBit != 0, "not a version-2 response")
        require(answer[1] & ~PCP.responseBit == message[1] & ~PCP.responseBit, "opcode changed")
        require(PCPResultCode(rawValue: answer[3]) != nil, "undefined result code \(answer[3])")
        require(UInt32(answer[8]) << 24 | UInt32(answer[9]) << 16 | UInt32(answer[10]) << 8 | UInt32(answer[11]) == epoch,
                "epoch time")
        guard let parsed, parsed.opcode == .map else { continue }
        let response: PCPResponse
        do { response = try PCPResponse.parse(answer) } catch { fatalError("MAP answer does not parse: \(error)") }
        guard response.resultCode == .success, response.lifetime > 0, let data = response.payload.mapData else { continue }
        require(table.snapshot().contains { $0.externalPorts.lowerBound == data.externalPort && $0.transport.rawValue == data.protocolNumber },
                "SUCCESS names port \(data.externalPort) that no mapping holds")
        require((response.portSet?.size ?? 2) > 1, "PORT_SET of one port in a response")
    }
}

/// Mappings lie in their lease, inside one block, never share a port, and match the allocator's count.
func checkTable(_ table: MappingTable) {
    let all = table.snapshot()
    var held: [SubscriberID: Int] = [:]
    var ports: Set<Int> = []
    for mapping in all {
        let lease = table.allocator.currentLease(for: mapping.subscriber)
        require(lease?.address == mapping.externalAddress, "mapping outside its subscriber's lease address")
        let first = mapping.externalPorts.lowerBound, last = mapping.externalPorts.upperBound
        require(lease.map { $0.portSet.contains(port: first) && $0.portSet.contains(port: last) } ?? false, "port outside the set")
        require(first >> geometry.contiguousBits == last >> geometry.contiguousBits, "mapping spans two blocks")
        for port in mapping.externalPorts {
            require(ports.insert(Int(mapping.transport.rawValue) << 16 | Int(port)).inserted, "port \(port) mapped twice")
        }
        held[mapping.subscriber, default: 0] += mapping.externalPorts.count
    }
    for (subscriber, count) in held {
        require(table.mappings(of: subscriber).count <= quota, "quota exceeded")
        require(table.allocator.mappedPortCount(for: subscriber) == count, "allocator and table disagree on mapped ports")
    }
}

#if !FUZZING
/// In a normal build this target replays corpus files: `fuzz-pcp-server Tests/Fuzz/corpus/pcp-server`.
@main
enum FuzzPCPServerReplay {
    static func main() { replayCorpus(name: "fuzz-pcp-server", entry: fuzz) }
}
#endif
