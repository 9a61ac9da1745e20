/// The pool slots no CPE leases. Slot s is PSID ordinal s / addressCount on address s %
/// addressCount, so fresh slots go round the addresses before any address gets a second CPE.
/// Fresh slots are handed out first and returned ones after, oldest first, so an (address,
/// PSID) a CPE just gave back is the last to go to someone else.
struct FreePortSets: Sendable {
    let capacity: Int
    /// Slots below this have been handed out at least once.
    private var nextFresh = 0
    /// Returned slots, oldest first from `head`.
    private var returned: [Int] = []
    private var head = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func take() -> Int? {
        if nextFresh < capacity {
            defer { nextFresh += 1 }
            return nextFresh
        }
        guard head < returned.count else { return nil }
        let slot = returned[head]
        head += 1
        // Compact once the consumed prefix dominates, keeping take() amortised O(1).
        if head >= 64 && head * 2 >= returned.count {
            returned.removeFirst(head)
            head = 0
        }
        return slot
    }

    mutating func giveBack(_ slot: Int) {
        returned.append(slot)
    }
}
