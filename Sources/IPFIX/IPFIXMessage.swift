/// The fixed parts of an IPFIX message (RFC 7011 section 3): the 16-byte message header and the
/// 4-byte set headers, written in place once a message's length is known.
enum IPFIXMessage {
    /// Version Number: 10 for IPFIX (RFC 7011 section 3.1).
    static let version: UInt16 = 10
    static let headerLength = 16
    static let setHeaderLength = 4
    /// Set id of a template set (RFC 7011 section 3.3.2).
    static let templateSetID: UInt16 = 2

    /// Starts a message: version, a length filled in by `finish`, export time, sequence number,
    /// observation domain id.
    static func start(exportTime: UInt32, sequenceNumber: UInt32, observationDomainID: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        bytes.appendWireUInt16(version)
        bytes.appendWireUInt16(0)
        bytes.appendWireUInt32(exportTime)
        bytes.appendWireUInt32(sequenceNumber)
        bytes.appendWireUInt32(observationDomainID)
        return bytes
    }

    /// Appends a set header with a length filled in by `finishSet`; returns where it starts.
    static func startSet(id: UInt16, in bytes: inout [UInt8]) -> Int {
        let offset = bytes.count
        bytes.appendWireUInt16(id)
        bytes.appendWireUInt16(0)
        return offset
    }

    /// Writes the length of the set starting at `offset` (header included, no padding).
    static func finishSet(at offset: Int, in bytes: inout [UInt8]) {
        bytes.storeWireUInt16(UInt16(bytes.count - offset), at: offset + 2)
    }

    /// Writes the message length (header included).
    static func finish(_ bytes: inout [UInt8]) {
        bytes.storeWireUInt16(UInt16(bytes.count), at: 2)
    }
}
