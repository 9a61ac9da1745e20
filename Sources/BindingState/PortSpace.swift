/// One protocol's ports of one lease: which indices are taken and where the next search starts.
struct PortSpace: Sendable {
    /// In use or held: either way not to be handed out.
    var busy: PortBitmap
    /// Held indices and the instant each becomes free again.
    var heldUntil: [Int: ContinuousClock.Instant] = [:]
    /// Where the next search starts; it moves past each allocation so a freed port is not reused at once.
    var cursor = 0
    /// Busy indices that are not held.
    var inUse = 0

    init(portCount: Int) {
        busy = PortBitmap(bitCount: portCount)
    }

    /// Takes the first index free in `busy` and `blocked` from the cursor on, and moves the cursor past it.
    mutating func take(blocked: PortBitmap) -> Int? {
        guard let index = busy.firstClear(from: cursor, alsoClearIn: blocked) else { return nil }
        busy.insert(index)
        inUse += 1
        cursor = index + 1 == busy.bitCount ? 0 : index + 1
        return index
    }

    /// Frees an in-use index, or holds it until `holdUntil`; false when it was not in use.
    mutating func release(_ index: Int, holdUntil: ContinuousClock.Instant?) -> Bool {
        guard busy.contains(index), heldUntil[index] == nil else { return false }
        inUse -= 1
        if let holdUntil {
            heldUntil[index] = holdUntil
        } else {
            busy.remove(index)
        }
        return true
    }

    /// Frees the held indices whose instant has come; returns how many.
    mutating func dropHolds(now: ContinuousClock.Instant) -> Int {
        guard !heldUntil.isEmpty else { return 0 }
        let due = heldUntil.filter { $0.value <= now }
        for index in due.keys {
            heldUntil[index] = nil
            busy.remove(index)
        }
        return due.count
    }
}
