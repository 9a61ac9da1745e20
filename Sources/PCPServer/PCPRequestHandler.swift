public import BindingState
public import Counters
import PCP
import WireFormat

/// Answers PCP requests (RFC 6887 section 8.3 order: rate, parse, source check, opcode), owned
/// by one thread (the server's): the rate buckets are its own, mappings go to the shared table.
public final class PCPRequestHandler<Random: RandomNumberGenerator> {
    public let table: MappingTable
    public let configuration: PCPServerConfiguration
    /// Written by the owning thread only, read by `ctl stats` and metrics.
    public let counters: AtomicCounters<PCPCounter>
    var random: Random
    var limiter: PCPRateLimiter

    public init(table: MappingTable, configuration: PCPServerConfiguration, counters: AtomicCounters<PCPCounter> = AtomicCounters(),
                random: Random) {
        self.table = table
        self.configuration = configuration
        self.counters = counters
        self.random = random
        limiter = PCPRateLimiter(rate: configuration.requestsPerSecond, burst: configuration.requestBurst)
    }

    /// The responses to one datagram, in sending order; empty means drop it unanswered. More
    /// than one only when a MAP request overlaps several mappings (RFC 7753 section 4.4.1).
    public func handle(_ bytes: [UInt8], context: PCPRequestContext) -> [[UInt8]] {
        counters.add(.requests)
        let now = context.nowMilliseconds
        guard limiter.allow(context.subscriber.id, nowMilliseconds: now) else {
            counters.add(.rateLimited)
            return []
        }
        let epoch = configuration.epochTime(nowMilliseconds: now)
        let request: PCPRequest
        do { request = try PCPRequest.parse(bytes) } catch {
            counters.add(.unparsable)
            guard let answer = PCPErrorResponse.bytes(for: error, request: bytes, epochTime: epoch) else {
                counters.add(.droppedSilently)
                return []
            }
            return [counted(answer)]
        }
        // RFC 6887 s8.3: the PCP Client's IP Address must be the datagram's source (else a NAT is in between).
        do { try request.checkSource(Self.wireAddress(context.source.address)) } catch {
            return [counted(PCPErrorResponse.bytes(for: error, request: bytes, epochTime: epoch) ?? [])]
        }
        switch request.payload {
        case .announce:
            // RFC 6887 s14.1.1: an ANNOUNCE request gets a SUCCESS response, Lifetime 0.
            counters.add(.announceRequests)
            return [counted(Self.announcement(epochTime: epoch))]
        case .map(let data):
            counters.add(.mapRequests)
            switch map(request, data, context: context) {
            case .responses(let responses):
                return responses.map { response in
                    counted((try? PCPResponse(resultCode: .success, lifetime: response.lifetime, epochTime: epoch,
                                              payload: response.payload, options: response.options).serialized()) ?? [])
                }
            case let .error(code, lifetime):
                return [counted(PCPErrorResponse.bytes(request: bytes, resultCode: code, requestWasParsed: true,
                                                       epochTime: epoch, lifetime: lifetime))]
            }
        }
    }

    /// Housekeeping, about once a second: lapsed mappings go (RFC 6887 s15), quiet rate buckets too.
    @discardableResult
    public func expire(nowMilliseconds: Int64) -> [PortMapping] {
        let expired = table.expire(nowMilliseconds: nowMilliseconds)
        counters.add(.mappingsExpired, expired.count)
        limiter.forgetIdle(nowMilliseconds: nowMilliseconds)
        return expired
    }

    /// An unsolicited ANNOUNCE (RFC 6887 s14.1.3), as sent after the server lost its state.
    public func announcement(nowMilliseconds: Int64) -> [UInt8] {
        Self.announcement(epochTime: configuration.epochTime(nowMilliseconds: nowMilliseconds))
    }

    /// An ANNOUNCE response with SUCCESS and Lifetime 0 (RFC 6887 s14.1.1).
    static func announcement(epochTime: UInt32) -> [UInt8] {
        (try? PCPResponse(resultCode: .success, lifetime: 0, epochTime: epochTime, payload: .announce).serialized()) ?? []
    }

    /// Counts a response by its result code (byte 3) and passes it on.
    private func counted(_ response: [UInt8]) -> [UInt8] {
        if response.count > 3, let code = PCPResultCode(rawValue: response[3]) { counters.add(PCPCounter.result(code)) }
        return response
    }

    /// An address as PCP carries it: IPv4 as IPv4-mapped IPv6 (RFC 6887 section 5).
    static func wireAddress(_ address: IPAddress) -> IPv6Address {
        switch address {
        case .v4(let v4): IPv6Address(ipv4Mapped: v4)
        case .v6(let v6): v6
        }
    }

    /// A PCP address as the state keeps it: IPv4-mapped back to IPv4.
    static func stateAddress(_ address: IPv6Address) -> IPAddress {
        address.ipv4Mapped.map { .v4($0) } ?? .v6(address)
    }
}
