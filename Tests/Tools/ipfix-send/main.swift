// ipfix-send HOST:PORT BASE_MS: sends a fixed set of NAT events for two subscribers through an
// IPFIXExporter (templates first), one millisecond apart from BASE_MS, and prints each record sent
// as `natEvent cpe pool start end step ports timeMs` (port blocks) or `natEvent ... timeMs` (the
// others), then `sent messages=N records=N errors=N`. Exits 1 on bad arguments or a failed send.
import ExportLog
import Glibc
import IPFIX
import PortSets
import Syscalls
import WireFormat

func fail(_ message: String) -> Never {
    print("ipfix-send: \(message)")
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let collector = SocketAddress(parsing: arguments[1]), let base = UInt64(arguments[2]) else {
    fail("usage: ipfix-send HOST:PORT BASE_MS")
}

func address(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fail("bad address \(text)") }
    return address
}

func v4(_ text: String) -> IPv4Address {
    guard case .v4(let value) = address(text) else { fail("not IPv4: \(text)") }
    return value
}

func v6(_ text: String) -> IPv6Address {
    guard case .v6(let value) = address(text) else { fail("not IPv6: \(text)") }
    return value
}

func text(_ cpe: CPEAddress) -> String {
    switch cpe {
    case .v4(let value): value.description
    case .v6(let value): value.description
    }
}

// Subscriber A: a CPE over IPv4, a = 6, k = 6, PSID 0x34 (63 blocks of 16 ports).
let cpeA = CPEAddress.v4(v4("192.0.2.10"))
let poolA = v4("203.0.113.5")
// Subscriber B: a CPE over IPv6, a = 0, k = 8, PSID 0x34 (one block of 256 ports).
let cpeB = CPEAddress.v6(v6("2001:db8::20"))
let poolB = v4("203.0.113.6")

let setA: PSIDPortSet
let setB: PSIDPortSet
do {
    setA = try PSIDPortSet(offset: 6, psidLength: 6, psid: 0x34)
    setB = try PSIDPortSet(offset: 0, psidLength: 8, psid: 0x34)
} catch {
    fail("\(error)")
}

/// The records to send and their printed forms, stamped one millisecond apart.
struct Fixture {
    var records: [NATEventRecord] = []
    var lines: [String] = []
    var time: UInt64

    mutating func blocks(_ cpe: CPEAddress, _ pool: IPv4Address, _ set: PSIDPortSet, allocated: Bool) {
        for block in PortBlock.blocks(of: set) {
            let event = PortBlockEvent(time: time, cpe: cpe, poolAddress: pool, block: block)
            let record: NATEventRecord = allocated ? .portBlockAllocated(event) : .portBlockReleased(event)
            records.append(record)
            lines.append("\(record.eventType.rawValue) \(text(cpe)) \(pool) \(block.start) \(block.end) \(block.stepSize) \(block.portCount) \(time)")
        }
        time += 1
    }

    mutating func session(_ created: Bool, _ protocolNumber: UInt8, _ cpe: CPEAddress, _ cpePort: UInt16, _ pool: IPv4Address,
                 _ poolPort: UInt16, _ destination: String, _ destinationPort: UInt16) {
        let event = SessionEvent(time: time, protocolNumber: protocolNumber, cpe: cpe, cpePort: cpePort, poolAddress: pool,
                                 poolPort: poolPort, destination: v4(destination), destinationPort: destinationPort)
        let record: NATEventRecord = created ? .sessionCreated(event) : .sessionDeleted(event)
        records.append(record)
        lines.append("\(record.eventType.rawValue) \(protocolNumber) \(text(cpe)) \(cpePort) \(pool) \(poolPort) \(destination) \(destinationPort) \(time)")
        time += 1
    }
}

var fixture = Fixture(time: base)

fixture.blocks(cpeA, poolA, setA, allocated: true)
fixture.blocks(cpeB, poolB, setB, allocated: true)
fixture.session(true, 6, cpeA, 40000, poolA, 1856, "198.51.100.7", 443)
fixture.session(false, 6, cpeA, 40000, poolA, 1856, "198.51.100.7", 443)
fixture.session(true, 17, cpeB, 5353, poolB, 13312, "198.51.100.8", 53)
let quota = QuotaExceededEvent(time: fixture.time, cpe: cpeB, poolAddress: poolB, protocolNumber: 17, maximumEntries: UInt32(setB.portCount))
fixture.records.append(.quotaExceeded(quota))
fixture.lines.append("13 \(text(cpeB)) \(poolB) 17 \(setB.portCount) \(fixture.time)")
fixture.time += 1
fixture.records.append(.portsExhausted(time: fixture.time, poolAddress: poolB, protocolNumber: 17))
fixture.lines.append("12 \(poolB) 17 \(fixture.time)")
fixture.time += 1
fixture.records.append(.addressesExhausted(time: fixture.time, poolID: 1))
fixture.lines.append("3 1 \(fixture.time)")
fixture.time += 1
fixture.blocks(cpeB, poolB, setB, allocated: false)
fixture.blocks(cpeA, poolA, setA, allocated: false)

let exporter: IPFIXExporter
do {
    exporter = try IPFIXExporter(collector: collector)
} catch {
    fail("\(error)")
}
exporter.start()
exporter.export(fixture.records)
let statistics = exporter.statistics
exporter.close()
for line in fixture.lines { print(line) }
print("sent messages=\(statistics.messagesSent) records=\(statistics.recordsSent) errors=\(statistics.sendErrors)")
exit(statistics.sendErrors == 0 ? 0 : 1)
