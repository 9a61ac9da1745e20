public import BindingState
public import ExportLog
import IPFIX
public import PortSets
public import Syscalls
import WireFormat

/// `--log-ipfix HOST:PORT`: the allocation log as RFC 8158 NAT events over IPFIX (RFC 7011, UDP):
/// a lease is one port block allocation (natEvent 16) or de-allocation (17) record per contiguous
/// block of its PSID set; exhaustion is NAT addresses exhausted (3) or quota exceeded (13); with
/// --log-sessions, NAT44 session create (4) and delete (5); a PCP mapping is one NAT44 BIB create
/// (8) or delete (9) record per mapped port. Templates go at start, every
/// 60 s and after a failed send (the exporter's timer, driven by `tick`).
public final class IPFIXOutput: LogOutput {
    public let name = "ipfix"
    private let exporter: IPFIXExporter
    private let subscribers: SubscriberRegistry
    private let geometry: PSIDGeometry?

    public init(collector: SocketAddress, subscribers: SubscriberRegistry, geometry: PSIDGeometry?) throws(IPFIXExporterError) {
        exporter = try IPFIXExporter(collector: collector)
        self.subscribers = subscribers
        self.geometry = geometry
        exporter.start()
    }

    deinit { exporter.close() }

    public func tick() { exporter.tick() }

    /// Encodes the records itself: the renderer is not used, so with IPFIX alone nothing is formatted as text.
    public func write(_ logRecords: [LogRecord], renderer: LogRenderer) -> Bool {
        let records = logRecords.flatMap(natEvents)
        guard !records.isEmpty else { return true }
        let failedBefore = exporter.statistics.sendErrors
        exporter.export(records)
        return exporter.statistics.sendErrors == failedBefore
    }

    /// The records one log record becomes; renewals and flows from a preserved source have none.
    private func natEvents(_ record: LogRecord) -> [NATEventRecord] {
        let time = UInt64(max(0, record.time))
        switch record.event {
        case .lease(let event):
            guard event.kind != .renewed else { return [] }
            return blocks(event.subscriber, event.address, event.psid, time: time, released: event.kind == .released)
        case let .held(subscriber, address, psid):
            return blocks(subscriber, address, psid, time: time, released: false)
        case .exhausted(let event):
            switch event.kind {
            case .pool:
                return [.addressesExhausted(time: time, poolID: 1)]
            case .portSet(let transport):
                guard let address = event.address else { return [] }
                let ports = UInt32(geometry?.portsPerPSID ?? 0)
                return [.quotaExceeded(QuotaExceededEvent(time: time, cpe: cpeAddress(event.subscriber), poolAddress: address,
                                                          protocolNumber: transport.rawValue, maximumEntries: ports))]
            }
        case .session(let event):
            guard case .v4(let pool) = event.external.address, case .v4(let destination) = event.remote.address else { return [] }
            let cpe: CPEAddress = switch event.cpe.address {
            case .v4(let address): .v4(address)
            case .v6(let address): .v6(address)
            }
            let session = IPFIX.SessionEvent(time: time, protocolNumber: event.transport.rawValue, cpe: cpe, cpePort: event.cpe.port,
                                             poolAddress: pool, poolPort: event.external.port, destination: destination,
                                             destinationPort: event.remote.port)
            return [event.kind == .created ? .sessionCreated(session) : .sessionDeleted(session)]
        case .mapping(let event):
            // A renewal changes no port: only creation and removal are BIB events.
            guard event.kind != .renewed else { return [] }
            let mapping = event.mapping
            let cpe: CPEAddress = switch mapping.cpeAddress {
            case .v4(let address): .v4(address)
            case .v6(let address): .v6(address)
            }
            return mapping.externalPorts.map { port in
                let binding = BindingEvent(time: time, protocolNumber: mapping.transport.rawValue, cpe: cpe,
                                           internalPort: mapping.internalPort &+ (port &- mapping.externalPorts.lowerBound),
                                           poolAddress: mapping.externalAddress, poolPort: port)
                return event.kind == .created ? .bindingCreated(binding) : .bindingDeleted(binding)
            }
        }
    }

    private func blocks(_ subscriber: SubscriberID, _ address: IPv4Address, _ psid: UInt16, time: UInt64,
                        released: Bool) -> [NATEventRecord] {
        guard let geometry, let set = try? PSIDPortSet(geometry: geometry, psid: Int(psid)) else { return [] }
        let cpe = cpeAddress(subscriber)
        return PortBlock.blocks(of: set).map { block in
            let event = PortBlockEvent(time: time, cpe: cpe, poolAddress: address, block: block)
            return released ? .portBlockReleased(event) : .portBlockAllocated(event)
        }
    }

    /// The subscriber's CPE address as IPFIX carries it: its first link prefix's address (a
    /// default subscriber's id is that prefix).
    private func cpeAddress(_ subscriber: SubscriberID) -> CPEAddress {
        let prefix = subscribers.directory.subscriber(id: subscriber)?.links.first ?? (try? IPPrefix(subscriber.text))
        switch prefix?.network {
        case .v4(let address)?: return .v4(address)
        case .v6(let address)?: return .v6(address)
        case nil: return .v4(IPv4Address(0))
        }
    }
}
