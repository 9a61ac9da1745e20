/// Parses the PM block at the start of an MPTCP stream as its bytes arrive, across any number
/// of reads. Options wholly inside a read are decoded in place; only an option split across
/// reads is copied, into a fixed inline buffer. It gives up past `policy.maximumBlockLength`.
public struct PlainModeBlockParser: Sendable {
    /// What one call to `consume` achieved.
    public enum Progress: Hashable, Sendable {
        /// Every byte of the read was used and the EOL has not come yet.
        case needMoreBytes
        /// The block ended; `consumed` bytes of this read belong to it, the rest is stream data.
        case complete(PlainModeBlock, consumed: Int)
    }

    public let policy: PlainModePolicy
    @usableFromInline var block = PlainModeBlock()
    /// Bytes of the block consumed so far, over all reads.
    @usableFromInline var totalConsumed = 0
    /// An option split across reads: its first `pendingCount` bytes.
    @usableFromInline var pending: (UInt64, UInt64, UInt64) = (0, 0, 0)

    @inlinable @inline(__always)
    func pendingByte(_ index: Int) -> UInt8 { withUnsafeBytes(of: pending) { $0[index] } }

    @inlinable @inline(__always)
    mutating func setPendingByte(_ index: Int, _ value: UInt8) {
        withUnsafeMutableBytes(of: &pending) { $0[index] = value }
    }
    @usableFromInline var pendingCount = 0
    @usableFromInline var finished = false

    @inlinable
    public init(policy: PlainModePolicy = PlainModePolicy()) {
        self.policy = policy
    }

    /// Bytes of the block so far: accepted options, plus the whole length of an option whose
    /// Length byte has arrived (what a timeout or a limit log line reports).
    @inlinable public var bytesConsumed: Int { totalConsumed }

    /// Feeds the next read. After `.complete` or an error the parser must not be fed again.
    ///
    /// The cap is charged a whole option at a time, as soon as its Length byte is known (and one
    /// byte for the EOL), so a read boundary never changes which error a block gets.
    // Offsets and counts are bounded by a buffer's size, so the fast path adds with &+.
    @inlinable @inline(__always)
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(PlainModeError) -> Progress {
        precondition(!finished, "PlainModeBlockParser fed after it finished")
        var offset = 0
        let count = bytes.count
        while offset < count {
            let option: PlainModeOption
            if pendingCount == 0 {
                // Start of an option (or the EOL).
                let kind = bytes[offset]
                if kind == PlainMode.endOfOptions {
                    try reserve(1)
                    try policy.check(source: block.source, destination: block.destination)
                    finished = true
                    return .complete(block, consumed: offset &+ 1)
                }
                guard kind == PlainMode.optionKind else { throw .unexpectedOptionKind(kind) }
                guard offset &+ 2 <= count else {
                    // Only the kind byte: wait for the Length.
                    setPendingByte(0, kind)
                    pendingCount = 1
                    return .needMoreBytes
                }
                let lengthByte = bytes[offset &+ 1]
                guard let layout = PlainModeOption.layout(ofLength: lengthByte) else { throw .badLength(lengthByte) }
                let length = Int(lengthByte)
                try reserve(length)
                guard offset &+ length <= count else {
                    gather(UnsafeRawBufferPointer(rebasing: bytes[offset..<count]))
                    return .needMoreBytes
                }
                // Fast path: the whole option is in this read; kind, Length and extent are checked.
                option = try PlainModeOption.decode(bytes, at: offset, length: length, isIPv4: layout.isIPv4,
                                                    hasPort: layout.hasPort, subtype: policy.subtype)
                offset &+= length
            } else {
                // Slow path: continue an option split across reads.
                if pendingCount == 1 {
                    _ = try reserveOption(lengthByte: bytes[offset])
                    setPendingByte(1, bytes[offset])
                    pendingCount = 2
                    offset &+= 1
                }
                let take = min(Int(pendingByte(1)) &- pendingCount, count &- offset)
                gather(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset &+ take]))
                offset &+= take
                // Not complete means the read is used up.
                guard pendingCount == Int(pendingByte(1)) else { return .needMoreBytes }
                option = try decodePending()
                pendingCount = 0
            }
            try accept(option)
        }
        return .needMoreBytes
    }

    /// Decodes the option gathered in `pending`.
    @usableFromInline
    func decodePending() throws(PlainModeError) -> PlainModeOption {
        let length = pendingCount
        let gathered = pending
        let decoded: Result<PlainModeOption, PlainModeError> = withUnsafeBytes(of: gathered) { raw in
            do throws(PlainModeError) {
                return .success(try PlainModeOption.decode(UnsafeRawBufferPointer(rebasing: raw[0..<length]), subtype: policy.subtype))
            } catch { return .failure(error) }
        }
        return try decoded.get()
    }

    /// Validates an option's Length byte and charges the whole option against the cap.
    @inlinable @inline(__always)
    mutating func reserveOption(lengthByte: UInt8) throws(PlainModeError) -> Int {
        guard PlainModeOption.layout(ofLength: lengthByte) != nil else { throw .badLength(lengthByte) }
        try reserve(Int(lengthByte))
        return Int(lengthByte)
    }

    @inlinable @inline(__always)
    mutating func reserve(_ count: Int) throws(PlainModeError) {
        totalConsumed &+= count
        guard totalConsumed <= policy.maximumBlockLength else { throw .blockTooLong(limit: policy.maximumBlockLength) }
    }

    /// Appends bytes of a split option to `pending` (never more than its Length).
    @inlinable
    mutating func gather(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            setPendingByte(pendingCount, byte)
            pendingCount += 1
        }
    }

    @inlinable @inline(__always)
    mutating func accept(_ option: PlainModeOption) throws(PlainModeError) {
        try policy.check(option)
        switch option.direction {
        case .source:
            guard block.source == nil else { throw .duplicateSource }
            block.source = option
        case .destination:
            guard block.destination == nil else { throw .duplicateDestination }
            block.destination = option
        }
    }
}
