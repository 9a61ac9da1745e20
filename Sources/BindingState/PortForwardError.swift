/// Why a forward (`--forward`) or its addition to a `PortForwardTable` is refused; each
/// description says what to write instead.
public enum PortForwardError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No single `=` between the external ports and the LAN host.
    case notAForward(String)
    /// The external side has no `/PROTO`.
    case missingProtocol(String)
    case unknownProtocol(String)
    /// Not PORT or FIRST-LAST with FIRST <= LAST.
    case badExternalPorts(String)
    /// Not ADDRESS:PORT or [IPV6]:PORT.
    case badInternalEndpoint(String)
    case zeroPort
    /// The internal ports of a range would run past 65535.
    case internalPortsPastEnd(first: UInt16, count: Int)
    /// An external port of the same protocol is forwarded already, to somewhere else.
    case overlaps(PortForward, existing: PortForward)

    public var description: String {
        switch self {
        case .notAForward(let text):
            "'\(text)' is not EXTPORT/PROTO=HOST:PORT (for example 8080/tcp=192.0.2.2:80)"
        case .missingProtocol(let text):
            "'\(text)' names no protocol: write EXTPORT/tcp=HOST:PORT or EXTPORT/udp=HOST:PORT"
        case .unknownProtocol(let text):
            "protocol '\(text)' is neither tcp nor udp"
        case .badExternalPorts(let text):
            "external ports '\(text)' are not PORT or FIRST-LAST with FIRST <= LAST (1...65535)"
        case .badInternalEndpoint(let text):
            "LAN host '\(text)' is not ADDRESS:PORT or [IPV6]:PORT"
        case .zeroPort:
            "port 0 cannot be forwarded"
        case let .internalPortsPastEnd(first, count):
            "\(count) ports from internal port \(first) run past 65535"
        case let .overlaps(forward, existing):
            "\(forward) overlaps \(existing): an external port is forwarded to one LAN host only"
        }
    }
}
