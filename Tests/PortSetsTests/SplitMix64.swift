import TestSupport
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
