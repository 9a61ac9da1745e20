public import WireFormat

/// A PCP request (RFC 6887 section 7.1): the header fields, the opcode payload and the options
/// in wire order. Reserved fields are not kept: they are ignored on receipt and sent as 0.
public struct PCPRequest: Hashable, Sendable {
    /// Requested Lifetime in seconds; 0 asks to delete a MAP mapping.
    public var requestedLifetime: UInt32
    /// PCP Client's IP Address: the source address the client sent from (IPv4 as IPv4-mapped).
    public var clientAddress: IPv6Address
    /// The opcode and its data.
    public var payload: PCPOpcodePayload
    /// The options, in the order they appear on the wire.
    public var options: [PCPOption]

    /// A request with every field given.
    public init(
        requestedLifetime: UInt32, clientAddress: IPv6Address, payload: PCPOpcodePayload,
        options: [PCPOption] = []
    ) {
        self.requestedLifetime = requestedLifetime
        self.clientAddress = clientAddress
        self.payload = payload
        self.options = options
    }

    /// The opcode of `payload`.
    public var opcode: PCPOpcode { payload.opcode }

    /// The THIRD_PARTY address, if the request carries one.
    public var thirdPartyAddress: IPv6Address? {
        for case .thirdParty(let address) in options { return address }
        return nil
    }

    /// The PORT_SET option, if the request carries one.
    public var portSet: PCPPortSet? {
        for case .portSet(let set) in options { return set }
        return nil
    }

    /// Whether the request carries PREFER_FAILURE.
    public var prefersFailure: Bool { options.contains(.preferFailure) }

    /// The FILTER options, in wire order.
    public var filters: [PCPFilter] {
        options.compactMap { if case .filter(let filter) = $0 { filter } else { nil } }
    }

    /// The address the mapping is for: THIRD_PARTY's if present, else the client's.
    public var internalAddress: IPv6Address { thirdPartyAddress ?? clientAddress }
}
