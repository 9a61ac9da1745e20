/// The transport protocols that get bindings, with their IP protocol numbers as raw values.
/// TCP and UDP have separate external port spaces (RFC 6888 REQ-9 counts them apart).
public enum TransportProtocol: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// TCP, IP protocol 6.
    case tcp = 6
    /// UDP, IP protocol 17.
    case udp = 17

    /// "tcp" or "udp", as logs and the CLI print it.
    public var description: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        }
    }
}
