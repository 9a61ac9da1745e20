/// The PCP opcodes this module parses (RFC 6887 sections 14.1 and 11). Any other opcode,
/// PEER (2) included, is answered with UNSUPP_OPCODE.
public enum PCPOpcode: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// ANNOUNCE: no opcode data (RFC 6887 section 14.1).
    case announce = 0
    /// MAP: 36 bytes of opcode data (RFC 6887 section 11.1).
    case map = 1

    /// The name RFC 6887 gives this opcode, e.g. "MAP".
    public var name: String {
        switch self {
        case .announce: "ANNOUNCE"
        case .map: "MAP"
        }
    }

    /// The RFC name followed by the number, e.g. "MAP (1)".
    public var description: String { "\(name) (\(rawValue))" }

    /// Bytes of opcode data that follow the common header.
    public var dataSize: Int {
        switch self {
        case .announce: 0
        case .map: PCP.mapDataSize
        }
    }

    /// The name of an opcode number IANA has assigned, even one this module does not parse.
    public static func registeredName(_ rawValue: UInt8) -> String? {
        switch rawValue {
        case 0: "ANNOUNCE"
        case 1: "MAP"
        case 2: "PEER"
        case 3: "AUTHENTICATION"
        default: nil
        }
    }
}
