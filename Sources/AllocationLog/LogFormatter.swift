public import BindingState
public import PortSets
import Syscalls
import WireFormat

/// Turns records into entries on the logging thread: every lease entry carries the subscriber,
/// its CPE prefixes (every link) and the exact port set, so any (address, port, time) traces back
/// to a subscriber from the log alone (RFC 6888 REQ-12, without per-connection logs).
public struct LogFormatter: Sendable {
    public let subscribers: SubscriberRegistry
    /// The pool's PSID geometry, for the port set of a PSID.
    public let geometry: PSIDGeometry?

    public init(subscribers: SubscriberRegistry, geometry: PSIDGeometry?) {
        self.subscribers = subscribers
        self.geometry = geometry
    }

    public func entry(for record: LogRecord) -> LogEntry {
        var entry = fields(for: record)
        entry.record = record
        return entry
    }

    private func fields(for record: LogRecord) -> LogEntry {
        switch record.event {
        case .lease(let event):
            return leaseEntry("lease_" + event.kind.rawValue, event.subscriber, event.address, event.psid, time: record.time)
        case let .held(subscriber, address, psid):
            return leaseEntry("lease_held", subscriber, address, psid, time: record.time)
        case .exhausted(let event):
            var fields = subscriberFields(event.subscriber)
            let name: String
            switch event.kind {
            case .pool:
                name = "pool_exhausted"
            case .portSet(let transport):
                name = "port_set_exhausted"
                fields.append(("protocol", .text(transport.description)))
                if let address = event.address { fields.append(("address", .text(address.description))) }
                if let psid = event.psid { fields.append(("psid", .number(Int64(psid)))) }
            }
            return LogEntry(time: record.time, event: name, fields: fields)
        case .session(let event):
            var fields = subscriberFields(event.subscriber)
            fields += [("protocol", .text(event.transport.description)),
                       ("cpe_endpoint", .text(event.cpe.description)),
                       ("external", .text(event.external.description)),
                       ("remote", .text(event.remote.description))]
            return LogEntry(time: record.time, event: "session_" + event.kind.rawValue, fields: fields)
        case .mapping(let event):
            let mapping = event.mapping
            var fields = subscriberFields(mapping.subscriber)
            let ports = mapping.externalPorts
            let lastInternal = mapping.internalPort &+ (ports.upperBound &- ports.lowerBound)
            fields += [("protocol", .text(mapping.transport.description)),
                       ("address", .text(mapping.externalAddress.description)),
                       ("ports", .text("\(ports.lowerBound)-\(ports.upperBound)")),
                       ("port_count", .number(Int64(ports.count))),
                       ("internal_address", .text(mapping.internalAddress.description)),
                       ("internal_ports", .text("\(mapping.internalPort)-\(lastInternal)")),
                       ("cpe_address", .text(mapping.cpeAddress.description)),
                       ("expires", .text(WallClock.text(milliseconds: mapping.expires)))]
            if !mapping.filters.isEmpty {
                fields.append(("filters", .list(mapping.filters.map { "\($0.prefix) port \($0.port)" })))
            }
            return LogEntry(time: record.time, event: "mapping_" + event.kind.rawValue, fields: fields)
        }
    }

    private func leaseEntry(_ name: String, _ subscriber: SubscriberID, _ address: IPv4Address, _ psid: UInt16,
                            time: Int64) -> LogEntry {
        var fields = subscriberFields(subscriber)
        fields += [("address", .text(address.description)), ("psid", .number(Int64(psid)))]
        if let geometry, let set = try? PSIDPortSet(geometry: geometry, psid: Int(psid)) {
            fields.append(("ports", .list(set.ranges.map { "\($0.lowerBound)-\($0.upperBound)" })))
            fields.append(("port_count", .number(Int64(set.portCount))))
        }
        return LogEntry(time: time, event: name, fields: fields)
    }

    /// The subscriber and the prefixes its CPE connects from (a default subscriber is its prefix).
    private func subscriberFields(_ subscriber: SubscriberID) -> [(name: String, value: LogEntry.Value)] {
        let links = subscribers.directory.subscriber(id: subscriber)?.links.map(\.description) ?? [subscriber.text]
        return [("subscriber", .text(subscriber.text)), ("cpe", .list(links))]
    }
}
