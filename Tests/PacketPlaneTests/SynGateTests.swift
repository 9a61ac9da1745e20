import PacketPlane
import PlainMode
import TestSupport
import Testing
import WireFormat

/// The SYN gate's decisions on hand-built SYNs: PM validation, MP_JOIN, allow-list, rate and
/// subflow limits, and junk. The packet is passed read-only; the tests also check it is unchanged.
@Suite struct SynGateTests {
    static let mpCapable: [UInt8] = [0x1E, 0x04, 0x01, 0x81]
    /// MP_JOIN SYN: subtype 1, address id 2, receiver's token, sender's nonce.
    static func mpJoin(token: UInt32) -> [UInt8] {
        [0x1E, 0x0C, 0x10, 0x02] + withUnsafeBytes(of: token.bigEndian, Array.init) + [1, 2, 3, 4]
    }
    /// FACTS.md section 1: IPv4 destination 192.0.2.1 port 443, TCP, then EOL, then SYN data.
    static let goodBlock = hexBytes("1E0AE006C000020101BB00") + Array("GET /".utf8)
    static let loopbackBlock = hexBytes("1E0AE0067F000001005000")
    static let start = ContinuousClock.now

    static func syn(from source: String = "198.51.100.2", to destination: String = "198.51.100.1", flags: UInt8 = 0x02,
                    options: [UInt8] = mpCapable, payload: [UInt8] = [], sequence: UInt8 = 1) -> [UInt8] {
        let tcpLength = 20 + options.count
        var tcp = [UInt8](repeating: 0, count: tcpLength)
        tcp[0] = 0xC3; tcp[1] = 0x50  // source port 50000
        tcp[2] = 0x13; tcp[3] = 0x88  // destination port 5000
        tcp[4] = sequence
        tcp[12] = UInt8(tcpLength / 4) << 4
        tcp[13] = flags
        tcp[14] = 0xFF; tcp[15] = 0xFF
        tcp.replaceSubrange(20..<tcpLength, with: options)
        let segment = tcp + payload
        if let source6 = IPv6Address(source), let destination6 = IPv6Address(destination) {
            var header = [UInt8](repeating: 0, count: 40)
            header.withUnsafeMutableBytes {
                _ = IPv6Header.write(into: $0, source: source6, destination: destination6, nextHeader: 6, payloadLength: segment.count)
            }
            return header + segment
        }
        var header = [UInt8](repeating: 0, count: 20)
        header.withUnsafeMutableBytes {
            _ = IPv4Header.write(into: $0, source: IPv4Address(source)!, destination: IPv4Address(destination)!, protocolNumber: 6,
                                 payloadLength: segment.count)
        }
        return header + segment
    }

    static func decide(_ gate: SynGate, _ packet: [UInt8], at seconds: Double = 0) -> SynGateOutcome {
        let copy = packet
        let outcome = packet.withUnsafeBytes { gate.decide($0, now: start + .seconds(seconds)) }
        #expect(copy == packet)
        return outcome
    }

    static func gate(_ configure: (inout SynGateSettings) -> Void = { _ in }) -> SynGate {
        var settings = SynGateSettings(policy: PlainModePolicy())
        configure(&settings)
        return SynGate(settings: settings, shards: 4)
    }

    @Test func aSYNWithAValidBlockIsAccepted() {
        #expect(Self.decide(Self.gate(), Self.syn(payload: Self.goodBlock)) == .acceptedWithPlainMode)
    }

    @Test func aSYNWithAForbiddenOrMalformedBlockIsDropped() {
        let gate = Self.gate()
        #expect(Self.decide(gate, Self.syn(payload: Self.loopbackBlock)) == .refusedBadPlainMode)
        #expect(Self.decide(gate, Self.syn(payload: hexBytes("1E09E006C000020101BB00"))) == .refusedBadPlainMode)
        // A block cut off before its EOL cannot be checked in the SYN: refused.
        #expect(Self.decide(gate, Self.syn(payload: hexBytes("1E0AE006C0000201"))) == .refusedBadPlainMode)
        #expect(!SynGateOutcome.refusedBadPlainMode.accepts)
    }

    @Test func theDatalessRetransmissionOfARefusedSYNIsDroppedToo() {
        let gate = Self.gate()
        #expect(Self.decide(gate, Self.syn(payload: Self.loopbackBlock)) == .refusedBadPlainMode)
        // The kernel retransmits the SYN without its data: same flow, same sequence number.
        #expect(Self.decide(gate, Self.syn(), at: 1) == .refusedRetransmission)
        #expect(Self.decide(gate, Self.syn(), at: 3) == .refusedRetransmission)
        // A new connection (new sequence number), or another source port, is a new decision.
        #expect(Self.decide(gate, Self.syn(sequence: 2), at: 3) == .acceptedWithoutPayload)
        #expect(Self.decide(gate, Self.syn(from: "198.51.100.6"), at: 3) == .acceptedWithoutPayload)
        // Forgotten after its memory (64 s), with or without the sweep.
        #expect(Self.decide(gate, Self.syn(), at: 65) == .acceptedWithoutPayload)
        #expect(Self.decide(gate, Self.syn(payload: Self.loopbackBlock), at: 70) == .refusedBadPlainMode)
        gate.expire(now: Self.start + .seconds(135))
        #expect(Self.decide(gate, Self.syn(), at: 135) == .acceptedWithoutPayload)
    }

    @Test func aSYNWithoutPayloadIsLeftToTheStreamPlane() {
        #expect(Self.decide(Self.gate(), Self.syn()) == .acceptedWithoutPayload)
    }

    /// Draft 4.2: PM only on MPTCP connections. A SYN without MP_CAPABLE, with or without a
    /// block, is refused with a reset (the client hears at once, keeps MPTCP for later ones).
    @Test func aSYNWithoutMPCapableIsRefusedWithAReset() {
        let gate = Self.gate()
        #expect(Self.decide(gate, Self.syn(options: [])) == .refusedNotMultipath)
        #expect(Self.decide(gate, Self.syn(options: [], payload: Self.goodBlock)) == .refusedNotMultipath)
        // An MPTCP option of another subtype (MP_ADD_ADDR = 3) is not an MP_CAPABLE either.
        #expect(Self.decide(gate, Self.syn(options: [0x1E, 0x04, 0x30, 0x00], payload: Self.goodBlock)) == .refusedNotMultipath)
        #expect(SynGateOutcome.refusedNotMultipath.response == .reset)
    }

    /// A valid block whose destination the concentrator does not relay to is refused with a
    /// reset; the same block to another destination passes.
    @Test func aRefusedDestinationIsRefusedWithAReset() throws {
        let gate = Self.gate {
            $0.destinations = DestinationFilter(ownAddresses: [.v4(IPv4Address("198.51.100.1")!)],
                                                pools: [try! IPPrefix("192.0.2.0/24")])
        }
        // goodBlock goes to 192.0.2.1:443, inside the pool here.
        #expect(Self.decide(gate, Self.syn(payload: Self.goodBlock)) == .refusedDestination)
        let toOwn = hexBytes("1E0AE006C633640101BB00")  // 198.51.100.1:443
        #expect(Self.decide(gate, Self.syn(payload: toOwn)) == .refusedDestination)
        let toLinkLocal = hexBytes("1E0AE006A9FE0101" + "01BB00")  // 169.254.1.1:443, RFC 6890
        #expect(Self.decide(gate, Self.syn(payload: toLinkLocal)) == .refusedDestination)
        let toServer = hexBytes("1E0AE006CB00710201BB00")  // 203.0.113.2:443
        #expect(Self.decide(gate, Self.syn(payload: toServer)) == .acceptedWithPlainMode)
        #expect(SynGateOutcome.refusedDestination.response == .reset)
    }

    /// Which refusals are answered with a reset and which are silent.
    @Test func responsesOfTheOutcomes() {
        for outcome in SynGateOutcome.allCases {
            let expected: SynGateOutcome.Response = switch outcome {
            case .acceptedWithPlainMode, .acceptedWithoutPayload, .acceptedJoin, .passedNotSYN: .accept
            case .droppedNotAllowed, .droppedMalformedPacket, .droppedTooManySubflows: .drop
            default: .reset
            }
            #expect(outcome.response == expected, "\(outcome.name)")
        }
    }

    @Test func ipv6SYNsAreDecidedToo() {
        let block = hexBytes("1E16E00620010DB80000000000000000000000010035") + [0]
        let gate = Self.gate()
        #expect(Self.decide(gate, Self.syn(from: "2001:db8:a::2", to: "2001:db8:a::1", payload: block)) == .acceptedWithPlainMode)
        let loopback6 = hexBytes("1E16E00600000000000000000000000000000001") + [0x00, 0x35, 0x00]
        #expect(Self.decide(gate, Self.syn(from: "2001:db8:a::2", to: "2001:db8:a::1", payload: loopback6)) == .refusedBadPlainMode)
    }

    @Test func joinsNeedNoBlockAndAreLimitedPerConnection() {
        let gate = Self.gate { $0.subflowsPerConnection = 2 }
        #expect(Self.decide(gate, Self.syn(options: Self.mpJoin(token: 0xAABB_CCDD))) == .acceptedJoin)
        #expect(Self.decide(gate, Self.syn(options: Self.mpJoin(token: 0xAABB_CCDD))) == .acceptedJoin)
        #expect(Self.decide(gate, Self.syn(options: Self.mpJoin(token: 0xAABB_CCDD))) == .droppedTooManySubflows)
        #expect(Self.decide(gate, Self.syn(options: Self.mpJoin(token: 0x1122_3344))) == .acceptedJoin)
        // Forgotten after ten idle minutes: the token may be a new connection's.
        gate.expire(now: Self.start + .seconds(601))
        #expect(Self.decide(gate, Self.syn(options: Self.mpJoin(token: 0xAABB_CCDD)), at: 601) == .acceptedJoin)
        // No limit configured: every join passes.
        let open = Self.gate()
        for _ in 0..<10 { #expect(Self.decide(open, Self.syn(options: Self.mpJoin(token: 7))) == .acceptedJoin) }
    }

    @Test func onlyAllowedSourcesPass() throws {
        let prefixes = [try IPPrefix("198.51.100.0/30"), try IPPrefix("2001:db8:a::/64")]
        let gate = Self.gate { $0.allowed = prefixes }
        #expect(Self.decide(gate, Self.syn(from: "198.51.100.2", payload: Self.goodBlock)) == .acceptedWithPlainMode)
        #expect(Self.decide(gate, Self.syn(from: "198.51.100.6", payload: Self.goodBlock)) == .droppedNotAllowed)
        #expect(Self.decide(gate, Self.syn(from: "198.51.100.6", options: Self.mpJoin(token: 1))) == .droppedNotAllowed)
        #expect(Self.decide(gate, Self.syn(from: "2001:db8:a::2", to: "2001:db8:a::1")) == .acceptedWithoutPayload)
        #expect(Self.decide(gate, Self.syn(from: "2001:db8:b::2", to: "2001:db8:a::1")) == .droppedNotAllowed)
    }

    @Test func aCPEOverItsRateIsCutOffAndOthersAreNot() {
        let gate = Self.gate {
            $0.newConnectionsPerSecond = 10
            $0.burst = 3
        }
        let cpe = Self.syn(from: "198.51.100.2", payload: Self.goodBlock)
        let other = Self.syn(from: "198.51.100.6")
        for _ in 0..<3 { #expect(Self.decide(gate, cpe) == .acceptedWithPlainMode) }
        #expect(Self.decide(gate, cpe) == .refusedRateLimited)
        #expect(Self.decide(gate, other) == .acceptedWithoutPayload)
        // 10 per second: one token back after 0.1 s, not before.
        #expect(Self.decide(gate, cpe, at: 0.05) == .refusedRateLimited)
        #expect(Self.decide(gate, cpe, at: 0.15) == .acceptedWithPlainMode)
        #expect(Self.decide(gate, cpe, at: 0.16) == .refusedRateLimited)
        // A refused SYN (bad PM) costs no token; joins are not metered by the rate.
        #expect(Self.decide(gate, Self.syn(from: "198.51.100.2", payload: Self.loopbackBlock), at: 0.5) == .refusedBadPlainMode)
        #expect(Self.decide(gate, Self.syn(from: "198.51.100.2", options: Self.mpJoin(token: 9)), at: 0.5) == .acceptedJoin)
        // After a quiet second the bucket is full again, and expiring it changes nothing.
        gate.expire(now: Self.start + .seconds(2))
        for _ in 0..<3 { #expect(Self.decide(gate, cpe, at: 2) == .acceptedWithPlainMode) }
        #expect(Self.decide(gate, cpe, at: 2) == .refusedRateLimited)
    }

    @Test func nonSYNsPassAndJunkIsDropped() {
        let gate = Self.gate()
        #expect(Self.decide(gate, Self.syn(flags: 0x12)) == .passedNotSYN)  // SYN-ACK
        #expect(Self.decide(gate, Self.syn(flags: 0x10, payload: Self.loopbackBlock)) == .passedNotSYN)
        #expect(Self.decide(gate, []) == .droppedMalformedPacket)
        #expect(Self.decide(gate, Array(Self.syn().prefix(30))) == .droppedMalformedPacket)
        // An option whose length runs past the TCP header.
        #expect(Self.decide(gate, Self.syn(options: [0x1E, 0x20, 0x01, 0x81])) == .droppedMalformedPacket)
        var generator = SplitMix64(seed: 0x5EED_4)
        var seen = Set<SynGateOutcome>()
        let base = Self.syn(payload: Self.goodBlock)
        for _ in 0..<5000 {
            var packet = base
            for _ in 0..<Int(generator.next() % 4 + 1) { packet[Int(generator.next() % UInt64(packet.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            packet = Array(packet.prefix(Int(generator.next() % UInt64(packet.count + 1))))
            seen.insert(Self.decide(gate, packet))
        }
        #expect(seen.contains(.droppedMalformedPacket) && seen.contains(.acceptedWithPlainMode))
    }
}

/// The one field the gate changes: the window of a SYN that can open a Fast Open connection,
/// divided by 2^scale (FACTS.md 7), with the TCP checksum still right, whichever way it is fixed.
@Suite struct SynWindowRewriteTests {
    /// MP_CAPABLE, then NOP + window scale `shift`, then NOP NOP + TFO (kind 34) when asked.
    static func options(shift: UInt8?, fastOpen: Bool = false) -> [UInt8] {
        SynGateTests.mpCapable + (shift.map { [0x01, 0x03, 0x03, $0] } ?? []) + (fastOpen ? [0x01, 0x01, 0x22, 0x02] : [])
    }

    static func window(_ gate: SynGate, _ packet: [UInt8]) throws -> UInt16? {
        let parsed = try packet.withUnsafeBytes { try ParsedPacket.parse($0) }
        return packet.withUnsafeBytes { gate.fastOpenWindow(parsed, bytes: $0) }
    }

    @Test func synDataWithAWindowScaleGetsTheUnscaledWindow() throws {
        let gate = SynGateTests.gate()
        // Window 0xFFFF (the builder's), scale 10: 65535 >> 10 = 63.
        #expect(try Self.window(gate, SynGateTests.syn(options: Self.options(shift: 10), payload: SynGateTests.goodBlock)) == 63)
        #expect(try Self.window(gate, SynGateTests.syn(from: "2001:db8:a::2", to: "2001:db8:a::1",
                                                      options: Self.options(shift: 7), payload: SynGateTests.goodBlock)) == 511)
        // A Fast Open option without data can open a Fast Open connection too.
        #expect(try Self.window(gate, SynGateTests.syn(options: Self.options(shift: 10, fastOpen: true))) == 63)
        // Scales above 14 count as 14 (RFC 7323 2.3).
        #expect(try Self.window(gate, SynGateTests.syn(options: Self.options(shift: 20), payload: SynGateTests.goodBlock)) == 3)
    }

    @Test func otherSYNsKeepTheirWindow() throws {
        let gate = SynGateTests.gate()
        // No data and no Fast Open option: the kernel takes the window from the final ACK.
        #expect(try Self.window(gate, SynGateTests.syn(options: Self.options(shift: 10))) == nil)
        // No window scale, or scale 0: the SYN's window is the real one.
        #expect(try Self.window(gate, SynGateTests.syn(options: Self.options(shift: nil), payload: SynGateTests.goodBlock)) == nil)
        #expect(try Self.window(gate, SynGateTests.syn(options: Self.options(shift: 0), payload: SynGateTests.goodBlock)) == nil)
        // Not a pure SYN.
        #expect(try Self.window(gate, SynGateTests.syn(flags: 0x12, options: Self.options(shift: 10), payload: SynGateTests.goodBlock)) == nil)
        // Turned off for a kernel without the bug.
        let off = SynGateTests.gate { $0.rewritesFastOpenWindow = false }
        #expect(try Self.window(off, SynGateTests.syn(options: Self.options(shift: 10), payload: SynGateTests.goodBlock)) == nil)
    }

    /// Both ways of fixing the checksum give a segment whose checksum verifies, and change only
    /// bytes 14-15 (the window) and 16-17 (the checksum) of the TCP header.
    @Test func theRewriteKeepsTheChecksumRightAndTouchesNothingElse() throws {
        for source in ["198.51.100.2", "2001:db8:a::2"] {
            let destination = source.contains(":") ? "2001:db8:a::1" : "198.51.100.1"
            var packet = SynGateTests.syn(from: source, to: destination, options: Self.options(shift: 10), payload: SynGateTests.goodBlock)
            var parsed = try packet.withUnsafeBytes { try ParsedPacket.parse($0) }
            packet.withUnsafeMutableBytes { TransportChecksum.fill($0, parsed) }
            let original = packet
            for checksumIsPartial in [false, true] {
                var rewritten = original
                var copy = parsed
                rewritten.withUnsafeMutableBytes { copy.rewriteTCPWindow(to: 63, in: $0, checksumIsPartial: checksumIsPartial) }
                parsed = try rewritten.withUnsafeBytes { try ParsedPacket.parse($0) }
                #expect(rewritten.withUnsafeBytes { TransportChecksum.isValid($0, parsed) })
                guard case .tcp(let tcp) = parsed.transport, case .tcp(let kept) = copy.transport else {
                    Issue.record("not TCP")
                    continue
                }
                #expect(tcp.window == 63 && kept == tcp)
                let changed = rewritten.indices.filter { rewritten[$0] != original[$0] }.map { $0 - parsed.transportOffset }
                #expect(changed.allSatisfy { (14...17).contains($0) }, "changed TCP header bytes \(changed)")
            }
        }
    }
}
