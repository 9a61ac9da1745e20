import WireFormat

/// A CPE's inbound forward: external ports of one protocol (ports of the mapping the
/// concentrator holds for this CPE) to a LAN host. From `--forward EXTPORT[-LAST]/PROTO=HOST:PORT`,
/// and later from the concentrator's answers to PCP requests. External port
/// `externalPorts.lowerBound + i` goes to internal port `internal.port + i`, as in `PortMapping`.
public struct PortForward: Hashable, Sendable, CustomStringConvertible {
    public var transport: TransportProtocol
    public var externalPorts: ClosedRange<UInt16>
    /// The LAN host, and the port `externalPorts.lowerBound` maps to.
    public var `internal`: Endpoint

    /// Checks what parsing checks: no port 0, internal ports that stay below 65536.
    public init(transport: TransportProtocol, externalPorts: ClosedRange<UInt16>, internal: Endpoint) throws(PortForwardError) {
        guard externalPorts.lowerBound != 0, `internal`.port != 0 else { throw .zeroPort }
        guard Int(`internal`.port) + Int(externalPorts.upperBound - externalPorts.lowerBound) <= Int(UInt16.max) else {
            throw .internalPortsPastEnd(first: `internal`.port, count: externalPorts.count)
        }
        self.transport = transport
        self.externalPorts = externalPorts
        self.internal = `internal`
    }

    /// The LAN endpoint an external port forwards to; nil outside `externalPorts`.
    public func internalEndpoint(forExternalPort port: UInt16) -> Endpoint? {
        guard externalPorts.contains(port) else { return nil }
        return Endpoint(address: `internal`.address, port: `internal`.port &+ (port &- externalPorts.lowerBound))
    }

    /// The flag's syntax: `8080/tcp=192.0.2.2:80`, `8000-8009/tcp=[2001:db8::2]:8000`.
    public var description: String {
        let ports = externalPorts.count == 1 ? "\(externalPorts.lowerBound)"
            : "\(externalPorts.lowerBound)-\(externalPorts.upperBound)"
        return "\(ports)/\(transport)=\(`internal`)"
    }

    /// Parses `EXTPORT[-LAST]/PROTO=HOST:PORT` (PROTO tcp or udp, an IPv6 HOST in brackets).
    public init(parsing text: String) throws(PortForwardError) {
        let sides = text.split(separator: "=", omittingEmptySubsequences: false)
        guard sides.count == 2 else { throw .notAForward(text) }
        let external = sides[0].split(separator: "/", omittingEmptySubsequences: false)
        guard external.count == 2 else { throw .missingProtocol(text) }
        let transport: TransportProtocol
        switch external[1].lowercased() {
        case "tcp": transport = .tcp
        case "udp": transport = .udp
        default: throw .unknownProtocol(String(external[1]))
        }
        let ports = try Self.portRange(external[0])
        let (host, port) = try Self.endpoint(sides[1])
        try self.init(transport: transport, externalPorts: ports, internal: Endpoint(address: host, port: port))
    }

    private static func portRange(_ text: Substring) throws(PortForwardError) -> ClosedRange<UInt16> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let first = UInt16(parts[0]), let last = UInt16(parts[parts.count - 1]),
              first <= last
        else { throw .badExternalPorts(String(text)) }
        return first...last
    }

    private static func endpoint(_ text: Substring) throws(PortForwardError) -> (IPAddress, UInt16) {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw .badInternalEndpoint(String(text))
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw .badInternalEndpoint(String(text)) }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard let address = IPAddress(host) else { throw .badInternalEndpoint(String(text)) }
        guard let number = UInt16(port) else { throw .badInternalEndpoint(String(text)) }
        return (address, number)
    }
}
