import BindingState
import Glibc
import LeaseStore
import PortSets
import Syscalls
import WireFormat

/// `ctl leases` and `ctl subscriber ID`: the lease database (the record of truth) joined with
/// the allocator's live port counts.
extension ConcentratorReports {
    static func renderLeases(allocator: PortSetAllocator?, database: LeaseDatabase?, journal: LeaseJournal?, json: Bool) -> String {
        let live = Dictionary((allocator?.snapshot() ?? []).map { ("\($0.externalAddress)/\($0.psid)", $0) }, uniquingKeysWith: { a, _ in a })
        var records: [LeaseRecord] = []
        if let database {
            journal?.flush()  // what the relay loops recorded so far, so the answer is current
            do { records = try database.load() } catch { return "error: \(error)\n" }
        } else {
            // --ephemeral-leases: only what the allocator holds, without times.
            records = (allocator?.snapshot() ?? []).map {
                LeaseRecord(subscriber: $0.subscriber, address: $0.externalAddress, psid: $0.psid, start: 0, lastUse: 0, end: nil)
            }
        }
        let geometry = allocator?.geometry
        if json {
            let items = records.map { r -> String in
                let counts = live["\(r.address)/\(r.psid)"]
                return "{\"subscriber\":\(r.subscriber.text.jsonQuoted),\"address\":\"\(r.address)\",\"psid\":\(r.psid),"
                    + "\"ports\":\(portsText(geometry, r.psid).jsonQuoted),\"start_ms\":\(r.start),\"last_use_ms\":\(r.lastUse),"
                    + "\"end_ms\":\(r.end.map(String.init) ?? "null"),\"active\":\(r.isActive),"
                    + "\"tcp_in_use\":\(counts?.tcpPortsInUse ?? 0),\"udp_in_use\":\(counts?.udpPortsInUse ?? 0),\"held\":\(counts?.portsHeld ?? 0)}"
            }
            return "{\"leases\":[" + items.joined(separator: ",") + "]}\n"
        }
        var lines = ["\(records.filter(\.isActive).count) leases held, \(records.filter { !$0.isActive }.count) released"]
        for r in records {
            let counts = live["\(r.address)/\(r.psid)"]
            let state = r.end.map { "released \(WallClock.text(milliseconds: $0))" }
                ?? "held; tcp \(counts?.tcpPortsInUse ?? 0), udp \(counts?.udpPortsInUse ?? 0) in use, \(counts?.portsHeld ?? 0) ports held"
            lines.append("  \(r.address) PSID \(r.psid) [\(portsText(geometry, r.psid))]: \(r.subscriber), since \(WallClock.text(milliseconds: r.start)), last use \(WallClock.text(milliseconds: r.lastUse)); \(state)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func renderSubscriber(_ id: String, subscribers: SubscriberRegistry, allocator: PortSetAllocator?,
                                 bindings: BindingTable, json: Bool) -> String {
        let directory = subscribers.directory
        let subscriberID = SubscriberID(id)
        let named = directory.subscriber(id: subscriberID)
        let lease = allocator?.currentLease(for: subscriberID)
        let previous = allocator?.previousLease(for: subscriberID)
        // A default subscriber's id is its prefix.
        let prefixes = named?.links ?? [try? IPPrefix(id)].compactMap { $0 }
        let flows = bindings.snapshot().filter { binding in prefixes.contains { $0.contains(binding.cpe.address) } }
        if json {
            let links: [String] = (named?.links ?? []).map { "\($0)".jsonQuoted }
            let delegated: [String] = (named?.delegated ?? []).map { "\($0)".jsonQuoted }
            let leaseText: String = lease.map { "{\"address\":\"\($0.address)\",\"psid\":\($0.psid)}" } ?? "null"
            let previousText: String = previous.map { "{\"address\":\"\($0.address)\",\"psid\":\($0.psid)}" } ?? "null"
            var fields: [String] = ["\"subscriber\":\(id.jsonQuoted)", "\"named\":\(named != nil)"]
            fields.append("\"links\":[" + links.joined(separator: ",") + "]")
            fields.append("\"delegated\":[" + delegated.joined(separator: ",") + "]")
            fields.append("\"lease\":" + leaseText)
            fields.append("\"previous_lease\":" + previousText)
            fields.append("\"bindings\":\(flows.count)")
            return "{" + fields.joined(separator: ",") + "}\n"
        }
        var lines = ["subscriber \(id): " + (named.map { "links \($0.links.map(\.description).joined(separator: " "))"
            + ($0.delegated.isEmpty ? "" : "; delegated \($0.delegated.map(\.description).joined(separator: " "))") }
            ?? "not in the subscribers file (a default subscriber is named by its prefix)")]
        lines.append("  lease: " + (lease.map { "\($0.address) PSID \($0.psid) [\(portsText(allocator?.geometry, $0.psid))]" } ?? "none"))
        if let previous { lines.append("  previous lease: \(previous.address) PSID \(previous.psid)") }
        lines.append("  \(flows.count) bindings")
        for b in flows { lines.append("    #\(b.id) \(b.protocol): CPE \(b.cpe) -> external \(b.external) -> \(b.remote)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The PSID's ports as ranges, "1088-1103 2112-2127 ..." (the first and last few when long).
    static func portsText(_ geometry: PSIDGeometry?, _ psid: UInt16) -> String {
        guard let geometry, let set = try? PSIDPortSet(geometry: geometry, psid: Int(psid)) else { return "" }
        let ranges = set.ranges.map { "\($0.lowerBound)-\($0.upperBound)" }
        return ranges.count <= 6 ? ranges.joined(separator: " ") : (ranges.prefix(3) + ["..."] + ranges.suffix(2)).joined(separator: " ")
    }

}
