import BindingState
import Syscalls

/// `ctl mappings`: the inbound mappings in force (PCP MAP), one per line or as JSON.
extension ConcentratorReports {
    static func renderMappings(_ mappings: [PortMapping], json: Bool) -> String {
        if json {
            let items = mappings.map { m -> String in
                let filters = m.filters.map { "{\"prefix\":\("\($0.prefix)".jsonQuoted),\"port\":\($0.port)}" }
                return "{\"subscriber\":\(m.subscriber.text.jsonQuoted),\"protocol\":\"\(m.transport)\","
                    + "\"external_address\":\"\(m.externalAddress)\",\"first_port\":\(m.externalPorts.lowerBound),"
                    + "\"last_port\":\(m.externalPorts.upperBound),\"internal_address\":\("\(m.internalAddress)".jsonQuoted),"
                    + "\"internal_port\":\(m.internalPort),\"cpe\":\("\(m.cpeAddress)".jsonQuoted),\"nonce\":\"\(m.nonce)\","
                    + "\"filters\":[\(filters.joined(separator: ","))],\"created_ms\":\(m.created),\"expires_ms\":\(m.expires)}"
            }
            return "{\"mappings\":[" + items.joined(separator: ",") + "]}\n"
        }
        var lines = ["\(mappings.count) mappings"]
        for m in mappings {
            let ports = m.externalPorts.count == 1 ? "\(m.externalPorts.lowerBound)" : "\(m.externalPorts.lowerBound)-\(m.externalPorts.upperBound)"
            let filters = m.filters.isEmpty ? "" : "; only from \(m.filters.map { "\($0.prefix)" + ($0.port == 0 ? "" : " port \($0.port)") }.joined(separator: ", "))"
            lines.append("  \(m.subscriber): \(m.transport) \(m.externalAddress):\(ports) -> \(m.internalAddress):\(m.internalPort) via CPE \(m.cpeAddress), expires \(WallClock.text(milliseconds: m.expires))\(filters)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
