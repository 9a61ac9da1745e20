public import WireFormat

/// The address a subscriber's CPE reaches the concentrator from; CPEs may connect over IPv6.
public enum CPEAddress: Hashable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)
}

/// A port block given to or taken back from a subscriber (RFC 8158 "Port block allocation").
public struct PortBlockEvent: Hashable, Sendable {
    /// When it happened: milliseconds since the Unix epoch (observationTimeMilliseconds).
    public var time: UInt64
    /// The subscriber's CPE.
    public var cpe: CPEAddress
    /// The pool address the block belongs to (postNATSourceIPv4Address).
    public var poolAddress: IPv4Address
    /// The ports (portRangeStart ... portRangeNumPorts).
    public var block: PortBlock

    public init(time: UInt64, cpe: CPEAddress, poolAddress: IPv4Address, block: PortBlock) {
        self.time = time
        self.cpe = cpe
        self.poolAddress = poolAddress
        self.block = block
    }
}

/// A subscriber that found no free port in its set for a protocol (RFC 8158 "Quota Exceeded",
/// maximum entries per user).
public struct QuotaExceededEvent: Hashable, Sendable {
    public var time: UInt64
    public var cpe: CPEAddress
    /// The pool address of the subscriber's lease.
    public var poolAddress: IPv4Address
    /// The IP protocol whose ports ran out (6 TCP, 17 UDP).
    public var protocolNumber: UInt8
    /// The limit that was reached: the ports the subscriber's set holds.
    public var maximumEntries: UInt32

    public init(time: UInt64, cpe: CPEAddress, poolAddress: IPv4Address, protocolNumber: UInt8, maximumEntries: UInt32) {
        self.time = time
        self.cpe = cpe
        self.poolAddress = poolAddress
        self.protocolNumber = protocolNumber
        self.maximumEntries = maximumEntries
    }
}

/// One relayed flow starting or ending (RFC 8158 "NAT44 session create / delete").
public struct SessionEvent: Hashable, Sendable {
    public var time: UInt64
    /// The IP protocol (protocolIdentifier).
    public var protocolNumber: UInt8
    /// The CPE and the port the flow came from (sourceIPv4/IPv6Address, sourceTransportPort).
    public var cpe: CPEAddress
    public var cpePort: UInt16
    /// The pool address and port of the subscriber's set the flow left from (225, 227).
    public var poolAddress: IPv4Address
    public var poolPort: UInt16
    /// The Internet destination (destinationIPv4Address, destinationTransportPort).
    public var destination: IPv4Address
    public var destinationPort: UInt16

    public init(time: UInt64, protocolNumber: UInt8, cpe: CPEAddress, cpePort: UInt16, poolAddress: IPv4Address,
                poolPort: UInt16, destination: IPv4Address, destinationPort: UInt16) {
        self.time = time
        self.protocolNumber = protocolNumber
        self.cpe = cpe
        self.cpePort = cpePort
        self.poolAddress = poolAddress
        self.poolPort = poolPort
        self.destination = destination
        self.destinationPort = destinationPort
    }
}

/// One mapped port made or removed (RFC 8158 "NAT44 BIB create / delete"): a PCP mapping of n
/// ports is n records. The source is the CPE, as in session records, so a record names the subscriber.
public struct BindingEvent: Hashable, Sendable {
    public var time: UInt64
    public var protocolNumber: UInt8
    /// The CPE the mapping forwards to (sourceIPv4/IPv6Address) and the internal port (sourceTransportPort).
    public var cpe: CPEAddress
    public var internalPort: UInt16
    /// The mapped pool address and port (postNATSourceIPv4Address, postNAPTSourceTransportPort).
    public var poolAddress: IPv4Address
    public var poolPort: UInt16

    public init(time: UInt64, protocolNumber: UInt8, cpe: CPEAddress, internalPort: UInt16, poolAddress: IPv4Address, poolPort: UInt16) {
        self.time = time
        self.protocolNumber = protocolNumber
        self.cpe = cpe
        self.internalPort = internalPort
        self.poolAddress = poolAddress
        self.poolPort = poolPort
    }
}

/// One NAT event plainmode exports; each case is one data record under one fixed template.
public enum NATEventRecord: Hashable, Sendable {
    case portBlockAllocated(PortBlockEvent)
    case portBlockReleased(PortBlockEvent)
    /// No (address, PSID) is left to lease in pool `poolID`; `time` in ms since the epoch.
    case addressesExhausted(time: UInt64, poolID: UInt32)
    /// Pool address `poolAddress` has no free port for `protocolNumber`.
    case portsExhausted(time: UInt64, poolAddress: IPv4Address, protocolNumber: UInt8)
    case quotaExceeded(QuotaExceededEvent)
    case sessionCreated(SessionEvent)
    case sessionDeleted(SessionEvent)
    case bindingCreated(BindingEvent)
    case bindingDeleted(BindingEvent)

    /// The natEvent value this record carries.
    public var eventType: NATEventType {
        switch self {
        case .portBlockAllocated: .portBlockAllocation
        case .portBlockReleased: .portBlockDeallocation
        case .addressesExhausted: .natAddressesExhausted
        case .portsExhausted: .natPortsExhausted
        case .quotaExceeded: .quotaExceeded
        case .sessionCreated: .nat44SessionCreate
        case .sessionDeleted: .nat44SessionDelete
        case .bindingCreated: .nat44BIBCreate
        case .bindingDeleted: .nat44BIBDelete
        }
    }

    /// The template the record is encoded under (the IPv4 or IPv6 one by the CPE's family).
    public var template: IPFIXTemplate {
        switch self {
        case .portBlockAllocated(let event), .portBlockReleased(let event):
            event.cpe.isIPv4 ? .portBlockIPv4 : .portBlockIPv6
        case .addressesExhausted: .addressesExhausted
        case .portsExhausted: .portsExhausted
        case .quotaExceeded(let event): event.cpe.isIPv4 ? .quotaExceededIPv4 : .quotaExceededIPv6
        case .sessionCreated(let event), .sessionDeleted(let event):
            event.cpe.isIPv4 ? .sessionIPv4 : .sessionIPv6
        case .bindingCreated(let event), .bindingDeleted(let event):
            event.cpe.isIPv4 ? .bindingIPv4 : .bindingIPv6
        }
    }

    /// Appends the data record in its template's field order.
    func encode(into bytes: inout [UInt8]) {
        switch self {
        case .portBlockAllocated(let event), .portBlockReleased(let event):
            appendTimeAndEvent(event.time, into: &bytes)
            bytes.appendWire(event.cpe)
            bytes.appendWire(event.poolAddress)
            bytes.appendWireUInt16(event.block.start)
            bytes.appendWireUInt16(event.block.end)
            bytes.appendWireUInt16(event.block.stepSize)
            bytes.appendWireUInt16(event.block.portCount)
        case .addressesExhausted(let time, let poolID):
            appendTimeAndEvent(time, into: &bytes)
            bytes.appendWireUInt32(poolID)
        case .portsExhausted(let time, let poolAddress, let protocolNumber):
            appendTimeAndEvent(time, into: &bytes)
            bytes.appendWire(poolAddress)
            bytes.append(protocolNumber)
        case .quotaExceeded(let event):
            appendTimeAndEvent(event.time, into: &bytes)
            bytes.appendWireUInt32(NATQuotaExceededEvent.maximumEntriesPerUser.rawValue)
            bytes.appendWireUInt32(event.maximumEntries)
            bytes.appendWire(event.cpe)
            bytes.appendWire(event.poolAddress)
            bytes.append(event.protocolNumber)
        case .sessionCreated(let event), .sessionDeleted(let event):
            appendTimeAndEvent(event.time, into: &bytes)
            bytes.append(event.protocolNumber)
            bytes.appendWire(event.cpe)
            bytes.appendWireUInt16(event.cpePort)
            bytes.appendWire(event.poolAddress)
            bytes.appendWireUInt16(event.poolPort)
            bytes.appendWire(event.destination)
            bytes.appendWireUInt16(event.destinationPort)
        case .bindingCreated(let event), .bindingDeleted(let event):
            appendTimeAndEvent(event.time, into: &bytes)
            bytes.append(event.protocolNumber)
            bytes.appendWire(event.cpe)
            bytes.appendWireUInt16(event.internalPort)
            bytes.appendWire(event.poolAddress)
            bytes.appendWireUInt16(event.poolPort)
        }
    }

    private func appendTimeAndEvent(_ time: UInt64, into bytes: inout [UInt8]) {
        bytes.appendWireUInt64(time)
        bytes.append(eventType.rawValue)
    }
}

extension CPEAddress {
    /// Whether the CPE connected over IPv4 (sourceIPv4Address) rather than IPv6.
    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }
}

extension Array where Element == UInt8 {
    mutating func appendWire(_ address: CPEAddress) {
        switch address {
        case .v4(let v4): appendWire(v4)
        case .v6(let v6): appendWire(v6)
        }
    }
}
