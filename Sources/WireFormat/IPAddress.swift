/// Either family; what PM options, PCP and bindings carry.
@frozen
public enum IPAddress: Hashable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Why an address can never be a relay endpoint (draft 4.2: ignore multicast, broadcast and
    /// loopback; unspecified is meaningless as an endpoint). nil when the address is usable.
    @inlinable
    public var forbiddenKind: ForbiddenAddressKind? {
        switch self {
        case .v4(let a):
            if a.isBroadcast { return .broadcast }
            if a.isMulticast { return .multicast }
            if a.isLoopback { return .loopback }
            if a.isUnspecified { return .unspecified }
            return nil
        case .v6(let a):
            if let mapped = a.ipv4Mapped { return IPAddress.v4(mapped).forbiddenKind }
            if a.isMulticast { return .multicast }
            if a.isLoopback { return .loopback }
            if a.isUnspecified { return .unspecified }
            return nil
        }
    }

    @inlinable public var isIPv4: Bool { if case .v4 = self { true } else { false } }
}

/// The address classes that RFC 6890 and the draft rule out as relay endpoints.
public enum ForbiddenAddressKind: String, Sendable, Equatable {
    case multicast, broadcast, loopback, unspecified
}
