import PCP
import WireFormat
import TestSupport

/// Hand-built wire bytes, independent of the serializer under test.
struct WireBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    mutating func u32(_ value: UInt32) { for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
    mutating func zeros(_ count: Int) { bytes += [UInt8](repeating: 0, count: count) }
    mutating func address(_ address: IPv6Address) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: address.high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: address.low >> UInt64(shift))) }
    }

    /// A request header: version, R=0 and opcode, reserved, lifetime, client address.
    mutating func requestHeader(version: UInt8 = 2, opcode: UInt8, lifetime: UInt32 = 7200,
                                client: IPv6Address = Fixtures.client) {
        u8(version); u8(opcode); u16(0); u32(lifetime); address(client)
    }

    /// MAP opcode data with the nonce 01..0C.
    mutating func mapData(protocolNumber: UInt8 = 17, internalPort: UInt16 = 50000,
                          externalPort: UInt16 = 0, externalAddress: IPv6Address = Fixtures.unspecifiedIPv4) {
        bytes += Array(1...12)
        u8(protocolNumber); zeros(3); u16(internalPort); u16(externalPort); address(externalAddress)
    }

    /// An option with its declared length, its data, and zero padding to a multiple of 4.
    mutating func option(code: UInt8, length: UInt16? = nil, data: [UInt8] = []) {
        u8(code); u8(0); u16(length ?? UInt16(data.count)); bytes += data
        zeros((4 - data.count % 4) % 4)
    }

    mutating func portSet(size: UInt16, first: UInt16 = 50000, parity: Bool = false) {
        var data = WireBuilder()
        data.u16(size); data.u16(first); data.u8(parity ? 1 : 0)
        option(code: 130, data: data.bytes)
    }

    mutating func thirdParty(_ address: IPv6Address) {
        var data = WireBuilder()
        data.address(address)
        option(code: 1, data: data.bytes)
    }

    mutating func filter(prefixLength: UInt8, port: UInt16 = 0, peer: IPv6Address) {
        var data = WireBuilder()
        data.u8(0); data.u8(prefixLength); data.u16(port); data.address(peer)
        option(code: 3, data: data.bytes)
    }

    mutating func preferFailure() { option(code: 2) }
}

enum Fixtures {
    static let client = IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 100))
    static let unspecifiedIPv4 = IPv6Address(ipv4Mapped: IPv4Address(0))
    static let nonce = PCPMappingNonce(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C)

    /// FACTS.md section 5: the RFC 7753 section 5.1 request.
    static let rfc7753Request = hexBytes("""
        02 01 00 00 00 00 1C 20 00 00 00 00 00 00 00 00 00 00 FF FF C0 00 02 64
        01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 00 00 00 00 00 00
        00 00 00 00 00 00 FF FF 00 00 00 00 82 00 00 05 00 64 C3 50 00 00 00 00
        """)

    /// FACTS.md section 5: the RFC 7753 section 5.1 response.
    static let rfc7753Response = hexBytes("""
        02 81 00 00 00 00 1C 20 00 00 0E 10 00 00 00 00 00 00 00 00 00 00 00 00
        01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 90 C0 00 00 00 00
        00 00 00 00 00 00 FF FF C0 00 02 03 82 00 00 05 00 20 C3 50 00 00 00 00
        """)

    /// The values the RFC 7753 section 5.1 request carries.
    static let rfc7753RequestValue = PCPRequest(
        requestedLifetime: 7200, clientAddress: client,
        payload: .map(PCPMapData(nonce: nonce, protocolNumber: 17, internalPort: 50000,
                                 externalPort: 0, externalAddress: unspecifiedIPv4)),
        options: [.portSet(PCPPortSet(size: 100, firstInternalPort: 50000, preservesParity: false))])

    /// The values the RFC 7753 section 5.1 response carries.
    static let rfc7753ResponseValue = PCPResponse(
        resultCode: .success, lifetime: 7200, epochTime: 3600,
        payload: .map(PCPMapData(nonce: nonce, protocolNumber: 17, internalPort: 50000,
                                 externalPort: 37056, externalAddress: IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 3)))),
        options: [.portSet(PCPPortSet(size: 32, firstInternalPort: 50000, preservesParity: false))])

    /// A valid MAP request prefix (header and MAP data) that tests append options to.
    static func mapRequest(lifetime: UInt32 = 7200, protocolNumber: UInt8 = 17, internalPort: UInt16 = 50000,
                           externalPort: UInt16 = 0, externalAddress: IPv6Address = unspecifiedIPv4) -> WireBuilder {
        var builder = WireBuilder()
        builder.requestHeader(opcode: 1, lifetime: lifetime)
        builder.mapData(protocolNumber: protocolNumber, internalPort: internalPort,
                        externalPort: externalPort, externalAddress: externalAddress)
        return builder
    }
}

/// The error `PCPRequest.parse` throws for `bytes`, or nil if it parses.
func requestError(_ bytes: [UInt8]) -> PCPRequestError? {
    do {
        _ = try PCPRequest.parse(bytes)
        return nil
    } catch {
        return error
    }
}

/// The error `PCPResponse.parse` throws for `bytes`, or nil if it parses.
func responseError(_ bytes: [UInt8]) -> PCPResponseError? {
    do {
        _ = try PCPResponse.parse(bytes)
        return nil
    } catch {
        return error
    }
}

// MARK: - Random valid messages

extension SplitMix64 {
    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func u8() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func u16() -> UInt16 { UInt16(truncatingIfNeeded: next()) }
    mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// An address: half IPv4-mapped, some all-zeros of either family, the rest random IPv6.
    mutating func address() -> IPv6Address {
        switch int(0...9) {
        case 0: IPv6Address.any
        case 1: IPv6Address(ipv4Mapped: IPv4Address(0))
        case 2...5: IPv6Address(ipv4Mapped: IPv4Address(u32()))
        default: IPv6Address(high: next(), low: next())
        }
    }

    mutating func mapData() -> PCPMapData {
        let protocolNumber: UInt8 = [0, 6, 17, 132, u8()][int(0...4)]
        return PCPMapData(
            nonce: PCPMappingNonce(high: next(), low: u32()), protocolNumber: protocolNumber,
            internalPort: protocolNumber == 0 ? 0 : u16(), externalPort: bool() ? 0 : u16(),
            externalAddress: address())
    }

    /// A FILTER whose prefix length suits its address family.
    mutating func validFilter() -> PCPFilter {
        let peer = address()
        let prefix: UInt8 = peer.ipv4Mapped != nil ? (bool() ? 0 : UInt8(int(96...128))) : UInt8(int(0...128))
        return PCPFilter(prefixLength: prefix, remotePeerPort: u16(), remotePeerAddress: peer)
    }

    mutating func unknownOptionalOption() -> PCPOption {
        var code = UInt8(int(128...255))
        if code == 130 { code = 131 }
        return .unknown(code: code, dataLength: UInt16(int(0...24)))
    }

    /// A request that a server accepts: every RFC rule respected, options in random order.
    mutating func validRequest() -> PCPRequest {
        let lifetime: UInt32 = bool() ? 0 : u32()
        if int(0...4) == 0 {
            let options = (0..<int(0...2)).map { _ in unknownOptionalOption() }
            return PCPRequest(requestedLifetime: lifetime, clientAddress: address(), payload: .announce, options: options)
        }
        var data = mapData()
        var options: [PCPOption] = []
        if bool() { options.append(.thirdParty(address())) }
        for _ in 0..<int(0...3) { options.append(.filter(validFilter())) }
        for _ in 0..<int(0...2) { options.append(unknownOptionalOption()) }
        switch int(0...2) {
        case 0:
            options.append(.portSet(PCPPortSet(size: UInt16(int(1...0xFFFF)), firstInternalPort: data.internalPort,
                                               preservesParity: bool())))
        case 1:
            // PREFER_FAILURE needs a suggestion (RFC 6887 section 13.2).
            if data.externalPort == 0 { data.externalPort = UInt16(int(1...0xFFFF)) }
            options.append(.preferFailure)
        default:
            break
        }
        options.shuffle(using: &self)
        return PCPRequest(requestedLifetime: lifetime, clientAddress: address(), payload: .map(data), options: options)
    }

    /// Any response with well-formed option lengths; a client parser accepts all of these.
    mutating func validResponse() -> PCPResponse {
        let code = PCPResultCode.allCases[int(0...PCPResultCode.allCases.count - 1)]
        let payload: PCPOpcodePayload = int(0...3) == 0 ? .announce : .map(mapData())
        var options: [PCPOption] = []
        for _ in 0..<int(0...5) {
            switch int(0...5) {
            case 0: options.append(.thirdParty(address()))
            case 1: options.append(.preferFailure)
            case 2: options.append(.filter(PCPFilter(prefixLength: u8(), remotePeerPort: u16(), remotePeerAddress: address())))
            case 3: options.append(.portSet(PCPPortSet(size: u16(), firstInternalPort: u16(), preservesParity: bool())))
            case 4: options.append(.unknown(code: UInt8(int(4...127)), dataLength: UInt16(int(0...16))))
            default: options.append(unknownOptionalOption())
            }
        }
        return PCPResponse(resultCode: code, lifetime: u32(), epochTime: u32(), payload: payload, options: options)
    }
}
