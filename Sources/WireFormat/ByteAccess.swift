// Big-endian loads and stores at byte offsets: the one place where wire-format modules touch
// raw memory. Callers check lengths first; these only trap in debug builds when out of range.

extension UnsafeRawBufferPointer {
    @inlinable @inline(__always)
    public func wireUInt8(at offset: Int) -> UInt8 {
        self[offset]
    }

    @inlinable @inline(__always)
    public func wireUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public func wireUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    public func wireUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable @inline(__always)
    public func wireUInt16(at offset: Int) -> UInt16 {
        UnsafeRawBufferPointer(self).wireUInt16(at: offset)
    }

    @inlinable @inline(__always)
    public func wireUInt32(at offset: Int) -> UInt32 {
        UnsafeRawBufferPointer(self).wireUInt32(at: offset)
    }

    @inlinable @inline(__always)
    public func storeWireUInt8(_ value: UInt8, at offset: Int) {
        self[offset] = value
    }

    @inlinable @inline(__always)
    public func storeWireUInt16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    public func storeWireUInt32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    public func storeWireUInt64(_ value: UInt64, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }
}

extension UnsafeRawBufferPointer {
    /// True when `part`'s bytes lie within these (a slice handed out from this buffer).
    @inlinable
    public func encloses(_ part: UnsafeRawBufferPointer) -> Bool {
        guard let base = baseAddress, let start = part.baseAddress else { return false }
        return start >= base && start + part.count <= base + count
    }
}
