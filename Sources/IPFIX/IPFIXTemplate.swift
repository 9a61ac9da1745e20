/// A template record (RFC 7011 section 3.4.1): the id data sets refer to and the ordered fields
/// of each record. plainmode's templates are fixed, one per event shape, with RFC 8158 section 4.4's
/// fields for that event first (time, natEvent, then the event's own).
public struct IPFIXTemplate: Hashable, Sendable {
    /// The template id, >= 256; data sets carrying its records use it as their set id.
    public let id: UInt16
    /// The fields of every record, in wire order.
    public let fields: [IPFIXInformationElement]

    public init(id: UInt16, fields: [IPFIXInformationElement]) {
        precondition(id >= 256, "template ids below 256 are set ids (RFC 7011 section 3.3.2)")
        self.id = id
        self.fields = fields
    }

    /// Bytes of one data record under this template (all fields have fixed lengths).
    public var recordLength: Int { fields.reduce(0) { $0 + Int($1.length) } }

    /// Bytes of this template record inside a template set: its header and 4 per field.
    public var encodedLength: Int { 4 + 4 * fields.count }

    /// Appends the template record: id, field count, then each field's id and length.
    func encode(into bytes: inout [UInt8]) {
        bytes.appendWireUInt16(id)
        bytes.appendWireUInt16(UInt16(fields.count))
        for field in fields {
            bytes.appendWireUInt16(field.id)
            bytes.appendWireUInt16(field.length)
        }
    }
}

extension IPFIXTemplate {
    private static let timeAndEvent: [IPFIXInformationElement] = [.observationTimeMilliseconds, .natEvent]
    private static let portBlock: [IPFIXInformationElement] = [
        .postNATSourceIPv4Address, .portRangeStart, .portRangeEnd, .portRangeStepSize, .portRangeNumPorts,
    ]
    private static let quota: [IPFIXInformationElement] = [.natQuotaExceededEvent, .maxEntriesPerUser]
    private static let sessionTail: [IPFIXInformationElement] = [
        .sourceTransportPort, .postNATSourceIPv4Address, .postNAPTSourceTransportPort,
        .destinationIPv4Address, .destinationTransportPort,
    ]

    /// RFC 8158 section 4.4's NAT44 BIB fields after the source address.
    private static let bindingTail: [IPFIXInformationElement] = [
        .sourceTransportPort, .postNATSourceIPv4Address, .postNAPTSourceTransportPort,
    ]

    /// Port block allocation / de-allocation of a CPE reached over IPv4.
    public static let portBlockIPv4 = IPFIXTemplate(id: 256, fields: timeAndEvent + [.sourceIPv4Address] + portBlock)
    /// Port block allocation / de-allocation of a CPE reached over IPv6.
    public static let portBlockIPv6 = IPFIXTemplate(id: 257, fields: timeAndEvent + [.sourceIPv6Address] + portBlock)
    /// NAT addresses exhausted: no pool address and PSID left to lease.
    public static let addressesExhausted = IPFIXTemplate(id: 258, fields: timeAndEvent + [.natPoolId])
    /// NAT ports exhausted on one pool address for one protocol.
    public static let portsExhausted = IPFIXTemplate(id: 259, fields: timeAndEvent + [.postNATSourceIPv4Address, .protocolIdentifier])
    /// Quota exceeded (maximum entries per user) of a CPE reached over IPv4: its port set is full.
    public static let quotaExceededIPv4 = IPFIXTemplate(
        id: 260, fields: timeAndEvent + quota + [.sourceIPv4Address, .postNATSourceIPv4Address, .protocolIdentifier])
    /// Quota exceeded of a CPE reached over IPv6.
    public static let quotaExceededIPv6 = IPFIXTemplate(
        id: 261, fields: timeAndEvent + quota + [.sourceIPv6Address, .postNATSourceIPv4Address, .protocolIdentifier])
    /// NAT44 session create / delete of a CPE reached over IPv4.
    public static let sessionIPv4 = IPFIXTemplate(id: 262, fields: timeAndEvent + [.protocolIdentifier, .sourceIPv4Address] + sessionTail)
    /// NAT44 session create / delete of a CPE reached over IPv6.
    public static let sessionIPv6 = IPFIXTemplate(id: 263, fields: timeAndEvent + [.protocolIdentifier, .sourceIPv6Address] + sessionTail)

    /// NAT44 BIB create / delete (a PCP mapping's port) of a CPE reached over IPv4.
    public static let bindingIPv4 = IPFIXTemplate(id: 264, fields: timeAndEvent + [.protocolIdentifier, .sourceIPv4Address] + bindingTail)
    /// NAT44 BIB create / delete of a CPE reached over IPv6.
    public static let bindingIPv6 = IPFIXTemplate(id: 265, fields: timeAndEvent + [.protocolIdentifier, .sourceIPv6Address] + bindingTail)

    /// Every template plainmode exports, in id order: what `templatesMessage` announces.
    public static let all: [IPFIXTemplate] = [
        portBlockIPv4, portBlockIPv6, addressesExhausted, portsExhausted,
        quotaExceededIPv4, quotaExceededIPv6, sessionIPv4, sessionIPv6, bindingIPv4, bindingIPv6,
    ]
}
