// libFuzzer target for the WireFormat decoders: ParsedPacket.parse (IPv4/IPv6, extension-header
// walk, TCP/UDP headers), the TCP option walk, transport checksums (verify, fill, RFC 1624
// in-place rewrites of addresses and ports) and the address text forms.
//
// Fuzz run:     Tests/Fuzz/run-fuzzers.sh [RUNS] packet   (builds with --sanitize=fuzzer,
//               --sanitize=address, -DFUZZING and, for release, an explicit -sanitize-coverage)
// Replay build: swift run --scratch-path .build-fuzz fuzz-packet Tests/Fuzz/corpus/packet
//
// Every invariant is a `require` (a fatalError that keeps its message in -O builds): a violation
// is a crash that libFuzzer reports and saves.

import FuzzSupport
import TestSupport
import WireFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    checkChecksum(input)
    checkPacket(input)
    checkText(input)
    return 0
}

// MARK: - Helpers

/// The RFC 1071 sum the slow, obvious way: big-endian 16-bit words, odd byte padded after.
func referenceSum(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt64 {
    var sum = initial
    var i = 0
    while i + 1 < bytes.count {
        sum += UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
        i += 2
    }
    if i < bytes.count { sum += UInt64(bytes[i]) << 8 }
    return sum
}

func fold(_ value: UInt64) -> UInt16 {
    var s = value
    while s > 0xFFFF { s = (s & 0xFFFF) + (s >> 16) }
    return UInt16(s)
}

func referencePseudoHeaderSum(_ parsed: ParsedPacket, length: Int) -> UInt64 {
    var sum: UInt64 = 0
    func add(_ a: IPAddress) {
        switch a {
        case .v4(let v): sum += UInt64(v.value >> 16) + UInt64(v.value & 0xFFFF)
        case .v6(let v):
            for i in 0..<8 { sum += UInt64(v.group(i)) }
        }
    }
    add(parsed.source)
    add(parsed.destination)
    sum += UInt64(parsed.protocolNumber)
    sum += UInt64(length >> 16) + UInt64(length & 0xFFFF)
    return sum
}

/// Whether the transport checksum is right, computed independently of WireFormat's code.
func referenceTransportValid(_ packet: UnsafeRawBufferPointer, _ parsed: ParsedPacket) -> Bool {
    if case .udp(let udp) = parsed.transport, udp.checksum == 0, parsed.source.isIPv4 { return true }
    if case .other = parsed.transport { return false }
    if parsed.isFragment { return false }
    let start = parsed.transportOffset
    let length = parsed.transportLength
    let sum = referenceSum(UnsafeRawBufferPointer(rebasing: packet[start..<start + length]),
                           initial: referencePseudoHeaderSum(parsed, length: length))
    return fold(sum) == 0xFFFF
}

// MARK: - Checksums

func checkChecksum(_ input: UnsafeRawBufferPointer) {
    // The 64-bit-load implementation must agree with the obvious one at every start offset parity.
    for start in 0..<min(input.count, 3) {
        let slice = UnsafeRawBufferPointer(rebasing: input[start...])
        let expected = ~fold(referenceSum(slice))
        let got = InternetChecksum.checksum(of: slice)
        require(got == expected, "checksum(of:) \(got) != reference \(expected) at start \(start)")
        // Adding in two pieces split at an even offset gives the same sum.
        if slice.count >= 2 {
            let cut = (slice.count / 2) & ~1
            var c = InternetChecksum()
            c.add(bytes: UnsafeRawBufferPointer(rebasing: slice[0..<cut]))
            c.add(bytes: UnsafeRawBufferPointer(rebasing: slice[cut...]))
            require(c.checksum == expected, "split checksum \(c.checksum) != \(expected)")
        }
    }
}

// MARK: - Packets

func checkPacket(_ input: UnsafeRawBufferPointer) {
    let size = input.count
    let parsed: ParsedPacket
    do throws(PacketError) {
        parsed = try ParsedPacket.parse(input)
    } catch {
        _ = error.description
        return
    }

    // Offsets stay inside the buffer and in order.
    require(parsed.transportOffset >= 0, "negative transport offset")
    require(parsed.transportOffset <= parsed.payloadOffset, "payload before transport header")
    require(parsed.payloadLength >= 0, "negative payload length \(parsed.payloadLength)")
    require(parsed.payloadOffset + parsed.payloadLength <= parsed.packetLength,
                 "payload \(parsed.payloadOffset)+\(parsed.payloadLength) past packet length \(parsed.packetLength)")
    require(parsed.transportOffset + parsed.transportLength <= parsed.packetLength, "transport past packet")
    require(parsed.packetLength <= size, "packet length \(parsed.packetLength) past buffer \(size)")

    // The per-layer parsers agree with the packet parser.
    switch parsed.source {
    case .v4:
        guard case .v4 = parsed.destination else { fatalError("mixed families") }
        let ip: IPv4Header
        do throws(PacketError) { ip = try IPv4Header.parse(input) } catch { fatalError("IPv4Header.parse failed: \(error)") }
        require(ip.headerLength == parsed.transportOffset && ip.totalLength == parsed.packetLength)
        require(ip.headerLength >= IPv4Header.minimumLength && ip.headerLength <= ip.totalLength)
        require(parsed.isFragment == ip.isFragment)
    case .v6:
        guard case .v6 = parsed.destination else { fatalError("mixed families") }
        let ip: IPv6Header
        do throws(PacketError) { ip = try IPv6Header.parse(input) } catch { fatalError("IPv6Header.parse failed: \(error)") }
        require(ip.upperLayerOffset == parsed.transportOffset)
        require(IPv6Header.fixedLength + ip.payloadLength == parsed.packetLength)
        require(ip.upperLayerOffset >= IPv6Header.fixedLength)
        require(!ip.isNonFirstFragment || ip.isFragment)
    }

    // Addresses survive their text form.
    for address in [parsed.source, parsed.destination] {
        let text = address.description
        guard let back = IPAddress(text) else { fatalError("address text \(text) does not parse") }
        require(back == address, "address \(text) parsed back differently")
    }

    let segment = UnsafeRawBufferPointer(rebasing: input[parsed.transportOffset..<parsed.packetLength])
    if case .tcp(let tcp) = parsed.transport {
        require(tcp.headerLength >= TCPHeader.minimumLength && tcp.headerLength <= segment.count)
        checkTCPOptions(segment: segment, headerLength: tcp.headerLength)
    }
    if case .udp(let udp) = parsed.transport {
        require(udp.totalLength >= UDPHeader.length && udp.totalLength <= segment.count)
    }

    // The optimised checksum verification agrees with the reference.
    let valid = TransportChecksum.isValid(input, parsed)
    require(valid == referenceTransportValid(input, parsed), "isValid disagrees with the reference")

    checkRewrites(input, parsed)
}

func checkTCPOptions(segment: UnsafeRawBufferPointer, headerLength: Int) {
    let options = TCPOptions(segment: segment, headerLength: headerLength)
    var firstMPTCP: TCPOption?
    var count = 0
    var walkError: PacketError?
    do throws(PacketError) {
        try options.forEach { (option) throws(PacketError) in
            require(option.dataOffset >= TCPHeader.minimumLength + 2, "option data before the options")
            require(option.dataLength >= 0 && option.dataOffset + option.dataLength <= headerLength,
                         "option \(option.kind) data past the header")
            require(option.kind != TCPOption.endOfList && option.kind != TCPOption.noOperation)
            if firstMPTCP == nil && option.kind == TCPOption.multipathTCP { firstMPTCP = option }
            count += 1
        }
    } catch {
        walkError = error
        if case .badTCPOption(let offset) = error {
            require(offset >= TCPHeader.minimumLength && offset < headerLength, "bad option offset \(offset)")
        } else {
            fatalError("unexpected option error \(error)")
        }
    }
    require(count <= (headerLength - TCPHeader.minimumLength) / 2)

    // first(kind:) and multipathSubtype() agree with the walk (they throw exactly when it does).
    do throws(PacketError) {
        let first = try options.first(kind: TCPOption.multipathTCP)
        require(walkError == nil, "first(kind:) succeeded where forEach threw")
        require(first == firstMPTCP, "first(kind:) disagrees with forEach")
        let subtype = try options.multipathSubtype()
        if let first, first.dataLength >= 1 {
            require(subtype == segment[first.dataOffset] >> 4)
        } else {
            require(subtype == nil)
        }
    } catch {
        require(error == walkError, "first(kind:) threw \(error), forEach \(String(describing: walkError))")
    }
}

/// Fills the checksums, then rewrites addresses and ports in place: after each step the packet
/// must re-parse to what the rewrite says, and checksums that were right must stay right.
func checkRewrites(_ input: UnsafeRawBufferPointer, _ original: ParsedPacket) {
    let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count, alignment: 8)
    defer { packet.deallocate() }
    packet.copyMemory(from: input)
    var rng = SplitMix64(seed: fnv1a(input))
    var parsed = original

    func reparse(_ what: String) -> ParsedPacket {
        do throws(PacketError) {
            return try ParsedPacket.parse(UnsafeRawBufferPointer(packet))
        } catch {
            fatalError("packet no longer parses after \(what): \(error)")
        }
    }

    // IPv4 header checksum: make it right so that incremental updates can be checked.
    let isIPv4 = parsed.source.isIPv4
    if isIPv4 {
        let headerLength = parsed.transportOffset
        packet.storeWireUInt16(0, at: 10)
        let c = InternetChecksum.checksum(of: UnsafeRawBufferPointer(rebasing: packet[0..<headerLength]))
        packet.storeWireUInt16(c, at: 10)
        require(IPv4Header.hasValidChecksum(UnsafeRawBufferPointer(packet), headerLength: headerLength))
    }

    let hasPorts: Bool
    switch parsed.transport {
    case .tcp, .udp: hasPorts = true
    case .other: hasPorts = false
    }
    // Transport checksum: fill, then it must verify (fragments cannot be verified).
    TransportChecksum.fill(packet, parsed)
    parsed = reparse("fill")
    let checkable = hasPorts && !parsed.isFragment
    if checkable {
        require(TransportChecksum.isValid(UnsafeRawBufferPointer(packet), parsed), "fill left an invalid checksum")
        require(referenceTransportValid(UnsafeRawBufferPointer(packet), parsed), "fill disagrees with the reference")
    }

    func verify(_ what: String) {
        let again = reparse(what)
        require(again == parsed, "re-parse after \(what) differs from the rewritten ParsedPacket")
        if isIPv4 {
            require(IPv4Header.hasValidChecksum(UnsafeRawBufferPointer(packet), headerLength: parsed.transportOffset),
                         "IPv4 header checksum wrong after \(what)")
        }
        if checkable {
            require(TransportChecksum.isValid(UnsafeRawBufferPointer(packet), parsed),
                         "transport checksum wrong after \(what)")
        }
    }

    let r = rng.next()
    let endpoint: PacketEndpoint = r & 1 == 0 ? .source : .destination
    if isIPv4 {
        parsed.rewriteIPv4Address(endpoint, to: IPv4Address(UInt32(truncatingIfNeeded: r >> 32)), in: packet)
        verify("rewriteIPv4Address(\(endpoint))")
        parsed.rewriteIPv4Address(endpoint == .source ? .destination : .source,
                                  to: IPv4Address(UInt32(truncatingIfNeeded: rng.next())), in: packet)
        verify("second rewriteIPv4Address")
    } else {
        parsed.rewriteIPv6Address(endpoint, to: IPv6Address(high: rng.next(), low: rng.next()), in: packet)
        verify("rewriteIPv6Address(\(endpoint))")
        parsed.rewriteIPv6Address(endpoint == .source ? .destination : .source,
                                  to: IPv6Address(high: rng.next(), low: rng.next()), in: packet)
        verify("second rewriteIPv6Address")
    }
    if hasPorts {
        let p = rng.next()
        parsed.rewritePort(.source, to: UInt16(truncatingIfNeeded: p), in: packet)
        verify("rewritePort(source)")
        parsed.rewritePort(.destination, to: UInt16(truncatingIfNeeded: p >> 16), in: packet)
        verify("rewritePort(destination)")
    }
    // Only the address, port and checksum fields may differ from the input.
    var mayChange = [Bool](repeating: false, count: input.count)
    func allow(_ range: Range<Int>) { for i in range where i < mayChange.count { mayChange[i] = true } }
    if isIPv4 { allow(10..<20) } else { allow(8..<40) }
    if hasPorts { allow(parsed.transportOffset..<parsed.transportOffset + 4) }
    if let field = TransportChecksum.fieldOffset(parsed) { allow(field..<field + 2) }
    for i in 0..<input.count where !mayChange[i] {
        require(packet[i] == input[i], "byte \(i) changed by fill or a rewrite")
    }
}

// MARK: - Address text

func checkText(_ input: UnsafeRawBufferPointer) {
    guard input.count <= 64 else { return }
    let text = String(decoding: input, as: UTF8.self)
    guard let address = IPAddress(text) else { return }
    let canonical = address.description
    guard let back = IPAddress(canonical) else { fatalError("canonical text \(canonical) does not parse") }
    require(back == address, "\(text) -> \(canonical) parses back differently")
    require(back.description == canonical, "canonical text is not stable")
    switch address {
    case .v4(let a): require(IPv4Address(text) == a)
    case .v6(let a): require(IPv6Address(text) == a)
    }
}

// MARK: - Replay main for normal builds

#if !FUZZING
/// In a normal build this target replays corpus files: `fuzz-packet Tests/Fuzz/corpus/packet`.
@main
enum FuzzPacketReplay {
    static func main() { replayCorpus(name: "fuzz-packet", entry: fuzz) }
}
#endif
