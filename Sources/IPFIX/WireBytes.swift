import WireFormat

// Big-endian appends for building messages in a growing array (the encoder never needs raw memory).
extension Array where Element == UInt8 {

    mutating func appendWireUInt16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    mutating func appendWireUInt32(_ value: UInt32) {
        appendWireUInt16(UInt16(truncatingIfNeeded: value >> 16))
        appendWireUInt16(UInt16(truncatingIfNeeded: value))
    }

    mutating func appendWireUInt64(_ value: UInt64) {
        appendWireUInt32(UInt32(truncatingIfNeeded: value >> 32))
        appendWireUInt32(UInt32(truncatingIfNeeded: value))
    }

    mutating func appendWire(_ address: IPv4Address) { appendWireUInt32(address.value) }

    mutating func appendWire(_ address: IPv6Address) {
        appendWireUInt64(address.high)
        appendWireUInt64(address.low)
    }

    /// Overwrites two bytes at `offset` (a length field written once its content is known).

    mutating func storeWireUInt16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }
}
