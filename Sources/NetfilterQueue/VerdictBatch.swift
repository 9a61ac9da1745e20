/// The verdicts of one burst, staged until the single `sendto` that answers them all.
struct VerdictBatch {
    private var ids: [UInt32]
    private var drops: [Bool]
    private(set) var highestID: UInt32 = 0
    private(set) var allAccepted = true
    private(set) var allDropped = true

    init(capacity: Int) {
        ids = []
        drops = []
        ids.reserveCapacity(capacity)
        drops.reserveCapacity(capacity)
    }

    var isEmpty: Bool { ids.isEmpty }

    mutating func append(id: UInt32, dropped: Bool, counters: NetfilterQueueCounters) {
        ids.append(id)
        drops.append(dropped)
        highestID = max(highestID, id)
        if dropped {
            allAccepted = false
            counters.add(.dropped)
        } else {
            allDropped = false
            counters.add(.accepted)
        }
        counters.add(.received)
    }

    /// Calls `body` with each packet's id and whether it is dropped.
    func forEach(_ body: (UInt32, Bool) -> Void) {
        for index in ids.indices { body(ids[index], drops[index]) }
    }

    mutating func removeAll() {
        ids.removeAll(keepingCapacity: true)
        drops.removeAll(keepingCapacity: true)
        highestID = 0
        allAccepted = true
        allDropped = true
    }
}
