public import WireFormat

/// Which PM destinations the concentrator refuses to relay to (draft 7.1, 9.2: never an open relay
/// into itself or a network it should not reach), each refusal with its own reason so it can be
/// counted. Checked by the SYN gate and by the stream plane before an upstream connect.
public struct DestinationFilter: Sendable {
    /// Why a destination is refused; each case is a counter of `ctl stats`.
    public enum Refusal: Int, Sendable, CaseIterable {
        /// One of the concentrator's own addresses.
        case ownAddress
        /// A listener of the concentrator (its own address and listening port).
        case listener
        /// Inside a pool prefix: a flow from a pool address back into the pool loops through the relay.
        case pool
        /// Inside a `--deny-destination` prefix (by default the RFC 6890 ranges that are never a destination).
        case denied
    }

    /// The RFC 6890 ranges that can never be a destination: this network, loopback, link-local,
    /// multicast, reserved (with limited broadcast), and their IPv6 counterparts (unspecified,
    /// loopback, IPv4-mapped, link-local, multicast). Private ranges are not in it.
    public static let neverDestinations: [IPPrefix] = [
        "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "::ffff:0:0/96", "fe80::/10", "ff00::/8",
    ].map { text in
        guard let prefix = try? IPPrefix(text) else { preconditionFailure("bad built-in prefix \(text)") }
        return prefix
    }

    /// The concentrator's own addresses (its interfaces', read at start-up and on SIGHUP).
    public var ownAddresses: OwnAddresses
    /// Listening sockets; an unspecified address stands for every own address.
    public var listeners: [(address: IPAddress, port: UInt16)]
    public var pools: [IPPrefix]
    public var denied: [IPPrefix]

    public init(ownAddresses: OwnAddresses = [], listeners: [(address: IPAddress, port: UInt16)] = [],
                pools: [IPPrefix] = [], denied: [IPPrefix] = DestinationFilter.neverDestinations) {
        self.ownAddresses = ownAddresses
        self.listeners = listeners
        self.pools = pools
        self.denied = denied
    }

    /// Why `address` (and `port`, when the protocol has ports) may not be a destination; nil when it may.
    public func refusal(of address: IPAddress, port: UInt16?) -> Refusal? {
        let own = ownAddresses.contains(address)
        if let port {
            for listener in listeners where listener.port == port {
                if listener.address == address || (own && Self.isWildcard(listener.address)) { return .listener }
            }
        }
        if own { return .ownAddress }
        if pools.contains(where: { $0.contains(address) }) { return .pool }
        if denied.contains(where: { $0.contains(address) }) { return .denied }
        return nil
    }

    /// 0.0.0.0 or ::, a listener bound to every address.
    static func isWildcard(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): a.value == 0
        case .v6(let a): a.high == 0 && a.low == 0
        }
    }
}
