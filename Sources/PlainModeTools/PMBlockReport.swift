public import PlainMode
import WireFormat

/// The PM half of `plainmode decode`: a PM block (as captured from SYN data or the start of a
/// stream) rendered as text or JSON, with what follows it; for UDP, the framed datagrams.
public enum PMBlockReport {
    /// Decodes `bytes`; never fails: a refused block fills `problem` with the validation error.
    public static func decode(_ bytes: [UInt8], policy: PlainModePolicy = PlainModePolicy()) -> PMBlockReportDocument {
        var document = PMBlockReportDocument(length: bytes.count)
        let block: PlainModeBlock
        let blockLength: Int
        do {
            (block, blockLength) = try PlainModeBlock.parse(bytes, policy: policy)
        } catch {
            document.problem = .init(error: String(describing: error.self), reason: error.description)
            return document
        }
        document.blockLength = blockLength
        document.options = [block.source, block.destination].compactMap { $0 }.map(PMBlockReportDocument.Option.init)
        let rest = Array(bytes[blockLength...])
        document.trailingBytes = rest.count
        guard block.protocolNumber == IPProtocolNumber.udp, !rest.isEmpty else {
            if !rest.isEmpty { document.trailingHex = PlainModeTools.hex(rest.prefix(64)) }
            return document
        }
        var decoder = UDPFrameDecoder()
        var records: [PMBlockReportDocument.Record] = []
        do {
            try decoder.decode(rest) { datagram in
                records.append(.init(length: datagram.count, hex: PlainModeTools.hex(datagram.prefix(64))))
            }
            if decoder.bufferedByteCount > 0 { document.partialRecordBytes = decoder.bufferedByteCount }
        } catch {
            document.problem = .init(error: "framing", reason: String(describing: error))
        }
        document.udpRecords = records
        return document
    }
}

/// A decoded PM block as data; nil fields are left out of the JSON.
public struct PMBlockReportDocument: Codable, Hashable, Sendable {
    /// One PM option in readable form.
    public struct Option: Codable, Hashable, Sendable {
        public var direction: String
        public var address: String
        public var port: Int?
        public var protocolNumber: Int
        public var protocolName: String?
        public var subtype: String
        public var flags: Int
        public var hex: String

        init(_ option: PlainModeOption) {
            direction = option.direction.rawValue
            address = option.address.description
            port = option.port.map(Int.init)
            protocolNumber = Int(option.protocolNumber)
            protocolName = Self.protocolNames[option.protocolNumber]
            subtype = "0x" + String(option.subtype, radix: 16, uppercase: true)
            flags = Int(option.flags)
            hex = PlainModeTools.hex(option.encoded())
        }

        static let protocolNames: [UInt8: String] = [1: "ICMP", 6: "TCP", 17: "UDP", 33: "DCCP", 58: "ICMPv6", 132: "SCTP", 136: "UDP-Lite"]
    }

    /// One framed UDP datagram found after the block.
    public struct Record: Codable, Hashable, Sendable {
        public var length: Int
        /// The first 64 bytes at most.
        public var hex: String
    }

    /// Why the block (or its records) was refused.
    public struct Problem: Codable, Hashable, Sendable {
        public var error: String
        public var reason: String
    }

    public var length: Int
    public var blockLength: Int?
    public var options: [Option]?
    public var trailingBytes: Int?
    public var trailingHex: String?
    public var udpRecords: [Record]?
    public var partialRecordBytes: Int?
    public var problem: Problem?

    init(length: Int) { self.length = length }

    /// Multi-line text for people.
    public var text: String {
        var lines = ["PM block (\(length) bytes of input)"]
        if let problem {
            lines.append("  refused: \(problem.reason)")
        }
        for option in options ?? [] {
            let port = option.port.map { " port \($0)" } ?? ""
            let proto = option.protocolName.map { "\($0) (\(option.protocolNumber))" } ?? "\(option.protocolNumber)"
            lines.append("  \(option.direction): \(option.address)\(port), protocol \(proto), subtype \(option.subtype), flags \(option.flags)")
            lines.append("    bytes: \(option.hex)")
        }
        if let blockLength { lines.append("  EOL at byte \(blockLength - 1); block is \(blockLength) bytes") }
        if let trailingBytes, trailingBytes > 0 { lines.append("  \(trailingBytes) bytes of stream data follow") }
        if let trailingHex { lines.append("    data: \(trailingHex)") }
        for (index, record) in (udpRecords ?? []).enumerated() {
            lines.append("  UDP datagram \(index + 1): \(record.length) bytes: \(record.hex)")
        }
        if let partialRecordBytes { lines.append("  \(partialRecordBytes) bytes of an unfinished UDP record") }
        return lines.joined(separator: "\n")
    }

    /// Pretty, key-sorted JSON.
    public func json() -> String { PlainModeTools.json(self) }
}
