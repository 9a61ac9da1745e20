/// A PCP response (RFC 6887 section 7.2): the header fields, the opcode payload and the options
/// in wire order. Reserved fields are not kept: they are ignored on receipt and sent as 0 (error
/// responses to unparsable requests carry other bytes there; see `PCPErrorResponse`).
public struct PCPResponse: Hashable, Sendable {
    /// Result Code; only SUCCESS is a success.
    public var resultCode: PCPResultCode
    /// Lifetime in seconds: the mapping's on success, how long the error will persist on error.
    public var lifetime: UInt32
    /// Epoch Time: the server's seconds since its state began (RFC 6887 section 8.5).
    public var epochTime: UInt32
    /// The opcode and its data (assigned external port and address for MAP).
    public var payload: PCPOpcodePayload
    /// The options, in the order they appear on the wire.
    public var options: [PCPOption]

    /// A response with every field given.
    public init(
        resultCode: PCPResultCode, lifetime: UInt32, epochTime: UInt32, payload: PCPOpcodePayload,
        options: [PCPOption] = []
    ) {
        self.resultCode = resultCode
        self.lifetime = lifetime
        self.epochTime = epochTime
        self.payload = payload
        self.options = options
    }

    /// The opcode of `payload`.
    public var opcode: PCPOpcode { payload.opcode }

    /// The PORT_SET option, if the response carries one.
    public var portSet: PCPPortSet? {
        for case .portSet(let set) in options { return set }
        return nil
    }
}
