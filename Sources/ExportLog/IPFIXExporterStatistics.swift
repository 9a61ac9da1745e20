/// What an exporter has done, for `ctl stats`: sends that worked and sends that failed.
public struct IPFIXExporterStatistics: Hashable, Sendable {
    /// Messages the kernel took (templates and data).
    public var messagesSent: UInt64 = 0
    /// Templates messages among them.
    public var templateMessagesSent: UInt64 = 0
    /// Data records in the data messages the kernel took.
    public var recordsSent: UInt64 = 0
    /// Sends that failed (buffer full, collector unreachable, ...); their messages are dropped.
    public var sendErrors: UInt64 = 0
    /// Data records in the dropped messages.
    public var recordsDropped: UInt64 = 0

    public init() {}
}
