import BindingState
import PortSets
import TestSupport
import WireFormat

/// A fixed start instant; tests move time by adding durations to it.
let t0 = ContinuousClock.now

func address(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { preconditionFailure("bad address in test: \(text)") }
    return address
}

func prefix(_ text: String) -> IPPrefix {
    do { return try IPPrefix(text) } catch { preconditionFailure("\(error)") }
}

/// The n-th test CPE: 2001:db8:<n>::1, so each is in its own /48.
func cpe(_ n: Int) -> IPAddress {
    .v6(IPv6Address(high: 0x2001_0DB8_0000_0000 | UInt64(n) << 16, low: 1))
}

/// The ports a lease may hand out, computed from the geometry's ranges independently of the
/// allocator: in the set, not a system port, not reserved.
func expectedUsablePorts(psid: UInt16, geometry: PSIDGeometry, reserved: [ClosedRange<UInt16>]) throws -> Set<UInt16> {
    var ports = Set<UInt16>()
    for range in try geometry.ranges(of: psid) {
        for port in range where port >= 1024 && !reserved.contains(where: { $0.contains(port) }) {
            ports.insert(port)
        }
    }
    return ports
}

/// Subscriber n of the allocator tests (one CPE each).
func subscriber(_ n: Int) -> SubscriberID {
    SubscriberID("subscriber-\(n)")
}
