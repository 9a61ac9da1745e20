/// A seeded SplitMix64 generator (Steele, Lea, Flood 2014): property tests replay the same cases on
/// every run, so a failure names a reproducible seed instead of a one-off random draw.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    /// A uniformly chosen valid geometry (a in 0...15, k in 0...16-a).
    mutating func geometry() -> PSIDGeometryParameters {
        let offset = Int.random(in: 0...15, using: &self)
        let psidLength = Int.random(in: 0...(16 - offset), using: &self)
        return PSIDGeometryParameters(offset: offset, psidLength: psidLength)
    }
}

/// Plain (a, k) pairs, so generators stay independent of the code under test.
struct PSIDGeometryParameters: Sendable, CustomStringConvertible {
    var offset: Int
    var psidLength: Int
    var description: String { "a=\(offset),k=\(psidLength)" }
}
