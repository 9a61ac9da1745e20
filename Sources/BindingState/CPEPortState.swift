import PortSets
import WireFormat

/// Everything the allocator keeps for one subscriber: its lease, the ports of the set that may never
/// be handed out, and one `PortSpace` per protocol.
struct CPEPortState: Sendable {
    let lease: PortSetLease
    /// The pool slot (address, PSID) the lease came from, returned when the lease expires.
    let slot: Int
    /// System and reserved ports of this PSID, by port index, padded past the last index.
    let blocked: PortBitmap
    /// Ports of the set minus the blocked ones.
    let usablePortCount: Int
    var tcp: PortSpace
    var udp: PortSpace
    /// When the subscriber was first seen with no port in use or held; nil while it has some.
    var idleSince: ContinuousClock.Instant?
    /// Idle at the last sweep (or restored from the store): a port in use now is a renewal to record.
    var wasIdle = false
    /// Ports (both protocols) reserved for inbound mappings: busy in their space, so outbound
    /// allocation skips them, and they keep the lease from going idle.
    var mappedPorts = 0

    init(lease: PortSetLease, slot: Int, isBlocked: (UInt16) -> Bool, now: ContinuousClock.Instant) {
        self.lease = lease
        self.slot = slot
        let portCount = lease.portSet.portCount
        var blocked = PortBitmap(bitCount: portCount, padded: true)
        var blockedCount = 0
        for index in 0..<portCount where isBlocked(Self.port(at: index, of: lease.portSet)) {
            blocked.insert(index)
            blockedCount += 1
        }
        self.blocked = blocked
        usablePortCount = portCount - blockedCount
        tcp = PortSpace(portCount: portCount)
        udp = PortSpace(portCount: portCount)
        idleSince = now
    }

    /// Port index -> port: index bits above m pick the range (A - 1), the low m bits the port in it.
    @inline(__always)
    static func port(at index: Int, of portSet: PSIDPortSet) -> UInt16 {
        let geometry = portSet.geometry
        let range = portSet.ranges[index >> geometry.contiguousBits]
        return range.lowerBound &+ UInt16(truncatingIfNeeded: index & (geometry.portsPerRange - 1))
    }

    /// Port -> port index, or nil when the port is not in the set.
    @inline(__always)
    static func index(of port: UInt16, in portSet: PSIDPortSet) -> Int? {
        guard portSet.contains(port: port) else { return nil }
        let geometry = portSet.geometry
        let range = geometry.offset == 0 ? 0 : Int(port >> UInt16(16 - geometry.offset)) - 1
        return range << geometry.contiguousBits | Int(port) & (geometry.portsPerRange - 1)
    }

    /// No port in use, held or mapped for either protocol.
    var isIdle: Bool {
        tcp.inUse == 0 && udp.inUse == 0 && tcp.heldUntil.isEmpty && udp.heldUntil.isEmpty && mappedPorts == 0
    }

    var heldCount: Int { tcp.heldUntil.count + udp.heldUntil.count }

    /// Runs `body` on the space of `transport`, in place.
    @inline(__always)
    mutating func withSpace<Result>(_ transport: TransportProtocol, _ body: (inout PortSpace) -> Result) -> Result {
        switch transport {
        case .tcp: body(&tcp)
        case .udp: body(&udp)
        }
    }

    /// Allocates a port, reclaiming holds already due when the set looks full; returns the port
    /// (nil when exhausted) and how many holds were reclaimed.
    mutating func allocate(_ transport: TransportProtocol, now: ContinuousClock.Instant) -> (port: UInt16?, reclaimed: Int) {
        let blocked = blocked
        let (index, reclaimed) = withSpace(transport) { space -> (Int?, Int) in
            if let index = space.take(blocked: blocked) { return (index, 0) }
            let reclaimed = space.dropHolds(now: now)
            return (reclaimed > 0 ? space.take(blocked: blocked) : nil, reclaimed)
        }
        guard let index else { return (nil, reclaimed) }
        idleSince = nil
        return (Self.port(at: index, of: lease.portSet), reclaimed)
    }
}
