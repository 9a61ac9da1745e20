import BindingState
import PlainMode
import Syscalls
import WireFormat

/// Endpoint-independent mapping at the concentrator (RFC 4787 REQ-1): a pooled UDP binding whose
/// PM block carries a source option with a port takes its external endpoint from the mapping of
/// that LAN endpoint, so every remote sees one address and port. The source option is only the
/// mapping's key here: the datagrams still leave from the pool, never from the LAN address.
extension RelayLoop {
    /// The mapping key a PM block names: its subscriber and the source option's address and port;
    /// nil without a source port (an older CPE, or `--source-option never`): a port per binding.
    static func endpointMappingKey(block: PlainModeBlock, subscriber: SubscriberID) -> EndpointMappingKey? {
        guard let source = block.source, let port = source.port, port != 0 else { return nil }
        return EndpointMappingKey(subscriber: subscriber, transport: .udp, internal: Endpoint(address: source.address, port: port))
    }

    /// The mapping's external endpoint (one user more; the first takes a port of the subscriber's
    /// set). nil (counted and logged) when a new mapping finds no port.
    func chooseMappedSource(_ key: EndpointMappingKey, in mappings: EndpointMappingTable, cpe: IPAddress,
                            now: ContinuousClock.Instant) -> SocketAddress? {
        do {
            let acquired = try mappings.acquire(key, now: now)
            switch acquired {
            case .created: udpCounters.add(.mappingsOpen)
            case .reused: udpCounters.add(.mappingsReused)
            }
            return SocketAddress(acquired.external.address, port: acquired.external.port)
        } catch {
            let counter = Self.counter(for: error)
            counters.add(counter)
            logConnectionError("no UDP port for \(key) (CPE \(cpe)): \(counter.name)")
            return nil
        }
    }

    /// One binding of the mapping less; the last one frees (or holds) its port.
    func releaseMappedSource(_ source: SocketAddress, key: EndpointMappingKey, holdUntil: ContinuousClock.Instant?) {
        guard case .concentrator(let settings) = role, let mappings = settings.udp?.mappings else { return }
        let external = Endpoint(address: source.address, port: source.port)
        if mappings.release(key, external: external, holdUntil: holdUntil) == .ended { udpCounters.add(.mappingsOpen, -1) }
    }
}
