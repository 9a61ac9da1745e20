import IPFIX
import PortSets
import Testing
import WireFormat

/// One port block event of subscriber 192.0.2.10 on 203.0.113.5 (a = 6, k = 6, PSID 0x34's first block).
private func firstBlockEvent(time: UInt64 = 1_700_000_000_123) throws -> NATEventRecord {
    let block = try PortBlock(start: 1856, end: 1871, portCount: 16)
    return .portBlockAllocated(PortBlockEvent(time: time, cpe: .v4(IPv4Address(192, 0, 2, 10)),
                                              poolAddress: IPv4Address(203, 0, 113, 5), block: block))
}

@Suite("IPFIX messages: RFC 7011 header and sets, RFC 8158 templates and records, byte for byte")
struct IPFIXEncoderTests {
    @Test("templates message: version 10, length 336, export time, sequence 0, domain; set 2 with template 256 first")
    func templatesMessage() throws {
        let encoder = try IPFIXEncoder(observationDomainID: 7)
        let bytes = encoder.templatesMessage(exportTime: 0x5F5E_1000)
        #expect(bytes.count == 336)
        #expect(IPFIXEncoder.templatesMessageLength == 336)
        #expect(Array(bytes[0..<16]) == [0x00, 0x0A, 0x01, 0x50, 0x5F, 0x5E, 0x10, 0x00,
                                         0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07])
        // Template set header: set id 2, length 320 (336 minus the message header).
        #expect(Array(bytes[16..<20]) == [0x00, 0x02, 0x01, 0x40])
        // Template 256, 8 fields: 323/8, 230/1, 8/4, 225/4, 361/2, 362/2, 363/2, 364/2.
        #expect(Array(bytes[20..<56]) == [0x01, 0x00, 0x00, 0x08,
                                          0x01, 0x43, 0x00, 0x08, 0x00, 0xE6, 0x00, 0x01,
                                          0x00, 0x08, 0x00, 0x04, 0x00, 0xE1, 0x00, 0x04,
                                          0x01, 0x69, 0x00, 0x02, 0x01, 0x6A, 0x00, 0x02,
                                          0x01, 0x6B, 0x00, 0x02, 0x01, 0x6C, 0x00, 0x02])
        // Template 257 swaps sourceIPv4Address for sourceIPv6Address (27, 16 bytes).
        #expect(Array(bytes[56..<68]) == [0x01, 0x01, 0x00, 0x08, 0x01, 0x43, 0x00, 0x08, 0x00, 0xE6, 0x00, 0x01])
        #expect(Array(bytes[68..<72]) == [0x00, 0x1B, 0x00, 0x10])
    }

    @Test("a port block allocation record: natEvent 16, time, CPE, pool address, 1856-1871 step 1, 16 ports")
    func portBlockRecord() throws {
        var encoder = try IPFIXEncoder(observationDomainID: 1)
        let messages = encoder.messages(for: [try firstBlockEvent()], exportTime: 0x6553_F100)
        try #require(messages.count == 1)
        #expect(messages[0].recordCount == 1)
        #expect(messages[0].bytes == [
            0x00, 0x0A, 0x00, 0x2D, 0x65, 0x53, 0xF1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x01, 0x00, 0x00, 0x1D,                          // data set 256, 4 + 25 bytes
            0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,  // observationTimeMilliseconds 1700000000123
            0x10,                                            // natEvent 16: port block allocation
            0xC0, 0x00, 0x02, 0x0A,                          // sourceIPv4Address 192.0.2.10
            0xCB, 0x00, 0x71, 0x05,                          // postNATSourceIPv4Address 203.0.113.5
            0x07, 0x40, 0x07, 0x4F, 0x00, 0x01, 0x00, 0x10,  // portRangeStart 1856, End 1871, StepSize 1, NumPorts 16
        ])
        // The next message's sequence number counts the record already sent.
        #expect(encoder.sequenceNumber == 1)
        let next = encoder.messages(for: [try firstBlockEvent()], exportTime: 0)
        #expect(Array(next[0].bytes[8..<12]) == [0, 0, 0, 1])
        #expect(encoder.templatesMessage(exportTime: 0)[8..<12] == [0, 0, 0, 2])
    }

    @Test("natEvent values follow RFC 8158 section 4.3 (IANA NAT Event Type)")
    func eventValues() {
        #expect(NATEventType.natAddressesExhausted.rawValue == 3)
        #expect(NATEventType.nat44SessionCreate.rawValue == 4)
        #expect(NATEventType.nat44SessionDelete.rawValue == 5)
        #expect(NATEventType.nat44BIBCreate.rawValue == 8)
        #expect(NATEventType.nat44BIBDelete.rawValue == 9)
        #expect(NATEventType.natPortsExhausted.rawValue == 12)
        #expect(NATEventType.quotaExceeded.rawValue == 13)
        #expect(NATEventType.portBlockAllocation.rawValue == 16)
        #expect(NATEventType.portBlockDeallocation.rawValue == 17)
    }

    @Test("every record's bytes match its template's record length")
    func recordLengths() throws {
        let cpe6 = CPEAddress.v6(IPv6Address(groups: (0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20)))
        let pool = IPv4Address(203, 0, 113, 6)
        let session = SessionEvent(time: 1, protocolNumber: 17, cpe: cpe6, cpePort: 5353, poolAddress: pool, poolPort: 13312,
                                   destination: IPv4Address(198, 51, 100, 8), destinationPort: 53)
        let records: [NATEventRecord] = [
            try firstBlockEvent(), .addressesExhausted(time: 1, poolID: 1),
            .portsExhausted(time: 1, poolAddress: pool, protocolNumber: 6),
            .quotaExceeded(QuotaExceededEvent(time: 1, cpe: cpe6, poolAddress: pool, protocolNumber: 6, maximumEntries: 256)),
            .sessionCreated(session), .sessionDeleted(session),
            .bindingCreated(BindingEvent(time: 1, protocolNumber: 6, cpe: cpe6, internalPort: 80, poolAddress: pool, poolPort: 1860)),
        ]
        for record in records {
            var encoder = try IPFIXEncoder()
            let message = encoder.messages(for: [record], exportTime: 0)[0].bytes
            #expect(message.count == 16 + 4 + record.template.recordLength)
            #expect(message[16] == UInt8(record.template.id >> 8) && message[17] == UInt8(record.template.id & 0xFF))
            #expect(message[28] == record.eventType.rawValue)
        }
    }

    @Test("a NAT44 BIB create record (a mapped port): natEvent 8, protocol, CPE, internal port, pool address and port")
    func bindingRecord() throws {
        var encoder = try IPFIXEncoder(observationDomainID: 1)
        let event = BindingEvent(time: 1_700_000_000_123, protocolNumber: 6, cpe: .v4(IPv4Address(192, 0, 2, 10)),
                                 internalPort: 8080, poolAddress: IPv4Address(203, 0, 113, 5), poolPort: 1860)
        let message = encoder.messages(for: [.bindingCreated(event)], exportTime: 0)[0].bytes
        #expect(Array(message[16...]) == [
            0x01, 0x08, 0x00, 0x1A,                          // data set 264, 4 + 22 bytes
            0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,  // observationTimeMilliseconds
            0x08, 0x06,                                      // natEvent 8: NAT44 BIB create; protocol 6
            0xC0, 0x00, 0x02, 0x0A, 0x1F, 0x90,              // sourceIPv4Address 192.0.2.10, sourceTransportPort 8080
            0xCB, 0x00, 0x71, 0x05, 0x07, 0x44,              // postNATSourceIPv4Address 203.0.113.5, postNAPTSourceTransportPort 1860
        ])
    }

    @Test("messages split under the size limit: 100 records of 25 bytes are 55 + 45, sequence numbers consecutive")
    func splitting() throws {
        var encoder = try IPFIXEncoder()
        let records = try (0..<100).map { try firstBlockEvent(time: UInt64($0)) }
        let messages = encoder.messages(for: records, exportTime: 0)
        #expect(messages.map(\.recordCount) == [55, 45])
        #expect(messages.map(\.bytes.count) == [20 + 55 * 25, 20 + 45 * 25])
        #expect(messages.allSatisfy { $0.bytes.count <= 1400 })
        #expect(Array(messages[1].bytes[8..<12]) == [0, 0, 0, 55])
        #expect(encoder.sequenceNumber == 100)

        // Mixed templates open a new set each time the template changes; still under the limit.
        var small = try IPFIXEncoder(maximumMessageSize: 400)
        let mixed = (0..<40).map { i -> NATEventRecord in
            i.isMultiple(of: 2) ? .addressesExhausted(time: UInt64(i), poolID: 1) : .portsExhausted(time: 0, poolAddress: .any, protocolNumber: 6)
        }
        let parts = small.messages(for: mixed, exportTime: 0)
        #expect(parts.reduce(0) { $0 + $1.recordCount } == 40)
        #expect(parts.allSatisfy { $0.bytes.count <= 400 && Int($0.bytes[2]) << 8 | Int($0.bytes[3]) == $0.bytes.count })
    }

    @Test("a size limit below the templates message is refused; so is an inconsistent port block")
    func invalidInput() {
        #expect(throws: IPFIXError.messageSizeLimitTooSmall(limit: 100, needed: 336)) { try IPFIXEncoder(maximumMessageSize: 100) }
        #expect(throws: IPFIXError.invalidPortBlock(start: 10, end: 20, stepSize: 1, portCount: 10)) {
            try PortBlock(start: 10, end: 20, portCount: 10)
        }
        #expect(throws: IPFIXError.self) { try PortBlock(start: 20, end: 10, portCount: 1) }
        #expect(throws: IPFIXError.self) { try PortBlock(start: 0, end: 10, stepSize: 0, portCount: 1) }
    }
}

@Suite("PSID port sets as RFC 8158 port blocks")
struct PortBlockTests {
    @Test("a=6, k=6, PSID 0x34: 63 blocks of 16 ports, 1856-1871 ... 65344-65359, exactly the set")
    func offsetSix() throws {
        let set = try PSIDPortSet(offset: 6, psidLength: 6, psid: 0x34)
        let blocks = PortBlock.blocks(of: set)
        #expect(blocks.count == 63)
        #expect(blocks.allSatisfy { $0.portCount == 16 && $0.stepSize == 1 && $0.end - $0.start == 15 })
        #expect(blocks.first == (try PortBlock(start: 1856, end: 1871, portCount: 16)))
        #expect(blocks.last == (try PortBlock(start: 65344, end: 65359, portCount: 16)))
        let ports = blocks.flatMap { Array($0.start...$0.end) }
        #expect(ports.count == set.portCount)
        #expect(ports.allSatisfy { set.contains(port: $0) })
    }

    @Test("a=0: one block (k=8, PSID 0x34 is 13312-13567); the whole address (k=0) is two halves")
    func offsetZero() throws {
        let blocks = PortBlock.blocks(of: try PSIDPortSet(offset: 0, psidLength: 8, psid: 0x34))
        #expect(blocks == [try PortBlock(start: 13312, end: 13567, portCount: 256)])
        let whole = PortBlock.blocks(of: try PSIDPortSet(offset: 0, psidLength: 0, psid: 0))
        #expect(whole == [try PortBlock(start: 0, end: 32767, portCount: 32768),
                          try PortBlock(start: 32768, end: 65535, portCount: 32768)])
    }
}
