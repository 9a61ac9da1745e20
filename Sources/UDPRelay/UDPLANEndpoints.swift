public import BindingState
import Synchronization

/// The CPE's LAN endpoints that have a live bonded UDP flow, kept by the queue workers that own
/// the flows (one short lock when a flow opens or closes, never per datagram) and asked by the
/// inbound listener: under the concentrator's `--udp-filtering endpoint`, an inbound UDP
/// connection whose PM destination is such an endpoint carries a new remote of its mapping.
public final class UDPLANEndpoints: Sendable {
    private let flows = Mutex<[Endpoint: Int]>([:])

    public init() {}

    /// One more live flow from `endpoint`.
    public func add(_ endpoint: Endpoint) {
        flows.withLock { $0[endpoint, default: 0] += 1 }
    }

    /// One live flow from `endpoint` less.
    public func remove(_ endpoint: Endpoint) {
        flows.withLock { flows in
            guard let count = flows[endpoint] else { return }
            flows[endpoint] = count > 1 ? count - 1 : nil
        }
    }

    public func contains(_ endpoint: Endpoint) -> Bool {
        flows.withLock { $0[endpoint] != nil }
    }
}
