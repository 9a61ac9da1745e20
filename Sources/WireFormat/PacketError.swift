/// Why a buffer is not a packet the data path can handle; each case is counted by its caller.
public enum PacketError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(layer: Layer, needed: Int, available: Int)
    case badVersion(UInt8)
    case badHeaderLength(layer: Layer, length: Int)
    case badTotalLength(layer: Layer, length: Int)
    case badTCPOption(offset: Int)
    case tooManyExtensionHeaders
    case encrypted

    public enum Layer: String, Sendable { case ipv4, ipv6, ipv6Extension, tcp, udp }

    public var description: String {
        switch self {
        case let .truncated(layer, needed, available):
            "\(layer.rawValue) header truncated: needs \(needed) bytes, \(available) available"
        case .badVersion(let v): "IP version \(v) is neither 4 nor 6"
        case let .badHeaderLength(layer, length): "\(layer.rawValue) header length \(length) is invalid"
        case let .badTotalLength(layer, length): "\(layer.rawValue) length field \(length) disagrees with the buffer"
        case .badTCPOption(let offset): "malformed TCP option at option byte \(offset)"
        case .tooManyExtensionHeaders: "IPv6 extension-header chain too long"
        case .encrypted: "transport header is inside ESP"
        }
    }
}

/// IANA protocol numbers the data path distinguishes.
public enum IPProtocolNumber {
    public static let hopByHop: UInt8 = 0
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let routing: UInt8 = 43
    public static let fragment: UInt8 = 44
    public static let esp: UInt8 = 50
    public static let authentication: UInt8 = 51
    public static let icmpv6: UInt8 = 58
    public static let noNextHeader: UInt8 = 59
    public static let destinationOptions: UInt8 = 60
    public static let mobility: UInt8 = 135
    public static let hip: UInt8 = 139
    public static let shim6: UInt8 = 140
}
