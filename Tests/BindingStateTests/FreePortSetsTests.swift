@testable import BindingState
import Testing

/// Who gets which pool slot: fresh slots round the pool, a subscriber's previous slot back while
/// free, and a slot taken but never used (the loser of two concurrent first leases) never
/// counted as anyone's previous lease.
@Suite struct FreePortSetsTests {
    @Test func previousSlotsAndUnusedSlots() {
        var free = FreePortSets(capacity: 4)
        let a = SubscriberID("a"), b = SubscriberID("b"), c = SubscriberID("c")
        let taken1 = free.take(for: a)
        #expect(taken1 == 0)
        let taken2 = free.take(for: b)
        #expect(taken2 == 1)
        free.giveBack(1, releasedBy: nil)  // b's slot was not used: b keeps no claim to it
        #expect(free.previousSlot(of: b) == nil)
        free.giveBack(0, releasedBy: a)
        #expect(free.previousSlot(of: a) == 0)
        // c gets the fresh slots first, then the returned ones oldest first: 1, not a's 0.
        let taken3 = free.take(for: c)
        #expect(taken3 == 2)
        let taken4 = free.take(for: b)
        #expect(taken4 == 3)
        let taken5 = free.take(for: c)
        #expect(taken5 == 1)
        let taken6 = free.take(for: a)
        #expect(taken6 == 0, "a's previous slot, still free")
        #expect(free.previousSlot(of: a) == nil, "held again: no longer a previous lease")
        let taken7 = free.take(for: b)
        #expect(taken7 == nil)
        // Taken by someone else, a slot stops being its last holder's previous lease.
        free.giveBack(0, releasedBy: a)
        let taken8 = free.take(slot: 0, for: b)
        #expect(taken8)
        free.giveBack(0, releasedBy: b)
        #expect(free.previousSlot(of: a) == nil && free.previousSlot(of: b) == 0)
    }
}
