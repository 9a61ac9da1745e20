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
    @usableFromInline var pending: InlineArray<22, UInt8> = .init(repeating: 0)
    @usableFromInline var pendingCount = 0
    @usableFromInline var finished = false

    @inlinable
    public init(policy: PlainModePolicy = PlainModePolicy()) {
        self.policy = policy
    }

    /// Bytes of the block seen so far (what a timeout or a limit log line reports).
    @inlinable public var bytesConsumed: Int { totalConsumed }

    /// Feeds the next read. After `.complete` or an error the parser must not be fed again.
    @inlinable
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(PlainModeError) -> Progress {
        precondition(!finished, "PlainModeBlockParser fed after it finished")
        var offset = 0
        while offset < bytes.count {
            if pendingCount == 0 {
                // Start of an option (or the EOL).
                let kind = bytes[offset]
                if kind == PlainMode.endOfOptions {
                    try advance(by: 1)
                    try policy.check(source: block.source, destination: block.destination)
                    finished = true
                    return .complete(block, consumed: offset + 1)
                }
                guard kind == PlainMode.optionKind else { throw .unexpectedOptionKind(kind) }
                if offset + 2 <= bytes.count {
                    let length = bytes[offset + 1]
                    guard PlainModeOption.layout(ofLength: length) != nil else { throw .badLength(length) }
                    if offset + Int(length) <= bytes.count {
                        // Fast path: the whole option is in this read.
                        try advance(by: Int(length))
                        try accept(PlainModeOption.decode(
                            UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)]), subtype: policy.subtype))
                        offset += Int(length)
                        continue
                    }
                }
            }
            // Slow path: the option is split; gather it in `pending`.
            if pendingCount == 1 {
                let length = bytes[offset]
                guard PlainModeOption.layout(ofLength: length) != nil else { throw .badLength(length) }
            }
            let needed = pendingCount < 2 ? 2 : Int(pending[1])
            let take = min(needed - pendingCount, bytes.count - offset)
            try advance(by: take)
            for i in 0..<take { pending[pendingCount + i] = bytes[offset + i] }
            pendingCount += take
            offset += take
            if pendingCount >= 2 && pendingCount == Int(pending[1]) {
                let option = try pending.span.bytes.withUnsafeBytes { (raw) throws(PlainModeError) in
                    try PlainModeOption.decode(UnsafeRawBufferPointer(rebasing: raw[0..<pendingCount]), subtype: policy.subtype)
                }
                pendingCount = 0
                try accept(option)
            }
        }
        return .needMoreBytes
    }

    /// Counts block bytes against the cap before they are used.
    @inlinable
    mutating func advance(by count: Int) throws(PlainModeError) {
        totalConsumed += count
        guard totalConsumed <= policy.maximumBlockLength else { throw .blockTooLong(limit: policy.maximumBlockLength) }
    }

    @inlinable
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
