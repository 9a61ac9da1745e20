/// A fixed-size bit set over port indices 0..<bitCount (one bit per port of a PSID port set).
struct PortBitmap: Hashable, Sendable {
    private(set) var words: [UInt64]
    let bitCount: Int

    /// All clear; with `padded`, the bits past `bitCount` in the last word are set, so a bitmap
    /// OR-ed with this one never reports them free.
    init(bitCount: Int, padded: Bool = false) {
        self.bitCount = bitCount
        words = Array(repeating: 0, count: (bitCount + 63) >> 6)
        let tail = bitCount & 63
        if padded && tail != 0 { words[words.count - 1] = UInt64.max << tail }
    }

    @inline(__always)
    func contains(_ index: Int) -> Bool {
        words[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    @inline(__always)
    mutating func insert(_ index: Int) {
        words[index >> 6] |= 1 << UInt64(index & 63)
    }

    @inline(__always)
    mutating func remove(_ index: Int) {
        words[index >> 6] &= ~(1 << UInt64(index & 63))
    }

    /// The first index at or after `start` (wrapping to 0) clear in both this bitmap and
    /// `other`, which must be padded and of the same size; a word at a time.
    func firstClear(from start: Int, alsoClearIn other: PortBitmap) -> Int? {
        let wordCount = words.count
        guard wordCount > 0 else { return nil }
        let first = start >> 6
        let shift = UInt64(start & 63)
        var word = first
        // wordCount + 1 visits: the start word's high bits first, its low bits last.
        for step in 0...wordCount {
            let mask: UInt64 = step == 0 ? UInt64.max << shift : step == wordCount ? ~(UInt64.max << shift) : .max
            let free = ~(words[word] | other.words[word]) & mask
            if free != 0 { return word << 6 | free.trailingZeroBitCount }
            word = word + 1 == wordCount ? 0 : word + 1
        }
        return nil
    }
}
