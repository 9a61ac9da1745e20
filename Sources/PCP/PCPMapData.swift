public import WireFormat

/// The 96-bit Mapping Nonce a client picks for a MAP request (RFC 6887 section 11.1).
public struct PCPMappingNonce: Hashable, Sendable, CustomStringConvertible {
    /// The first 64 bits, in wire order.
    public var high: UInt64
    /// The last 32 bits, in wire order.
    public var low: UInt32

    /// A nonce from its first 64 and last 32 bits.
    public init(high: UInt64, low: UInt32) {
        self.high = high
        self.low = low
    }

    /// A nonce from exactly 12 bytes in wire order; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 12 else { return nil }
        var high: UInt64 = 0
        var low: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt32(byte) }
        }
        self.init(high: high, low: low)
    }

    /// The 12 bytes in wire order.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * UInt32($0))) }
    }

    /// 24 lower-case hex digits in wire order.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(24)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// The MAP opcode data (RFC 6887 sections 11.1 and 11.2); the same 36 bytes in requests and
/// responses, where the external port and address are "suggested" in a request and "assigned"
/// in a response.
public struct PCPMapData: Hashable, Sendable {
    /// Mapping Nonce, copied from request to response.
    public var nonce: PCPMappingNonce
    /// Protocol: an IANA protocol number (6 TCP, 17 UDP); 0 means all protocols.
    public var protocolNumber: UInt8
    /// Internal Port; 0 means all ports, and MUST be 0 when the protocol is 0.
    public var internalPort: UInt16
    /// Suggested (request) or Assigned (response) External Port; 0 when there is no preference.
    public var externalPort: UInt16
    /// Suggested (request) or Assigned (response) External IP Address, IPv4 as IPv4-mapped;
    /// the family's all-zeros address (:: or ::ffff:0.0.0.0) when there is no preference.
    public var externalAddress: IPv6Address

    /// MAP data with every field given.
    public init(
        nonce: PCPMappingNonce, protocolNumber: UInt8, internalPort: UInt16,
        externalPort: UInt16, externalAddress: IPv6Address
    ) {
        self.nonce = nonce
        self.protocolNumber = protocolNumber
        self.internalPort = internalPort
        self.externalPort = externalPort
        self.externalAddress = externalAddress
    }

    /// Whether the external address is the all-zeros address of either family (RFC 6887
    /// section 5: :: for IPv6, ::ffff:0.0.0.0 for IPv4), i.e. "no preference".
    public var hasUnspecifiedExternalAddress: Bool {
        externalAddress.isUnspecified || externalAddress.ipv4Mapped?.value == 0
    }
}

/// What follows the common header: the opcode and its data.
public enum PCPOpcodePayload: Hashable, Sendable {
    /// ANNOUNCE, which has no data.
    case announce
    /// MAP with its 36 bytes of data.
    case map(PCPMapData)

    /// The opcode this payload belongs to.
    public var opcode: PCPOpcode {
        switch self {
        case .announce: .announce
        case .map: .map
        }
    }

    /// The MAP data, or nil for ANNOUNCE.
    public var mapData: PCPMapData? {
        if case .map(let data) = self { return data }
        return nil
    }
}
