/// The pool slots no subscriber leases, and who held each slot last. Slot s is PSID ordinal
/// s / addressCount on address s % addressCount, so fresh slots go round the addresses before any
/// address gets a second subscriber. A subscriber gets its previous slot back while it is still
/// free (RFC 7618 section 8); otherwise fresh slots go first and returned ones after, oldest
/// first, so an (address, PSID) a subscriber just gave back is the last to go to someone else.
struct FreePortSets: Sendable {
    let capacity: Int
    /// Slots below this have been handed out (or claimed) at least once.
    private var nextFresh = 0
    /// Returned slots, oldest first from `head`; an entry whose slot was claimed since is skipped.
    private var returned: [Int] = []
    private var head = 0
    private var taken: [Bool]
    /// The subscriber that took each slot last, and the slot each subscriber gave back last; an
    /// entry of `previous` always points at a slot whose `lastOwner` is that subscriber, so it
    /// stays bounded by the pool.
    private var lastOwner: [SubscriberID?]
    private var previous: [SubscriberID: Int] = [:]

    init(capacity: Int) {
        self.capacity = capacity
        taken = [Bool](repeating: false, count: capacity)
        lastOwner = [SubscriberID?](repeating: nil, count: capacity)
    }

    /// A slot for `subscriber`: its previous one if free, else the next free slot; nil when none is.
    mutating func take(for subscriber: SubscriberID) -> Int? {
        if let slot = previous[subscriber], !taken[slot] {
            claim(slot, for: subscriber)
            return slot
        }
        while nextFresh < capacity {
            let slot = nextFresh
            nextFresh += 1
            if !taken[slot] {
                claim(slot, for: subscriber)
                return slot
            }
        }
        while head < returned.count {
            let slot = returned[head]
            head += 1
            // Compact once the consumed prefix dominates, keeping take() amortised O(1).
            if head >= 64 && head * 2 >= returned.count {
                returned.removeFirst(head)
                head = 0
            }
            if !taken[slot] {
                claim(slot, for: subscriber)
                return slot
            }
        }
        return nil
    }

    /// Claims one given slot (a lease restored from the store, or asked for); false when it is taken.
    mutating func take(slot: Int, for subscriber: SubscriberID) -> Bool {
        guard (0..<capacity).contains(slot), !taken[slot] else { return false }
        claim(slot, for: subscriber)
        return true
    }

    /// Returns a slot to the pool; `releasedBy` remembers it as that subscriber's previous lease
    /// (nil: a slot taken but never used, e.g. by the loser of two concurrent first leases).
    mutating func giveBack(_ slot: Int, releasedBy subscriber: SubscriberID?) {
        taken[slot] = false
        returned.append(slot)
        if let subscriber { remember(slot, heldBy: subscriber) }
    }

    /// Records that `subscriber` held `slot` last (a release, or a released lease read from the store).
    mutating func remember(_ slot: Int, heldBy subscriber: SubscriberID) {
        guard (0..<capacity).contains(slot), !taken[slot] else { return }
        if let old = lastOwner[slot], old != subscriber, previous[old] == slot { previous[old] = nil }
        lastOwner[slot] = subscriber
        previous[subscriber] = slot
    }

    /// The slot `subscriber` gave back last, while it is free and no one else has taken it since.
    func previousSlot(of subscriber: SubscriberID) -> Int? {
        guard let slot = previous[subscriber], !taken[slot] else { return nil }
        return slot
    }

    /// Someone else taking the slot ends its last owner's claim to it as a previous lease.
    private mutating func claim(_ slot: Int, for subscriber: SubscriberID) {
        taken[slot] = true
        if let old = lastOwner[slot], old != subscriber, previous[old] == slot { previous[old] = nil }
        lastOwner[slot] = subscriber
    }
}
