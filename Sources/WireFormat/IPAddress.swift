/// Either family; what PM options, PCP and bindings carry.
@frozen
public enum IPAddress: Hashable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Why an address can never be a relay endpoint (draft 4.2: ignore multicast, broadcast and
    /// loopback; unspecified is meaningless as an endpoint). nil when the address is usable.
    @inlinable @inline(__always)
    public var forbiddenKind: ForbiddenAddressKind? {
        switch self {
        case .v4(let a):
            return a.forbiddenKind
        case .v6(let a):
            if let mapped = a.ipv4Mapped { return mapped.forbiddenKind }
            if a.isMulticast { return .multicast }
            if a.isLoopback { return .loopback }
            if a.isUnspecified { return .unspecified }
            return nil
        }
    }

    @inlinable public var isIPv4: Bool { if case .v4 = self { true } else { false } }
}

extension IPv4Address {
    /// The RFC 6890 class that rules this address out as a relay endpoint, if any.
    @inlinable @inline(__always)
    public var forbiddenKind: ForbiddenAddressKind? {
        if isBroadcast { return .broadcast }
        if isMulticast { return .multicast }
        if isLoopback { return .loopback }
        if isUnspecified { return .unspecified }
        return nil
    }
}

/// The address classes that RFC 6890 and the draft rule out as relay endpoints.
public enum ForbiddenAddressKind: String, Sendable, Equatable {
    case multicast, broadcast, loopback, unspecified
}
