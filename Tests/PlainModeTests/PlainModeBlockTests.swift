import Testing
import PlainMode
import WireFormat
import TestSupport

private let v4Destination = hexBytes("1E 0A E0 06 C0 00 02 01 01 BB")      // 192.0.2.1:443 TCP
private let v4Source = hexBytes("1E 08 E8 06 C6 33 64 07")                 // 198.51.100.7 TCP
private let v6Destination = hexBytes("1E 16 E0 11 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01 00 35")
private let v6Source = hexBytes("1E 16 E8 11 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 02 9C 40")

@Suite struct PlainModeBlockTests {
    @Test func sourceAndDestinationThenData() throws {
        let stream = v6Source + v6Destination + [0] + Array("data".utf8)
        let (block, length) = try PlainModeBlock.parse(stream)
        #expect(length == 45)
        #expect(block.source?.address == IPAddress("2001:db8::2"))
        #expect(block.source?.port == 40000)
        #expect(block.destination?.port == 53)
        #expect(block.protocolNumber == 17)
        #expect(block.encoded() == Array(stream[0..<45]))
    }

    /// Every way of cutting the stream into reads gives the answer of the one-shot parse.
    @Test func incrementalEqualsWholeAtEverySplit() throws {
        for stream in [v4Source + v4Destination + [0, 0x47], v6Source + v6Destination + [0], v4Destination + [0]] {
            let whole = try PlainModeBlock.parse(stream)
            for cut in 0...stream.count {
                let pieces = try #require(parseInPieces(stream, cuts: [cut]))
                let (block, length) = try pieces.get()
                #expect(block == whole.block && length == whole.length, "cut at \(cut)")
            }
            // Byte-by-byte reads.
            let (block, length) = try #require(parseInPieces(stream, cuts: Array(0...stream.count))).get()
            #expect(block == whole.block && length == whole.length)
        }
    }

    @Test func randomBlocksRoundTripAndSplit() throws {
        var rng = SplitMix64(seed: 2024)
        for _ in 0..<2000 {
            let v4 = Bool.random(using: &rng)
            let proto: UInt8 = Bool.random(using: &rng) ? 6 : 17
            let destination = PlainModeOption(direction: .destination, protocolNumber: proto,
                                              address: randomAddress(v4: v4, using: &rng), port: UInt16.random(in: 1...65535, using: &rng))
            let source = Bool.random(using: &rng) ? PlainModeOption(
                direction: .source, protocolNumber: proto, address: randomAddress(v4: v4, using: &rng),
                port: Bool.random(using: &rng) ? UInt16.random(in: 1...65535, using: &rng) : nil) : nil
            let block = PlainModeBlock(source: source, destination: destination)
            let trailer = (0..<Int.random(in: 0...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let stream = block.encoded() + trailer
            let cuts = (0..<3).map { _ in Int.random(in: 0...stream.count, using: &rng) }.sorted()
            let (parsed, length) = try #require(parseInPieces(stream, cuts: cuts)).get()
            #expect(parsed == block)
            #expect(length == block.encodedLength)
        }
    }

    @Test func waitsForMoreBytesUntilEOL() throws {
        var parser = PlainModeBlockParser()
        let progress = try v4Destination.withUnsafeBytes { buffer in try parser.consume(buffer) }
        #expect(progress == .needMoreBytes)
        #expect(parser.bytesConsumed == 10)
        #expect(throws: PlainModeError.truncated) { try PlainModeBlock.parse(v4Destination) }
    }

    // One test per validation error.

    @Test func badLength() {
        #expect(throws: PlainModeError.badLength(9)) { try PlainModeBlock.parse(hexBytes("1E 09 E0 06 C0 00 02 01 01 00")) }
        // Detected as soon as the length byte arrives, even in a split read.
        #expect(parseInPieces(hexBytes("1E 15"), cuts: [1])?.failure == .badLength(0x15))
    }

    @Test func unknownSubtype() {
        #expect(throws: PlainModeError.unknownSubtype(0x3)) { try PlainModeBlock.parse(hexBytes("1E 0A 30 06 C0 00 02 01 01 BB 00")) }
    }

    @Test func unexpectedOptionKind() {
        #expect(throws: PlainModeError.unexpectedOptionKind(1)) { try PlainModeBlock.parse(hexBytes("01") + v4Destination + [0]) }
        #expect(throws: PlainModeError.unexpectedOptionKind(2)) { try PlainModeBlock.parse(v4Destination + hexBytes("02 04 05 B4 00")) }
    }

    @Test func duplicateSourceAndDestination() {
        #expect(throws: PlainModeError.duplicateSource) { try PlainModeBlock.parse(v4Source + v4Source + v4Destination + [0]) }
        #expect(throws: PlainModeError.duplicateDestination) { try PlainModeBlock.parse(v4Destination + v4Destination + [0]) }
    }

    @Test(arguments: [
        ("7F 00 00 01", ForbiddenAddressKind.loopback), ("E0 00 00 FB", .multicast),
        ("FF FF FF FF", .broadcast), ("00 00 00 00", .unspecified),
    ])
    func forbiddenIPv4Destination(address: String, kind: ForbiddenAddressKind) {
        #expect(throws: PlainModeError.forbiddenAddress(kind, .destination)) {
            try PlainModeBlock.parse(hexBytes("1E 0A E0 06") + hexBytes(address) + hexBytes("01 BB 00"))
        }
    }

    @Test func forbiddenIPv6AndSourceAddresses() {
        let loopback6 = hexBytes("1E 16 E0 06 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 01 BB 00")
        #expect(throws: PlainModeError.forbiddenAddress(.loopback, .destination)) { try PlainModeBlock.parse(loopback6) }
        let multicastSource = hexBytes("1E 16 E8 06 FF 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01") + v6Destination + [0]
        #expect(throws: PlainModeError.forbiddenAddress(.multicast, .source)) { try PlainModeBlock.parse(multicastSource) }
    }

    @Test func missingAndZeroDestinationPort() {
        #expect(throws: PlainModeError.missingDestinationPort) { try PlainModeBlock.parse(hexBytes("1E 08 E0 06 C0 00 02 01 00")) }
        #expect(throws: PlainModeError.zeroDestinationPort) { try PlainModeBlock.parse(hexBytes("1E 0A E0 11 C0 00 02 01 00 00 00")) }
        // A protocol without ports (ICMP = 1) needs none, once enabled.
        let icmp = PlainModePolicy(enabledProtocols: [1, 6, 17])
        #expect((try? PlainModeBlock.parse(hexBytes("1E 08 E0 01 C0 00 02 01 00"), policy: icmp)) != nil)
    }

    @Test func protocolNotEnabled() {
        #expect(throws: PlainModeError.protocolNotEnabled(132)) { try PlainModeBlock.parse(hexBytes("1E 0A E0 84 C0 00 02 01 01 BB 00")) }
        let tcpOnly = PlainModePolicy(enabledProtocols: [6])
        #expect(throws: PlainModeError.protocolNotEnabled(17)) { try PlainModeBlock.parse(v6Destination + [0], policy: tcpOnly) }
    }

    @Test func missingDestinationAndSource() {
        #expect(throws: PlainModeError.missingDestination) { try PlainModeBlock.parse(v4Source + [0]) }
        #expect(throws: PlainModeError.missingDestination) { try PlainModeBlock.parse([0]) }
        let preserve = PlainModePolicy(requiresSource: true)
        #expect(throws: PlainModeError.missingSource) { try PlainModeBlock.parse(v6Destination + [0], policy: preserve) }
        #expect((try? PlainModeBlock.parse(v6Source + v6Destination + [0], policy: preserve)) != nil)
    }

    @Test func protocolAndFamilyMismatch() {
        #expect(throws: PlainModeError.protocolMismatch(source: 6, destination: 17)) {
            try PlainModeBlock.parse(v4Source + hexBytes("1E 0A E0 11 C0 00 02 01 00 35 00"))
        }
        #expect(throws: PlainModeError.familyMismatch) { try PlainModeBlock.parse(v4Source + v6Destination.withProtocol(6) + [0]) }
    }

    @Test func blockTooLong() {
        let tight = PlainModePolicy(maximumBlockLength: 12)
        #expect(throws: PlainModeError.blockTooLong(limit: 12)) { try PlainModeBlock.parse(v4Source + v4Destination + [0], policy: tight) }
        // Split reads hit the same cap.
        #expect(parseInPieces(v4Source + v4Destination + [0], cuts: [3, 9, 11], policy: tight)?.failure == .blockTooLong(limit: 12))
        // The default cap is the longest legal block: 45 bytes.
        #expect(PlainModePolicy().maximumBlockLength == 45)
    }

    /// Fuzzer finding (Tests/Fuzz/crashes/pm-block-cap-error-kind): options filling the cap exactly,
    /// then a bad Length. Every read boundary must give the error the whole read gives.
    @Test func errorDoesNotDependOnReadBoundaries() {
        let tight = PlainModePolicy(maximumBlockLength: 8)
        let streams: [([UInt8], PlainModeError)] = [
            (v4Source + [0x1E, 0x09], .badLength(9)),
            (v4Source + [0x1E, 0x0A, 0xE0], .blockTooLong(limit: 8)),
            (v4Source + [0x00], .blockTooLong(limit: 8)),
        ]
        for (stream, expected) in streams {
            #expect(parseInPieces(stream, cuts: [], policy: tight)?.failure == expected)
            for cut in 0...stream.count {
                #expect(parseInPieces(stream, cuts: [cut], policy: tight)?.failure == expected, "cut at \(cut)")
            }
        }
    }

    @Test func truncated() {
        #expect(throws: PlainModeError.truncated) { try PlainModeBlock.parse(Array(v4Destination[0..<5])) }
    }
}

extension Array where Element == UInt8 {
    func withProtocol(_ p: UInt8) -> [UInt8] { var copy = self; copy[3] = p; return copy }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}
