public import WireFormat

/// Why a PM block is refused; each case maps to one counter and one log reason.
public enum PlainModeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The Length byte is not 8, 10 (IPv4) or 20, 22 (IPv6).
    case badLength(UInt8)
    /// The SubType nibble is not the one configured for this deployment.
    case unknownSubtype(UInt8)
    /// A byte where a PM option or EOL must start is neither 30 nor 0.
    case unexpectedOptionKind(UInt8)
    case duplicateSource
    case duplicateDestination
    case forbiddenAddress(ForbiddenAddressKind, PlainModeOption.Direction)
    case missingDestination
    case missingSource
    /// TCP and UDP destinations need a port; the option had none.
    case missingDestinationPort
    case zeroDestinationPort
    case protocolNotEnabled(UInt8)
    case protocolMismatch(source: UInt8, destination: UInt8)
    case familyMismatch
    /// The block did not end within the configured number of bytes.
    case blockTooLong(limit: Int)
    /// The input ended before the EOL (only from one-shot decoding; streams wait for more).
    case truncated

    public var description: String {
        switch self {
        case .badLength(let l): "PM option length \(l) is not 8, 10, 20 or 22"
        case .unknownSubtype(let s): "PM option subtype 0x\(String(s, radix: 16, uppercase: true)) is not the configured one"
        case .unexpectedOptionKind(let k): "byte \(k) where a PM option (30) or EOL (0) must start"
        case .duplicateSource: "more than one PM source option"
        case .duplicateDestination: "more than one PM destination option"
        case let .forbiddenAddress(kind, direction): "PM \(direction) address is \(kind.rawValue)"
        case .missingDestination: "no PM destination option"
        case .missingSource: "no PM source option, and source preservation needs one"
        case .missingDestinationPort: "PM destination has no port, and its protocol needs one"
        case .zeroDestinationPort: "PM destination port is 0"
        case .protocolNotEnabled(let p): "protocol \(p) is not enabled for plain mode"
        case let .protocolMismatch(s, d): "PM source says protocol \(s), destination says \(d)"
        case .familyMismatch: "PM source and destination are of different address families"
        case .blockTooLong(let limit): "PM block longer than \(limit) bytes"
        case .truncated: "PM block ends before its EOL"
        }
    }
}
