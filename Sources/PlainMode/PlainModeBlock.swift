/// A validated PM block: at most one source and one destination option (draft section 4.2).
@frozen
public struct PlainModeBlock: Hashable, Sendable {
    public var source: PlainModeOption?
    public var destination: PlainModeOption?

    @inlinable
    public init(source: PlainModeOption? = nil, destination: PlainModeOption? = nil) {
        self.source = source
        self.destination = destination
    }

    /// The protocol of the relayed traffic (destination's, else source's).
    @inlinable
    public var protocolNumber: UInt8? { destination?.protocolNumber ?? source?.protocolNumber }

    /// Bytes on the wire: options plus the EOL byte.
    @inlinable
    public var encodedLength: Int {
        (source?.encodedLength ?? 0) + (destination?.encodedLength ?? 0) + 1
    }

    /// Writes source (if any), destination (if any) and EOL; returns the bytes written.
    @inlinable
    @discardableResult
    public func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= encodedLength, "PM block needs \(encodedLength) bytes")
        var offset = 0
        if let source {
            offset += source.encode(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
        }
        if let destination {
            offset += destination.encode(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
        }
        buffer[offset] = PlainMode.endOfOptions
        return offset + 1
    }

    /// The block's bytes, for tools, tests and the CPE's SYN data.
    public func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedLength) { buffer, count in
            count = encode(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Parses a block that must be whole in `bytes`; returns it and the bytes it used
    /// (what follows is the original SYN data, or UDP records).
    @inlinable @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer, policy: PlainModePolicy = PlainModePolicy())
        throws(PlainModeError) -> (block: PlainModeBlock, length: Int)
    {
        var parser = PlainModeBlockParser(policy: policy)
        switch try parser.consume(bytes) {
        case .needMoreBytes: throw .truncated
        case let .complete(block, consumed): return (block, consumed)
        }
    }

    /// Array convenience for tools and tests.
    public static func parse(_ bytes: [UInt8], policy: PlainModePolicy = PlainModePolicy())
        throws(PlainModeError) -> (block: PlainModeBlock, length: Int)
    {
        let result: Result<(block: PlainModeBlock, length: Int), PlainModeError> = bytes.withUnsafeBytes { buffer in
            do throws(PlainModeError) { return .success(try parse(buffer, policy: policy)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
