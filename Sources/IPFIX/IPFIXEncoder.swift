/// Builds the IPFIX messages of one observation domain: the templates message, and data messages
/// that never exceed `maximumMessageSize` (so one UDP datagram stays under the path MTU) and
/// carry the running sequence number RFC 7011 section 3.1 asks for.
public struct IPFIXEncoder: Hashable, Sendable {
    /// The default limit: a 1400-byte message plus IP and UDP headers fits a 1500-byte MTU with room for tunnels.
    public static let defaultMaximumMessageSize = 1400

    /// The Observation Domain ID every message carries.
    public let observationDomainID: UInt32
    /// No message built is longer than this.
    public let maximumMessageSize: Int
    /// Data records put in messages so far (mod 2^32): the next message's sequence number.
    public private(set) var sequenceNumber: UInt32 = 0

    /// Refuses a limit that cannot hold the templates message (and so any one data record).
    public init(observationDomainID: UInt32 = 0, maximumMessageSize: Int = defaultMaximumMessageSize) throws(IPFIXError) {
        let needed = Self.templatesMessageLength
        guard maximumMessageSize >= needed, maximumMessageSize <= Int(UInt16.max) else {
            throw .messageSizeLimitTooSmall(limit: maximumMessageSize, needed: needed)
        }
        self.observationDomainID = observationDomainID
        self.maximumMessageSize = maximumMessageSize
    }

    /// Bytes of the templates message: header, one template set holding every template.
    public static var templatesMessageLength: Int {
        IPFIXMessage.headerLength + IPFIXMessage.setHeaderLength + IPFIXTemplate.all.reduce(0) { $0 + $1.encodedLength }
    }

    /// One message with one template set announcing every template; `exportTime` in seconds since
    /// the Unix epoch. Template records are not data records, so the sequence number stays.
    public func templatesMessage(exportTime: UInt32) -> [UInt8] {
        var bytes = IPFIXMessage.start(exportTime: exportTime, sequenceNumber: sequenceNumber, observationDomainID: observationDomainID)
        let set = IPFIXMessage.startSet(id: IPFIXMessage.templateSetID, in: &bytes)
        for template in IPFIXTemplate.all { template.encode(into: &bytes) }
        IPFIXMessage.finishSet(at: set, in: &bytes)
        IPFIXMessage.finish(&bytes)
        return bytes
    }

    /// The records as few messages as the size limit allows, in order; consecutive records of one
    /// template share a data set. Advances `sequenceNumber` by `records.count`.
    public mutating func messages(for records: [NATEventRecord], exportTime: UInt32) -> [IPFIXDataMessage] {
        var messages: [IPFIXDataMessage] = []
        var message: [UInt8] = []
        var openSet: (offset: Int, id: UInt16)?
        var recordsInMessage: UInt32 = 0

        func finishMessage() {
            if let set = openSet { IPFIXMessage.finishSet(at: set.offset, in: &message) }
            IPFIXMessage.finish(&message)
            messages.append(IPFIXDataMessage(bytes: message, recordCount: Int(recordsInMessage)))
            sequenceNumber &+= recordsInMessage
            openSet = nil
            recordsInMessage = 0
        }

        for record in records {
            let template = record.template
            let sameSet = openSet?.id == template.id
            let needed = template.recordLength + (sameSet ? 0 : IPFIXMessage.setHeaderLength)
            if recordsInMessage > 0 && message.count + needed > maximumMessageSize { finishMessage() }
            if recordsInMessage == 0 {
                message = IPFIXMessage.start(exportTime: exportTime, sequenceNumber: sequenceNumber,
                                             observationDomainID: observationDomainID)
            }
            if openSet?.id != template.id {
                if let set = openSet { IPFIXMessage.finishSet(at: set.offset, in: &message) }
                openSet = (IPFIXMessage.startSet(id: template.id, in: &message), template.id)
            }
            record.encode(into: &message)
            recordsInMessage += 1
        }
        if recordsInMessage > 0 { finishMessage() }
        return messages
    }
}

/// One data message and how many records it carries (what a failed send loses).
public struct IPFIXDataMessage: Hashable, Sendable {
    /// The whole message, header included: one UDP datagram.
    public let bytes: [UInt8]
    /// Data records in its data sets.
    public let recordCount: Int
}
