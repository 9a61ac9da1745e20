/// The decoded fixed IPv6 header (RFC 8200) plus where the extension-header walk ended.
@frozen
public struct IPv6Header: Equatable, Sendable {
    public static let fixedLength = 40
    /// Bound on the extension-header walk: real stacks use a handful; hostile chains get cut off.
    public static let maximumExtensionHeaders = 16

    @inlinable
    public init(trafficClass: UInt8, flowLabel: UInt32, payloadLength: Int, hopLimit: UInt8, source: IPv6Address, destination: IPv6Address, upperLayerProtocol: UInt8, upperLayerOffset: Int, isNonFirstFragment: Bool, isFragment: Bool) {
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel
        self.payloadLength = payloadLength
        self.hopLimit = hopLimit
        self.source = source
        self.destination = destination
        self.upperLayerProtocol = upperLayerProtocol
        self.upperLayerOffset = upperLayerOffset
        self.isNonFirstFragment = isNonFirstFragment
        self.isFragment = isFragment
    }

    public var trafficClass: UInt8
    public var flowLabel: UInt32
    public var payloadLength: Int
    public var hopLimit: UInt8
    public var source: IPv6Address
    public var destination: IPv6Address
    /// The Next Header value after the last extension header: the upper-layer protocol.
    public var upperLayerProtocol: UInt8
    /// Offset (from the start of the IPv6 header) of the upper-layer header.
    public var upperLayerOffset: Int
    /// Set when a Fragment header says this is not the first fragment (no transport header here).
    public var isNonFirstFragment: Bool
    /// Set when a Fragment header is present at all.
    public var isFragment: Bool

    /// Decodes the fixed header and walks the extension headers to the upper layer.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PacketError) -> IPv6Header {
        guard bytes.count >= fixedLength else {
            throw .truncated(layer: .ipv6, needed: fixedLength, available: bytes.count)
        }
        let first = bytes.wireUInt32(at: 0)
        guard first >> 28 == 6 else { throw .badVersion(UInt8(truncatingIfNeeded: first >> 28)) }
        let payloadLength = Int(bytes.wireUInt16(at: 4))
        // 0 is a jumbogram or a GSO super-packet: trust the buffer.
        let end = payloadLength == 0 ? bytes.count : fixedLength + payloadLength
        guard end <= bytes.count else { throw .badTotalLength(layer: .ipv6, length: payloadLength) }

        var next = bytes[6]
        var offset = fixedLength
        var isFragment = false
        var isNonFirstFragment = false
        var walked = 0
        walk: while true {
            switch next {
            case IPProtocolNumber.hopByHop, IPProtocolNumber.routing, IPProtocolNumber.destinationOptions,
                 IPProtocolNumber.mobility, IPProtocolNumber.hip, IPProtocolNumber.shim6:
                guard offset + 8 <= end else { throw .truncated(layer: .ipv6Extension, needed: offset + 8, available: end) }
                let length = (Int(bytes[offset + 1]) + 1) * 8
                guard offset + length <= end else { throw .truncated(layer: .ipv6Extension, needed: offset + length, available: end) }
                next = bytes[offset]
                offset += length
            case IPProtocolNumber.authentication:
                // AH counts its length in 4-byte units, minus 2 (RFC 4302).
                guard offset + 8 <= end else { throw .truncated(layer: .ipv6Extension, needed: offset + 8, available: end) }
                let length = (Int(bytes[offset + 1]) + 2) * 4
                guard offset + length <= end else { throw .truncated(layer: .ipv6Extension, needed: offset + length, available: end) }
                next = bytes[offset]
                offset += length
            case IPProtocolNumber.fragment:
                guard offset + 8 <= end else { throw .truncated(layer: .ipv6Extension, needed: offset + 8, available: end) }
                isFragment = true
                if bytes.wireUInt16(at: offset + 2) & 0xFFF8 != 0 { isNonFirstFragment = true }
                next = bytes[offset]
                offset += 8
            case IPProtocolNumber.esp:
                throw .encrypted
            default:
                break walk
            }
            walked += 1
            guard walked <= maximumExtensionHeaders else { throw .tooManyExtensionHeaders }
            if isNonFirstFragment { break walk }
        }
        return IPv6Header(
            trafficClass: UInt8(truncatingIfNeeded: first >> 20),
            flowLabel: first & 0xFFFFF,
            payloadLength: end - fixedLength,
            hopLimit: bytes[7],
            source: bytes.wireIPv6Address(at: 8),
            destination: bytes.wireIPv6Address(at: 24),
            upperLayerProtocol: next,
            upperLayerOffset: offset,
            isNonFirstFragment: isNonFirstFragment,
            isFragment: isFragment
        )
    }

    /// Writes a 40-byte header with no extension headers; returns 40.
    @inlinable
    @discardableResult
    public static func write(
        into bytes: UnsafeMutableRawBufferPointer,
        source: IPv6Address, destination: IPv6Address, nextHeader: UInt8,
        payloadLength: Int, hopLimit: UInt8 = 64, flowLabel: UInt32 = 0
    ) -> Int {
        precondition(bytes.count >= fixedLength && payloadLength <= 0xFFFF)
        bytes.storeWireUInt32(0x6000_0000 | (flowLabel & 0xFFFFF), at: 0)
        bytes.storeWireUInt16(UInt16(payloadLength), at: 4)
        bytes[6] = nextHeader
        bytes[7] = hopLimit
        bytes.storeWireIPv6Address(source, at: 8)
        bytes.storeWireIPv6Address(destination, at: 24)
        return fixedLength
    }
}
