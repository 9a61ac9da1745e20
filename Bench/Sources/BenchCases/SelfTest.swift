// Differential check of the C baseline against the Swift code it stands in for: the benchmark
// inputs, then many randomly mutated inputs, must give the same result (the same error, or the
// same decoded fields and bytes) in both languages. This is what backs the claim that the C
// does the same validation work as the Swift, not less.

import CBaseline
import PlainMode
import WireFormat

public struct SelfTestReport: Sendable {
    public var checks = 0
    public var failures: [String] = []
    /// How many random inputs ended in each outcome ("pm: ok", "pm: forbiddenAddress", ...):
    /// shows the fuzzing reaches the accept path and every check.
    public var outcomes: [String: Int] = [:]
    public var passed: Bool { failures.isEmpty }

    mutating func count(_ codec: String, _ outcome: String) {
        outcomes["\(codec): \(outcome)", default: 0] += 1
    }

    mutating func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        checks += 1
        if !condition && failures.count < 50 { failures.append(message()) }
    }
}

/// Deterministic generator (SplitMix64), so a failure can be replayed by its seed.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
}

/// Runs the whole differential check; `rounds` random inputs per codec.
public func runSelfTest(seed: UInt64 = 0x5EED, rounds: Int = 50_000) -> SelfTestReport {
    var report = SelfTestReport()
    var rng = SplitMix64(state: seed)
    let fixture = BenchFixture()
    checkBenchmarkLoops(fixture, &report)
    checkPacketParse(fixture, rounds: rounds, &rng, &report)
    checkRewrites(fixture, rounds: rounds, &rng, &report)
    checkPMBlocks(fixture, rounds: rounds, &rng, &report)
    checkUDPDecoder(rounds: rounds / 10, &rng, &report)
    return report
}

// MARK: - The benchmark loops themselves

func checkBenchmarkLoops(_ fixture: BenchFixture, _ report: inout SelfTestReport) {
    for benchCase in BenchCase.allCases {
        for language in BenchLanguage.allCases {
            let failures = fixture.run(benchCase, language, iterations: 5)
            report.expect(failures == 0, "\(benchCase.rawValue)/\(language.rawValue): \(failures) failed operations")
        }
    }
    // One rewrite leaves both languages' packets identical and valid; two restore the original.
    for iterations in [1, 2, 7] {
        for benchCase in [BenchCase.checksumRewrite, .parseAndRewrite] {
            fixture.run(benchCase, .swift, iterations: iterations)
            fixture.run(benchCase, .c, iterations: iterations)
            let swiftBytes = Array(fixture.work(.swift)), cBytes = Array(fixture.work(.c))
            report.expect(swiftBytes == cBytes, "\(benchCase.rawValue) x\(iterations): packets differ\n swift \(hex(swiftBytes))\n c     \(hex(cBytes))")
            report.expect(packetChecksumsValid(fixture.work(.swift)), "\(benchCase.rawValue) x\(iterations): checksums invalid after rewrite")
            if iterations % 2 == 0 {
                report.expect(swiftBytes == Array(fixture.syn), "\(benchCase.rawValue) x\(iterations): original not restored")
            } else {
                report.expect(swiftBytes != Array(fixture.syn), "\(benchCase.rawValue) x\(iterations): packet not rewritten")
            }
        }
    }
}

func packetChecksumsValid(_ packet: UnsafeRawBufferPointer) -> Bool {
    guard let parsed = try? ParsedPacket.parse(packet) else { return false }
    return IPv4Header.hasValidChecksum(packet, headerLength: parsed.transportOffset) && TransportChecksum.isValid(packet, parsed)
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

// MARK: - Packet parse

func code<T: RawRepresentable>(_ value: T) -> Int32 where T.RawValue: BinaryInteger { Int32(value.rawValue) }

func layerCode(_ layer: PacketError.Layer) -> Int32 {
    switch layer {
    case .ipv4: code(CB_LAYER_IPV4)
    case .ipv6: code(CB_LAYER_IPV6)
    case .ipv6Extension: code(CB_LAYER_IPV6_EXT)
    case .tcp: code(CB_LAYER_TCP)
    case .udp: code(CB_LAYER_UDP)
    }
}

func packetErrorCode(_ error: PacketError) -> (Int32, Int32) {
    switch error {
    case .truncated(let layer, _, _): (code(CB_PKT_TRUNCATED), layerCode(layer))
    case .badVersion: (code(CB_PKT_BAD_VERSION), -1)
    case .badHeaderLength(let layer, _): (code(CB_PKT_BAD_HEADER_LENGTH), layerCode(layer))
    case .badTotalLength(let layer, _): (code(CB_PKT_BAD_TOTAL_LENGTH), layerCode(layer))
    default: (1000, -1)  // IPv6-only errors; the baseline has no IPv6 path
    }
}

func addressTriple(_ address: IPAddress) -> (UInt64, UInt64, UInt8) {
    switch address {
    case .v4(let a): (0, UInt64(a.value), 4)
    case .v6(let a): (a.high, a.low, 6)
    }
}

func same(_ address: IPAddress, _ c: cb_address) -> Bool {
    let (high, low, family) = addressTriple(address)
    return high == c.high && low == c.low && family == c.family
}

func differences(_ s: ParsedPacket, _ c: cb_parsed_packet) -> [String] {
    var out: [String] = []
    if !same(s.source, c.source) { out.append("source") }
    if !same(s.destination, c.destination) { out.append("destination") }
    if s.protocolNumber != c.protocol_number { out.append("protocol") }
    if s.transportOffset != Int(c.transport_offset) { out.append("transportOffset") }
    if s.packetLength != Int(c.packet_length) { out.append("packetLength") }
    if s.isFragment != c.is_fragment { out.append("isFragment") }
    switch s.transport {
    case .tcp(let t):
        let ct = c.transport.tcp
        if c.transport_kind != UInt8(CB_TRANSPORT_TCP.rawValue) { out.append("transport kind") }
        else if t.sourcePort != ct.source_port || t.destinationPort != ct.destination_port
            || t.sequenceNumber != ct.sequence_number || t.acknowledgmentNumber != ct.acknowledgment_number
            || t.headerLength != Int(ct.header_length) || t.flags.rawValue != ct.flags || t.window != ct.window
            || t.checksum != ct.checksum || t.urgentPointer != ct.urgent_pointer { out.append("tcp fields") }
    case .udp(let u):
        let cu = c.transport.udp
        if c.transport_kind != UInt8(CB_TRANSPORT_UDP.rawValue) { out.append("transport kind") }
        else if u.sourcePort != cu.source_port || u.destinationPort != cu.destination_port
            || u.totalLength != Int(cu.total_length) || u.checksum != cu.checksum { out.append("udp fields") }
    case .other:
        if c.transport_kind != UInt8(CB_TRANSPORT_OTHER.rawValue) { out.append("transport kind") }
    }
    return out
}

/// A 48-byte IPv4+UDP packet (20-byte payload) with a valid checksum, or a zero one.
func udpPacket(zeroChecksum: Bool) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 48)
    bytes.withUnsafeMutableBytes { buffer in
        IPv4Header.write(into: buffer, source: IPv4Address(192, 0, 2, 10), destination: IPv4Address(198, 51, 100, 20),
                         protocolNumber: IPProtocolNumber.udp, payloadLength: 28, identification: 0x1234)
        let segment = UnsafeMutableRawBufferPointer(rebasing: buffer[20...])
        UDPHeader.write(into: segment, sourcePort: 5353, destinationPort: 53, payloadLength: 20)
        for i in 0..<20 { segment[8 + i] = UInt8(i &* 13) }
        if !zeroChecksum, let parsed = try? ParsedPacket.parse(UnsafeRawBufferPointer(buffer)) {
            TransportChecksum.fill(buffer, parsed)
        }
    }
    return bytes
}

func mutatePacket(_ base: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var bytes = base
    for _ in 0..<rng.below(4) {
        switch rng.below(7) {
        case 0: bytes[rng.below(bytes.count)] = rng.byte()
        case 1: bytes[0] = rng.pick([0x40, 0x40, 0x40, 0x50, 0x00, 0xF0]) | UInt8(rng.below(16))
        case 2: bytes[2] = 0; bytes[3] = rng.chance(20) ? 0 : UInt8(rng.below(80))
        case 3: bytes[20 + 12] = UInt8(rng.below(16)) << 4  // TCP data offset (UDP: payload byte)
        case 4: bytes[6] = rng.pick([0x00, 0x40, 0x20, 0x00, rng.byte()]); bytes[7] = rng.chance(70) ? 0 : rng.byte()
        case 5: bytes[9] = rng.pick([6, 17, 1, 6, 17, rng.byte()])
        default: bytes[24] = 0; bytes[25] = rng.chance(30) ? 0 : UInt8(rng.below(40))  // UDP length
        }
    }
    if rng.chance(25) { bytes = Array(bytes.prefix(rng.below(bytes.count + 1))) }
    return bytes
}

func checkPacketParse(_ fixture: BenchFixture, rounds: Int, _ rng: inout SplitMix64, _ report: inout SelfTestReport) {
    let bases = [Array(fixture.syn), udpPacket(zeroChecksum: false), udpPacket(zeroChecksum: true)]
    for base in bases { comparePacketParse(base, &report) }
    for _ in 0..<rounds { comparePacketParse(mutatePacket(rng.pick(bases), &rng), &report) }
}

func comparePacketParse(_ bytes: [UInt8], _ report: inout SelfTestReport) {
    if let first = bytes.first, first >> 4 == 6 { return }  // IPv6: not in the baseline
    var parsed = cb_parsed_packet()
    var layer: Int32 = 0
    let cResult = withPaddedPointer(bytes) { cb_parse_packet($0, bytes.count, &parsed, &layer) }
    do {
        let swiftParsed = try ParsedPacket.parse(bytes)
        report.count("parse", "ok")
        report.expect(cResult == 0, "parse \(hex(bytes)): Swift accepts, C error \(cResult)")
        if cResult == 0 {
            let diff = differences(swiftParsed, parsed)
            report.expect(diff.isEmpty, "parse \(hex(bytes)): fields differ: \(diff)")
        }
    } catch {
        let (expectedCode, expectedLayer) = packetErrorCode(error)
        report.count("parse", ["ok", "truncated", "badVersion", "badHeaderLength", "badTotalLength"][min(Int(expectedCode), 4)])
        report.expect(cResult == expectedCode && layer == expectedLayer,
                      "parse \(hex(bytes)): Swift \(error), C error \(cResult) layer \(layer)")
    }
}

/// Calls `body` with a pointer to `bytes` that is valid even when `bytes` is empty.
func withPaddedPointer<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>) -> R) -> R {
    (bytes + [0xAA]).withUnsafeBufferPointer { body($0.baseAddress!) }
}

// MARK: - Rewrites (RFC 1624)

func checkRewrites(_ fixture: BenchFixture, rounds: Int, _ rng: inout SplitMix64, _ report: inout SelfTestReport) {
    let bases = [Array(fixture.syn), udpPacket(zeroChecksum: false), udpPacket(zeroChecksum: true)]
    for round in 0..<rounds {
        var swiftBytes = rng.pick(bases)
        let startsValid = !rng.chance(30)
        if !startsValid {
            // Arbitrary checksum fields, including the 0 / 0xFFFF edges of UDP.
            let transportChecksum = swiftBytes[9] == 6 ? 36 : 26
            let value: UInt16 = rng.pick([0, 0xFFFF, 0xFFFE, 1, UInt16(truncatingIfNeeded: rng.next())])
            swiftBytes[transportChecksum] = UInt8(value >> 8)
            swiftBytes[transportChecksum + 1] = UInt8(value & 0xFF)
            if rng.chance(50) { swiftBytes[10] = rng.byte(); swiftBytes[11] = rng.byte() }
        }
        var cBytes = swiftBytes
        var cParsed = cb_parsed_packet()
        var layer: Int32 = 0
        guard var swiftParsed = try? ParsedPacket.parse(swiftBytes),
              cb_parse_packet(cBytes, cBytes.count, &cParsed, &layer) == 0
        else { report.expect(false, "rewrite base does not parse"); return }
        for step in 0..<(1 + rng.below(4)) {
            let source = rng.chance(50)
            let endpoint: PacketEndpoint = source ? .source : .destination
            if rng.chance(50) {
                let address = IPv4Address(UInt32(truncatingIfNeeded: rng.next()))
                swiftBytes.withUnsafeMutableBytes { swiftParsed.rewriteIPv4Address(endpoint, to: address, in: $0) }
                cb_rewrite_ipv4_address(&cParsed, source, address.value, &cBytes)
            } else {
                let port = rng.pick([0, 0xFFFF, UInt16(truncatingIfNeeded: rng.next())])
                swiftBytes.withUnsafeMutableBytes { swiftParsed.rewritePort(endpoint, to: port, in: $0) }
                cb_rewrite_port(&cParsed, source, port, &cBytes)
            }
            report.expect(swiftBytes == cBytes, "rewrite round \(round) step \(step): bytes differ\n swift \(hex(swiftBytes))\n c     \(hex(cBytes))")
            let diff = differences(swiftParsed, cParsed)
            report.expect(diff.isEmpty, "rewrite round \(round) step \(step): parsed state differs: \(diff)")
        }
        if startsValid {
            let valid = swiftBytes.withUnsafeBytes { packetChecksumsValid($0) }
            report.expect(valid, "rewrite round \(round): checksums invalid after incremental updates: \(hex(swiftBytes))")
        }
    }
}

// MARK: - PM blocks

func pmErrorCode(_ error: PlainModeError) -> (Int32, Int32?) {
    switch error {
    case .badLength(let length): (code(CB_PM_BAD_LENGTH), Int32(length))
    case .unknownSubtype(let subtype): (code(CB_PM_UNKNOWN_SUBTYPE), Int32(subtype))
    case .unexpectedOptionKind(let kind): (code(CB_PM_UNEXPECTED_KIND), Int32(kind))
    case .duplicateSource: (code(CB_PM_DUPLICATE_SOURCE), nil)
    case .duplicateDestination: (code(CB_PM_DUPLICATE_DESTINATION), nil)
    case .forbiddenAddress(let kind, let direction):
        (code(CB_PM_FORBIDDEN_ADDRESS), forbiddenCode(kind) * 2 + (direction == .source ? 1 : 0))
    case .missingDestination: (code(CB_PM_MISSING_DESTINATION), nil)
    case .missingSource: (code(CB_PM_MISSING_SOURCE), nil)
    case .missingDestinationPort: (code(CB_PM_MISSING_DESTINATION_PORT), nil)
    case .zeroDestinationPort: (code(CB_PM_ZERO_DESTINATION_PORT), nil)
    case .protocolNotEnabled(let p): (code(CB_PM_PROTOCOL_NOT_ENABLED), Int32(p))
    case .protocolMismatch(let s, let d): (code(CB_PM_PROTOCOL_MISMATCH), Int32(s) << 8 | Int32(d))
    case .familyMismatch: (code(CB_PM_FAMILY_MISMATCH), nil)
    case .blockTooLong(let limit): (code(CB_PM_BLOCK_TOO_LONG), Int32(limit))
    case .truncated: (code(CB_PM_TRUNCATED), nil)
    }
}

func forbiddenCode(_ kind: ForbiddenAddressKind) -> Int32 {
    switch kind {
    case .multicast: 1
    case .broadcast: 2
    case .loopback: 3
    case .unspecified: 4
    }
}

func same(_ s: PlainModeOption?, _ c: cb_pm_option) -> Bool {
    guard let s else { return !c.present }
    return c.present && (s.direction == .source) == (c.is_source != 0) && s.protocolNumber == c.protocol_number
        && same(s.address, c.address) && (s.port != nil) == c.has_port && (s.port ?? 0) == c.port
        && s.subtype == c.subtype && s.flags == c.flags
}

struct PMOptionSpec {
    var kind: UInt8 = 30
    var length: UInt8
    var subtype: UInt8 = 0xE
    var isSource: Bool
    var flags: UInt8 = 0
    var protocolNumber: UInt8 = 6
    var v4: UInt32 = 0xC000_0201
    var v6: (UInt64, UInt64) = (0x2001_0DB8_0000_0000, 1)
    var port: UInt16 = 443

    func bytes(_ rng: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = [kind, length, subtype << 4 | (isSource ? 0x08 : 0) | flags, protocolNumber]
        switch length {
        case 8, 10:
            for shift in [24, 16, 8, 0] { out.append(UInt8(truncatingIfNeeded: v4 >> UInt32(shift))) }
        case 20, 22:
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v6.0 >> UInt64(shift))) }
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v6.1 >> UInt64(shift))) }
        default:
            for _ in 0..<rng.below(24) { out.append(rng.byte()) }
        }
        if length == 10 || length == 22 {
            out.append(UInt8(port >> 8))
            out.append(UInt8(port & 0xFF))
        }
        return out
    }
}

/// A valid block (one or two options, IPv4 or IPv6, with ports), then a few random defects.
func randomPMBlock(_ rng: inout SplitMix64) -> [UInt8] {
    let ipv4 = rng.chance(50)
    let protocolNumber: UInt8 = rng.pick([6, 17])
    var options = [PMOptionSpec(length: ipv4 ? 10 : 22, isSource: false, protocolNumber: protocolNumber,
                                v4: 0xC000_0201, v6: (0x2001_0DB8_0000_0000, 1), port: 443)]
    if rng.chance(60) {
        let source = PMOptionSpec(length: ipv4 ? rng.pick([8, 10]) : rng.pick([20, 22]), isSource: true,
                                  protocolNumber: protocolNumber, v4: 0xC633_6407, v6: (0x2001_0DB8_0001_0000, 0x100), port: 51000)
        if rng.chance(50) { options.insert(source, at: 0) } else { options.append(source) }
    }
    var endsWithEOL = true
    for _ in 0..<rng.below(4) {
        let i = rng.below(options.count)
        switch rng.below(12) {
        case 0: options[i].kind = rng.pick([0, 1, rng.byte()])
        case 1: options[i].length = rng.chance(70) ? rng.pick([8, 10, 20, 22]) : rng.byte()
        case 2: options[i].subtype = UInt8(rng.below(16))
        case 3: options[i].isSource.toggle()
        case 4: options[i].flags = UInt8(rng.below(8))
        case 5: options[i].protocolNumber = rng.pick([6, 17, 1, 33, 132, 0, rng.byte()])
        case 6:
            options[i].v4 = rng.pick([0x7F00_0001, 0xFFFF_FFFF, 0xE000_0001, 0x0000_0005, 0xEFFF_FFFF,
                                      UInt32(truncatingIfNeeded: rng.next())])
        case 7:
            options[i].v6 = rng.pick([(0, 1), (0, 0), (0xFF02_0000_0000_0000, 1), (0, 0x0000_FFFF_7F00_0001),
                                      (0, 0x0000_FFFF_C000_0201), (0, 0x0000_FFFF_FFFF_FFFF), (0, 0x0000_FFFF_E000_0001),
                                      (0, 0x0000_FFFE_0000_0001), (rng.next(), rng.next())])
        case 8: options[i].port = rng.pick([0, 1, UInt16(truncatingIfNeeded: rng.next())])
        case 9: options.append(options[rng.below(options.count)])  // a duplicate
        case 10: options.remove(at: i); if options.isEmpty { options.append(PMOptionSpec(length: 8, isSource: true)) }
        default: endsWithEOL = false
        }
    }
    var bytes: [UInt8] = []
    for option in options { bytes += option.bytes(&rng) }
    if endsWithEOL { bytes.append(0) }
    for _ in 0..<rng.below(6) { bytes.append(rng.byte()) }  // stream data after the block
    if rng.chance(15) { bytes = Array(bytes.prefix(rng.below(bytes.count + 1))) }
    return bytes
}

func checkPMBlocks(_ fixture: BenchFixture, rounds: Int, _ rng: inout SplitMix64, _ report: inout SelfTestReport) {
    var defaultPolicy = cb_pm_policy()
    cb_pm_default_policy(&defaultPolicy)
    let swiftDefault = PlainModePolicy()
    let words = [defaultPolicy.enabled_protocols.0, defaultPolicy.enabled_protocols.1,
                 defaultPolicy.enabled_protocols.2, defaultPolicy.enabled_protocols.3]
    let sameProtocols = (0...255).allSatisfy { (p: Int) -> Bool in
        let cEnabled = (words[p >> 6] >> UInt64(p & 63)) & 1 == 1
        return swiftDefault.enabledProtocols.contains(UInt8(p)) == cEnabled
    }
    let sameFlags = defaultPolicy.requires_destination == swiftDefault.requiresDestination
        && defaultPolicy.requires_source == swiftDefault.requiresSource
    let sameLimits = defaultPolicy.subtype == swiftDefault.subtype
        && Int(defaultPolicy.maximum_block_length) == swiftDefault.maximumBlockLength
    report.expect(sameProtocols && sameFlags && sameLimits, "default policies differ")
    for input in [Array(fixture.pmIPv6), Array(fixture.pmIPv4)] {
        comparePMBlock(input, swiftDefault, defaultPolicy, &report)
        // The benchmark inputs must parse, with the intended options.
        let parsed = try? PlainModeBlock.parse(input)
        report.expect(parsed != nil && parsed!.length == input.count && parsed!.block.destination?.port == 443,
                      "benchmark PM block \(hex(input)) does not parse as intended")
    }
    for _ in 0..<rounds {
        var swiftPolicy = PlainModePolicy()
        var cPolicy = defaultPolicy
        if rng.chance(30) {
            swiftPolicy.subtype = rng.chance(50) ? 0xE : UInt8(rng.below(16))
            swiftPolicy.requiresDestination = rng.chance(80)
            swiftPolicy.requiresSource = rng.chance(30)
            swiftPolicy.maximumBlockLength = rng.chance(50) ? PlainModePolicy.longestLegalBlock : rng.below(60)
            if rng.chance(50) {
                swiftPolicy.enabledProtocols = ProtocolSet()
                cPolicy.enabled_protocols = (0, 0, 0, 0)
                for _ in 0..<rng.below(4) {
                    let p: UInt8 = rng.pick([6, 17, 1, 132, rng.byte()])
                    swiftPolicy.enabledProtocols.insert(p)
                    let bit = UInt64(1) << UInt64(p & 63)
                    switch p >> 6 {
                    case 0: cPolicy.enabled_protocols.0 |= bit
                    case 1: cPolicy.enabled_protocols.1 |= bit
                    case 2: cPolicy.enabled_protocols.2 |= bit
                    default: cPolicy.enabled_protocols.3 |= bit
                    }
                }
            }
            cPolicy.subtype = swiftPolicy.subtype
            cPolicy.requires_destination = swiftPolicy.requiresDestination
            cPolicy.requires_source = swiftPolicy.requiresSource
            cPolicy.maximum_block_length = Int64(swiftPolicy.maximumBlockLength)
        }
        let bytes = randomPMBlock(&rng)
        comparePMBlock(bytes, swiftPolicy, cPolicy, &report)
        compareStreamingPMParser(bytes, swiftPolicy, &rng, &report)
    }
}

/// The streaming parser fed the same bytes in random pieces must end where the one-shot parse
/// does (the benchmark measures the one-shot entry point; the data path feeds reads).
func compareStreamingPMParser(_ bytes: [UInt8], _ policy: PlainModePolicy, _ rng: inout SplitMix64, _ report: inout SelfTestReport) {
    let oneShot = try? PlainModeBlock.parse(bytes, policy: policy)
    var parser = PlainModeBlockParser(policy: policy)
    var offset = 0
    var streamed: (block: PlainModeBlock, length: Int)?
    var failed = false
    while offset < bytes.count && streamed == nil && !failed {
        let n = min(bytes.count - offset, 1 + rng.below(rng.chance(50) ? 3 : 24))
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
        defer { piece.deallocate() }
        for i in 0..<n { piece[i] = bytes[offset + i] }
        do {
            switch try parser.consume(UnsafeRawBufferPointer(piece)) {
            case .needMoreBytes: break
            case let .complete(block, consumed): streamed = (block, offset + consumed)
            }
        } catch {
            failed = true
        }
        offset += n
    }
    if let oneShot {
        report.expect(streamed != nil && streamed!.block == oneShot.block && streamed!.length == oneShot.length,
                      "pm streaming \(hex(bytes)): one-shot \(oneShot), streamed \(String(describing: streamed)) failed \(failed)")
    } else {
        report.expect(streamed == nil, "pm streaming \(hex(bytes)): one-shot fails, streaming completes")
    }
}

func comparePMBlock(_ bytes: [UInt8], _ swiftPolicy: PlainModePolicy, _ cPolicy: cb_pm_policy, _ report: inout SelfTestReport) {
    var cPolicy = cPolicy
    var block = cb_pm_block()
    var detail: Int32 = -1
    let cResult = withPaddedPointer(bytes) { cb_pm_parse($0, bytes.count, &cPolicy, &block, &detail) }
    do {
        let (swiftBlock, length) = try PlainModeBlock.parse(bytes, policy: swiftPolicy)
        report.count("pm", "ok")
        report.expect(cResult == 0, "pm \(hex(bytes)): Swift accepts, C error \(cResult)")
        if cResult == 0 {
            report.expect(length == Int(block.length) && same(swiftBlock.source, block.source)
                          && same(swiftBlock.destination, block.destination), "pm \(hex(bytes)): blocks differ")
        }
    } catch {
        let (expectedCode, expectedDetail) = pmErrorCode(error)
        report.count("pm", [
            "ok", "badLength", "unknownSubtype", "unexpectedOptionKind", "duplicateSource", "duplicateDestination",
            "forbiddenAddress", "missingDestination", "missingSource", "missingDestinationPort", "zeroDestinationPort",
            "protocolNotEnabled", "protocolMismatch", "familyMismatch", "blockTooLong", "truncated",
        ][Int(expectedCode)])
        report.expect(cResult == expectedCode && (expectedDetail == nil || expectedDetail == detail),
                      "pm \(hex(bytes)) policy \(swiftPolicy): Swift \(error), C error \(cResult) detail \(detail)")
    }
}

// MARK: - UDP frame decoder

final class Deliveries {
    var items: [String] = []
    func add(_ buffer: UnsafeRawBufferPointer) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in buffer { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        items.append("\(buffer.count):\(hash)")
    }
}

func checkUDPDecoder(rounds: Int, _ rng: inout SplitMix64, _ report: inout SelfTestReport) {
    for round in 0..<rounds {
        let maximum = rng.pick([0, 1, 50, 300, 700, Int(CB_UDP_LARGEST_IPV4_DATAGRAM)])
        var stream: [UInt8] = []
        for _ in 0..<rng.below(20) {
            let length = rng.chance(10) ? rng.below(1200) : rng.below(320)
            stream.append(UInt8(length >> 8))
            stream.append(UInt8(length & 0xFF))
            for _ in 0..<length { stream.append(rng.byte()) }
        }
        for _ in 0..<rng.below(4) { stream.append(rng.byte()) }  // a partial record at the end
        var swiftDecoder = UDPFrameDecoder(maximumDatagramSize: maximum)
        var cDecoder = cb_udp_decoder()
        cb_udp_decoder_init(&cDecoder, Int64(maximum))
        let swiftSeen = Deliveries(), cSeen = Deliveries()
        var offset = 0
        while offset < stream.count || offset == 0 {
            let n = min(stream.count - offset, rng.pick([1, 2, 3, 7, 100, 1448, 1 + rng.below(400)]))
            let slice = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, 1), alignment: 1)
            defer { slice.deallocate() }
            for i in 0..<n { slice[i] = stream[offset + i] }
            let read = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(slice)[0..<n])
            var swiftFailed = false
            do {
                try swiftDecoder.decode(read) { swiftSeen.add($0) }
            } catch {
                swiftFailed = true
            }
            let cStatus = cb_udp_decode(&cDecoder, slice.baseAddress!.assumingMemoryBound(to: UInt8.self), n, { context, datagram, length in
                Unmanaged<Deliveries>.fromOpaque(context!).takeUnretainedValue()
                    .add(UnsafeRawBufferPointer(start: datagram, count: length))
            }, Unmanaged.passUnretained(cSeen).toOpaque())
            report.count("udp", swiftFailed ? "recordTooLarge" : "ok")
            report.expect(swiftFailed == (cStatus != 0), "udp round \(round) at \(offset)+\(n): Swift failed \(swiftFailed), C status \(cStatus)")
            report.expect(swiftSeen.items == cSeen.items, "udp round \(round) at \(offset)+\(n): deliveries differ")
            offset += n
            if n == 0 { break }
        }
        cb_udp_decoder_destroy(&cDecoder)
    }
}
