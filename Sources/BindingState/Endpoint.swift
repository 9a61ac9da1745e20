public import WireFormat

/// An address and port: one end of a relayed flow.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The IPv4 or IPv6 address.
    public var address: IPAddress
    /// The TCP or UDP port.
    public var port: UInt16

    /// Pairs an address with a port.
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// "198.51.100.1:5000", or "[2001:db8::1]:5000" so the port cannot be read as a group.
    public var description: String {
        switch address {
        case .v4: "\(address):\(port)"
        case .v6: "[\(address)]:\(port)"
        }
    }
}
