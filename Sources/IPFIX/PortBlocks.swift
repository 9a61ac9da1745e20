public import PortSets

/// A port block as RFC 8158 describes it with portRangeStart, portRangeEnd, portRangeStepSize and
/// portRangeNumPorts (IEs 361-364): the ports start, start + step, ... up to end.
public struct PortBlock: Hashable, Sendable {
    public let start: UInt16
    public let end: UInt16
    /// 1 for contiguous ports.
    public let stepSize: UInt16
    public let portCount: UInt16

    /// Validates that the four fields agree, so a collector decodes exactly these ports.
    public init(start: UInt16, end: UInt16, stepSize: UInt16 = 1, portCount: UInt16) throws(IPFIXError) {
        guard stepSize > 0, end >= start, (end - start) % stepSize == 0,
              Int(end - start) / Int(stepSize) + 1 == Int(portCount)
        else { throw .invalidPortBlock(start: start, end: end, stepSize: stepSize, portCount: portCount) }
        self.start = start
        self.end = end
        self.stepSize = stepSize
        self.portCount = portCount
    }

    /// A contiguous block; `range` holds at most 65535 ports (portRangeNumPorts is 16 bits).
    init(contiguous range: ClosedRange<UInt16>) {
        start = range.lowerBound
        end = range.upperBound
        stepSize = 1
        portCount = UInt16(range.count)
    }

    /// The blocks that make up `portSet` exactly, in ascending order: one per contiguous range of
    /// the PSID (2^a - 1 blocks of 2^m ports when a > 0, one block when a = 0). The whole address
    /// (a = 0, k = 0: 65536 ports, more than portRangeNumPorts can count) is two halves.
    public static func blocks(of portSet: PSIDPortSet) -> [PortBlock] {
        portSet.ranges.flatMap { range -> [PortBlock] in
            guard range.count > Int(UInt16.max) else { return [PortBlock(contiguous: range)] }
            let middle = range.lowerBound + UInt16(range.count / 2)
            return [PortBlock(contiguous: range.lowerBound...(middle - 1)), PortBlock(contiguous: middle...range.upperBound)]
        }
    }
}
