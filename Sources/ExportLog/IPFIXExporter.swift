public import IPFIX
public import Syscalls
import SystemPackage

/// Sends NAT events to one IPFIX collector over UDP. Owned by one thread (the daemon's logging
/// thread); every call returns at once: a message the socket does not take is dropped and
/// counted, never retried, and the templates go again before the next data.
public final class IPFIXExporter {
    /// RFC 7011 section 8.4: over UDP, templates are re-sent periodically; a minute by default.
    public static let defaultTemplateInterval: Duration = .seconds(60)

    /// The collector's address and port.
    public let collector: SocketAddress
    /// How often the templates are sent again.
    public let templateInterval: Duration
    /// Counts of what was sent and what failed.
    public private(set) var statistics = IPFIXExporterStatistics()

    private var encoder: IPFIXEncoder
    private let socket: Socket
    /// When the templates are next due; nil means before the next send of any kind.
    private var templatesDue: ContinuousClock.Instant?
    private var isClosed = false

    /// Opens a non-blocking UDP socket connected to `collector`; sends nothing yet.
    public init(collector: SocketAddress, templateInterval: Duration = defaultTemplateInterval,
                observationDomainID: UInt32 = 0,
                maximumMessageSize: Int = IPFIXEncoder.defaultMaximumMessageSize) throws(IPFIXExporterError) {
        do {
            encoder = try IPFIXEncoder(observationDomainID: observationDomainID, maximumMessageSize: maximumMessageSize)
        } catch {
            throw .encoder(error)
        }
        do {
            socket = try Socket.datagram(family: collector.family)
        } catch {
            throw .socket(error)
        }
        do {
            _ = try socket.connect(to: collector)
        } catch {
            socket.close()
            throw .socket(error)
        }
        self.collector = collector
        self.templateInterval = templateInterval
    }

    deinit {
        if !isClosed { socket.close() }
    }

    /// Sends the templates now (start-up) and schedules the next ones.
    public func start(now: ContinuousClock.Instant = .now) {
        sendTemplates(now: now)
    }

    /// Sends the templates if they are due; call it from the logging thread's wake-ups.
    public func tick(now: ContinuousClock.Instant = .now) {
        if let due = templatesDue, now < due { return }
        sendTemplates(now: now)
    }

    /// Sends `records` in as many messages as the size limit needs, templates first when due.
    public func export(_ records: [NATEventRecord], now: ContinuousClock.Instant = .now) {
        guard !records.isEmpty else { return }
        tick(now: now)
        for message in encoder.messages(for: records, exportTime: WallClock.unixSeconds()) {
            let count = UInt64(message.recordCount)
            if send(message.bytes) {
                statistics.recordsSent += count
            } else {
                statistics.recordsDropped += count
            }
        }
    }

    /// Closes the socket; later calls send nothing.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        socket.close()
    }

    private func sendTemplates(now: ContinuousClock.Instant) {
        if send(encoder.templatesMessage(exportTime: WallClock.unixSeconds())) {
            statistics.templateMessagesSent += 1
            templatesDue = now + templateInterval
        }
    }

    /// One datagram; false (counted, and the templates made due) when the socket did not take it whole.
    private func send(_ message: [UInt8]) -> Bool {
        guard !isClosed else { return false }
        let sent: Int?
        do {
            sent = try socket.send(message, from: 0)
        } catch {
            sent = nil
        }
        guard sent == message.count else {
            statistics.sendErrors += 1
            templatesDue = nil
            return false
        }
        statistics.messagesSent += 1
        return true
    }
}
