/// One IANA Information Element with the fixed length plainmode exports it in (RFC 7012; the
/// NAT elements from RFC 8158). Enterprise elements are never used, so the E bit is always 0.
public struct IPFIXInformationElement: Hashable, Sendable {
    /// The IANA element id (15 bits).
    public let id: UInt16
    /// The field length in bytes carried in the template (no variable-length fields here).
    public let length: UInt16
    /// The IANA name, as collectors and tshark print it.
    public let name: String

    public init(id: UInt16, length: UInt16, name: String) {
        self.id = id
        self.length = length
        self.name = name
    }

    public static let protocolIdentifier = IPFIXInformationElement(id: 4, length: 1, name: "protocolIdentifier")
    public static let sourceTransportPort = IPFIXInformationElement(id: 7, length: 2, name: "sourceTransportPort")
    public static let sourceIPv4Address = IPFIXInformationElement(id: 8, length: 4, name: "sourceIPv4Address")
    public static let destinationTransportPort = IPFIXInformationElement(id: 11, length: 2, name: "destinationTransportPort")
    public static let destinationIPv4Address = IPFIXInformationElement(id: 12, length: 4, name: "destinationIPv4Address")
    public static let sourceIPv6Address = IPFIXInformationElement(id: 27, length: 16, name: "sourceIPv6Address")
    public static let postNATSourceIPv4Address = IPFIXInformationElement(id: 225, length: 4, name: "postNATSourceIPv4Address")
    public static let postNAPTSourceTransportPort = IPFIXInformationElement(id: 227, length: 2, name: "postNAPTSourceTransportPort")
    public static let natEvent = IPFIXInformationElement(id: 230, length: 1, name: "natEvent")
    public static let natPoolId = IPFIXInformationElement(id: 283, length: 4, name: "natPoolId")
    public static let observationTimeMilliseconds = IPFIXInformationElement(id: 323, length: 8, name: "observationTimeMilliseconds")
    public static let portRangeStart = IPFIXInformationElement(id: 361, length: 2, name: "portRangeStart")
    public static let portRangeEnd = IPFIXInformationElement(id: 362, length: 2, name: "portRangeEnd")
    public static let portRangeStepSize = IPFIXInformationElement(id: 363, length: 2, name: "portRangeStepSize")
    public static let portRangeNumPorts = IPFIXInformationElement(id: 364, length: 2, name: "portRangeNumPorts")
    public static let natQuotaExceededEvent = IPFIXInformationElement(id: 466, length: 4, name: "natQuotaExceededEvent")
    public static let maxEntriesPerUser = IPFIXInformationElement(id: 473, length: 4, name: "maxEntriesPerUser")
}
