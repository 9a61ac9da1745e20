public import BindingState
import PortSets
import Syscalls
import WireFormat

/// Renders records' fields as bytes on the logging thread, into buffers the outputs reuse, so a
/// record costs no String and no allocation. Keeps what repeats from record to record: the
/// directory (read once per batch), the date text of the current second, and each PSID's port
/// list (a lease under a=6 lists 63 ranges, the same for every lease of that PSID).
public final class LogRenderer {
    public let formatter: LogFormatter
    private var directory: SubscriberDirectory
    private var renderedSecond: Int64 = -1
    private var secondText: [UInt8] = []
    /// Per syntax (`FieldSyntax.spelling.cacheSlot`) and PSID, the `ports` and `port_count` fields as
    /// rendered; empty until first needed.
    private var portSetFields: [[[UInt8]]]

    /// Geometries with more PSIDs than this (k > 12: a handful of ports each) are rendered every time.
    private static let mostCachedPortSets = 4096

    public init(_ formatter: LogFormatter) {
        self.formatter = formatter
        directory = formatter.subscribers.directory
        let cached = formatter.geometry.map { $0.psidCount <= Self.mostCachedPortSets ? $0.psidCount : 0 } ?? 0
        portSetFields = [[[UInt8]]](repeating: [[UInt8]](repeating: [], count: cached), count: 2)
    }

    /// Takes the directory in force (a SIGHUP may have replaced it); once per batch.
    public func readDirectory() {
        directory = formatter.subscribers.directory
    }

    /// "2026-12-07T01:02:03.456Z", as `WallClock.text(milliseconds:)`.
    func appendDate(_ milliseconds: Int64, to bytes: inout [UInt8]) {
        // Before 1970 the text has the clock's own quirks: not worth a cache.
        guard milliseconds >= 0 else { return bytes.append(contentsOf: WallClock.text(milliseconds: milliseconds).utf8) }
        let second = milliseconds / 1000
        if second != renderedSecond {
            secondText.removeAll(keepingCapacity: true)
            WallClock.appendSecondText(milliseconds: milliseconds, to: &secondText)
            renderedSecond = second
        }
        bytes.append(contentsOf: secondText)
        WallClock.appendMillisecondText(milliseconds: milliseconds, to: &bytes)
    }

    /// The record's fields after its event, in their fixed order, in `Syntax`.
    func appendFields<Syntax: FieldSyntax>(of record: LogRecord, as syntax: Syntax.Type, to bytes: inout [UInt8]) {
        switch record.event {
        case .lease(let event):
            appendLease(event.subscriber, event.address, event.psid, as: syntax, to: &bytes)
        case let .held(subscriber, address, psid):
            appendLease(subscriber, address, psid, as: syntax, to: &bytes)
        case .exhausted(let event):
            appendSubscriber(event.subscriber, as: syntax, to: &bytes)
            if case .portSet(let transport) = event.kind {
                Syntax.appendText("protocol", transport.description, to: &bytes)
                if let address = event.address { Syntax.appendText("address", to: &bytes) { $0.append(address: address) } }
                if let psid = event.psid { Syntax.appendNumber("psid", Int64(psid), to: &bytes) }
            }
        case .session(let event):
            appendSubscriber(event.subscriber, as: syntax, to: &bytes)
            Syntax.appendText("protocol", event.transport.description, to: &bytes)
            Syntax.appendEndpoint("cpe_endpoint", event.cpe, to: &bytes)
            Syntax.appendEndpoint("external", event.external, to: &bytes)
            Syntax.appendEndpoint("remote", event.remote, to: &bytes)
        case .mapping(let event):
            appendMapping(event.mapping, as: syntax, to: &bytes)
        }
    }

    private func appendLease<Syntax: FieldSyntax>(_ subscriber: SubscriberID, _ address: IPv4Address, _ psid: UInt16,
                                                  as syntax: Syntax.Type, to bytes: inout [UInt8]) {
        appendSubscriber(subscriber, as: syntax, to: &bytes)
        Syntax.appendText("address", to: &bytes) { $0.append(address: address) }
        Syntax.appendNumber("psid", Int64(psid), to: &bytes)
        guard let geometry = formatter.geometry, let set = try? PSIDPortSet(geometry: geometry, psid: Int(psid)) else { return }
        let index = Int(psid)
        guard index < portSetFields[Syntax.spelling.cacheSlot].count else { return Self.appendPortSet(set, as: syntax, to: &bytes) }
        if portSetFields[Syntax.spelling.cacheSlot][index].isEmpty {
            Self.appendPortSet(set, as: syntax, to: &portSetFields[Syntax.spelling.cacheSlot][index])
        }
        bytes.append(contentsOf: portSetFields[Syntax.spelling.cacheSlot][index])
    }

    private static func appendPortSet<Syntax: FieldSyntax>(_ set: PSIDPortSet, as syntax: Syntax.Type, to bytes: inout [UInt8]) {
        Syntax.appendList("ports", set.ranges, to: &bytes) { range, bytes in bytes.append(ports: range.lowerBound, through: range.upperBound) }
        Syntax.appendNumber("port_count", Int64(set.portCount), to: &bytes)
    }

    private func appendMapping<Syntax: FieldSyntax>(_ mapping: PortMapping, as syntax: Syntax.Type, to bytes: inout [UInt8]) {
        appendSubscriber(mapping.subscriber, as: syntax, to: &bytes)
        let ports = mapping.externalPorts
        let lastInternal = mapping.internalPort &+ (ports.upperBound &- ports.lowerBound)
        Syntax.appendText("protocol", mapping.transport.description, to: &bytes)
        Syntax.appendText("address", to: &bytes) { $0.append(address: mapping.externalAddress) }
        Syntax.appendText("ports", to: &bytes) { $0.append(ports: ports.lowerBound, through: ports.upperBound) }
        Syntax.appendNumber("port_count", Int64(ports.count), to: &bytes)
        Syntax.appendText("internal_address", to: &bytes) { $0.append(address: mapping.internalAddress) }
        Syntax.appendText("internal_ports", to: &bytes) { $0.append(ports: mapping.internalPort, through: lastInternal) }
        Syntax.appendText("cpe_address", to: &bytes) { $0.append(address: mapping.cpeAddress) }
        Syntax.appendText("expires", to: &bytes) { appendDate(mapping.expires, to: &$0) }
        guard !mapping.filters.isEmpty else { return }
        Syntax.appendList("filters", mapping.filters, to: &bytes) { filter, bytes in
            bytes.append(prefix: filter.prefix)
            bytes.append(ascii: " port ")
            bytes.append(decimal: Int64(filter.port))
        }
    }

    /// The subscriber and the prefixes its CPE connects from (a default subscriber is its prefix).
    private func appendSubscriber<Syntax: FieldSyntax>(_ subscriber: SubscriberID, as syntax: Syntax.Type,
                                                       to bytes: inout [UInt8]) {
        Syntax.appendText("subscriber", subscriber.text, to: &bytes)
        if let links = directory.subscriber(id: subscriber)?.links {
            Syntax.appendList("cpe", links, to: &bytes) { link, bytes in bytes.append(prefix: link) }
        } else {
            Syntax.appendList("cpe", CollectionOfOne(subscriber.text), to: &bytes) { text, bytes in Syntax.appendEscaped(text, to: &bytes) }
        }
    }
}

extension Array where Element == UInt8 {
    /// "FIRST-LAST" (`last` may have wrapped below `first`: a mapping's internal ports).
    mutating func append(ports first: UInt16, through last: UInt16) {
        append(decimal: Int64(first))
        append(UInt8(ascii: "-"))
        append(decimal: Int64(last))
    }
}
