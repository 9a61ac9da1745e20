import BindingState
import PortSets
import Synchronization
import Testing
import WireFormat

/// Lease selection (RFC 7618 section 8), the events a durable store receives, and restoring
/// leases at start-up.
@Suite("PortSetAllocator: leases over time")
struct PortSetAllocatorLeaseTests {
    /// Keeps every event, in order.
    final class RecordingSink: LeaseEventSink {
        let events = Mutex<[LeaseEvent]>([])
        func record(_ event: LeaseEvent) { events.withLock { $0.append(event) } }
        var kinds: [LeaseEvent.Kind] { events.withLock { $0.map(\.kind) } }
    }

    static func allocator(_ sink: RecordingSink? = nil, psidLength: Int = 2) throws -> PortSetAllocator {
        try PortSetAllocator(pool: [prefix("198.51.100.0/31")], geometry: PSIDGeometry(offset: 6, psidLength: psidLength),
                             leaseHold: .seconds(300), events: sink)
    }

    @Test("allocation, renewal after an idle spell and release are recorded once each, in order")
    func eventsFollowTheLease() throws {
        let sink = RecordingSink()
        let allocator = try Self.allocator(sink)
        let port = try allocator.allocatePort(for: subscriber(1), protocol: .tcp, now: t0)
        #expect(sink.kinds == [.allocated])
        allocator.expire(now: t0 + .seconds(1))  // in use since its allocation: nothing to renew
        #expect(sink.kinds == [.allocated])
        _ = allocator.releasePort(port, protocol: .tcp, subscriber: subscriber(1))
        allocator.expire(now: t0 + .seconds(2))  // idle from here
        _ = try allocator.allocatePort(for: subscriber(1), protocol: .udp, now: t0 + .seconds(100))
        allocator.expire(now: t0 + .seconds(101))  // in use again after an idle spell: renewed
        allocator.expire(now: t0 + .seconds(102))
        #expect(sink.kinds == [.allocated, .renewed])
        let lease = try #require(allocator.currentLease(for: subscriber(1)))
        #expect(sink.events.withLock { $0.allSatisfy { $0.subscriber == subscriber(1) && $0.address == lease.address && $0.psid == lease.psid } })
    }

    @Test("an expired subscriber gets its previous port set back while no one else took it")
    func previousLeaseComesBack() throws {
        let sink = RecordingSink()
        let allocator = try Self.allocator(sink)
        let first = try allocator.lease(for: subscriber(1), now: t0)
        allocator.expire(now: t0 + .seconds(300))
        #expect(allocator.currentLease(for: subscriber(1)) == nil)
        #expect(sink.kinds == [.allocated, .released])
        let previous = try #require(allocator.previousLease(for: subscriber(1)))
        #expect(previous.address == first.address && previous.psid == first.psid)
        // Others take fresh slots first; subscriber 1 then gets its own back.
        let others = try (2...4).map { try allocator.lease(for: subscriber($0), now: t0 + .seconds(301)) }
        #expect(!others.contains { $0.address == first.address && $0.psid == first.psid })
        let again = try allocator.lease(for: subscriber(1), now: t0 + .seconds(302))
        #expect(again.address == first.address && again.psid == first.psid)
    }

    @Test("a previous port set taken by someone else is not handed back; the subscriber gets another")
    func previousLeaseTakenByAnother() throws {
        // Two addresses x two allocatable PSIDs (k=1, a=6: both PSIDs usable) = 4 slots.
        let allocator = try Self.allocator(psidLength: 1)
        let first = try allocator.lease(for: subscriber(1), now: t0)
        allocator.expire(now: t0 + .seconds(300))
        // Fill the pool: the fresh slots go first, the returned one last.
        let taken = try (2...5).map { try allocator.lease(for: subscriber($0), now: t0 + .seconds(301)) }
        #expect(taken.contains { $0.address == first.address && $0.psid == first.psid })
        #expect(allocator.previousLease(for: subscriber(1)) == nil)
        #expect(throws: AllocationError.poolExhausted) { try allocator.lease(for: subscriber(1), now: t0 + .seconds(302)) }
    }

    @Test("restore: active leases go back to their subscribers, released ones are remembered, others reported")
    func restoreTakesBackStoredLeases() throws {
        let sink = RecordingSink()
        let allocator = try Self.allocator(sink)
        let address0 = IPv4Address("198.51.100.0")!, address1 = IPv4Address("198.51.100.1")!
        let records = [
            LeaseRecord(subscriber: subscriber(1), address: address1, psid: 2, start: 1, lastUse: 5, end: nil),
            LeaseRecord(subscriber: subscriber(2), address: address0, psid: 3, start: 1, lastUse: 2, end: 3),
            LeaseRecord(subscriber: subscriber(3), address: IPv4Address("203.0.113.9")!, psid: 1, start: 1, lastUse: 2, end: nil),
            LeaseRecord(subscriber: subscriber(4), address: address0, psid: 4, start: 1, lastUse: 2, end: nil),  // k=2: no PSID 4
        ]
        let restored = allocator.restore(records, now: t0)
        #expect(restored.active == 1 && restored.previous == 1)
        #expect(restored.outsidePool.map(\.subscriber) == [subscriber(3), subscriber(4)])
        let lease = try #require(allocator.currentLease(for: subscriber(1)))
        #expect(lease.address == address1 && lease.psid == 2)
        #expect(sink.kinds.isEmpty, "restoring records nothing")
        // Nobody else is given the restored lease, and subscriber 2 gets its previous one.
        for n in 5...7 {
            let other = try allocator.lease(for: subscriber(n), now: t0)
            #expect(!(other.address == address1 && other.psid == 2))
        }
        let second = try allocator.lease(for: subscriber(2), now: t0)
        #expect(second.address == address0 && second.psid == 3)
        #expect(sink.kinds == [.allocated, .allocated, .allocated, .allocated])
    }
}
