/// TestSupport owns what every test target and fuzz target shares: a seeded generator so
/// property tests replay the same cases everywhere, and hex fixtures as RFCs print them.

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator; a failure names a
/// reproducible seed instead of a one-off random draw.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Bytes from hex text; whitespace is ignored. Traps on bad text: test fixtures only.
public func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        guard let byte = UInt8(digits[index..<next], radix: 16) else { preconditionFailure("bad hex: \(digits[index..<next])") }
        out.append(byte)
        index = next
    }
    return out
}
