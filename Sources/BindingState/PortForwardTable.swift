import Synchronization

/// The CPE's forwards, found by protocol and external port when an inbound connection's PM
/// block names its destination. Filled at start-up from `--forward` and, later, from PCP
/// answers (keyed by the external port the concentrator assigned); read by every relay loop,
/// once per inbound connection, under one short lock.
public final class PortForwardTable: Sendable {
    struct Key: Hashable {
        var transport: TransportProtocol
        var port: UInt16
    }

    private let entries = Mutex<[Key: PortForward]>([:])

    public init() {}

    /// Adds `forwards` in order; throws on the first that overlaps another (an identical one is no
    /// conflict), keeping those added before it.
    public convenience init(_ forwards: [PortForward]) throws(PortForwardError) {
        self.init()
        for forward in forwards { try add(forward) }
    }

    /// Adds a forward, or changes nothing if the very same one is there. Refuses one whose
    /// external ports are forwarded elsewhere already.
    public func add(_ forward: PortForward) throws(PortForwardError) {
        let conflict: PortForward? = entries.withLock { entries in
            for port in forward.externalPorts {
                if let existing = entries[Key(transport: forward.transport, port: port)], existing != forward { return existing }
            }
            for port in forward.externalPorts { entries[Key(transport: forward.transport, port: port)] = forward }
            return nil
        }
        if let conflict { throw .overlaps(forward, existing: conflict) }
    }

    /// Removes a forward (the ports that still map to it); false when none did.
    @discardableResult
    public func remove(_ forward: PortForward) -> Bool {
        entries.withLock { entries in
            var removed = false
            for port in forward.externalPorts {
                let key = Key(transport: forward.transport, port: port)
                if entries[key] == forward {
                    entries[key] = nil
                    removed = true
                }
            }
            return removed
        }
    }

    /// Removes whatever forwards `externalPorts` of `transport` (a PCP grant that ended); how many ports did.
    @discardableResult
    public func remove(_ transport: TransportProtocol, externalPorts: ClosedRange<UInt16>) -> Int {
        entries.withLock { entries in
            externalPorts.reduce(0) { removed, port in
                removed + (entries.removeValue(forKey: Key(transport: transport, port: port)) == nil ? 0 : 1)
            }
        }
    }

    /// Where an inbound flow to `externalPort` goes; nil when nothing is forwarded there.
    public func route(_ transport: TransportProtocol, externalPort: UInt16) -> Endpoint? {
        entries.withLock { $0[Key(transport: transport, port: externalPort)] }?.internalEndpoint(forExternalPort: externalPort)
    }

    /// Every forward once, by protocol and first external port.
    public var forwards: [PortForward] {
        let all = entries.withLock { Set($0.values) }
        return all.sorted { ($0.transport.rawValue, $0.externalPorts.lowerBound) < ($1.transport.rawValue, $1.externalPorts.lowerBound) }
    }

    public var isEmpty: Bool { entries.withLock { $0.isEmpty } }
}
