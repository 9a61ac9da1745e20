import BindingState
import PCP
import PCPServer
import PortSets
import TestSupport
import WireFormat

/// The testbed's CPE as one subscriber: two links, a delegated LAN prefix.
let linkA = IPAddress("198.51.100.2")!
let linkB = IPAddress("198.51.100.6")!
let lanHost = IPAddress("192.168.1.10")!
let customer = Subscriber(id: SubscriberID("cust-1"), links: [try! IPPrefix("198.51.100.2/32"), try! IPPrefix("198.51.100.6/32")],
                          delegated: [try! IPPrefix("192.168.1.0/24")])
let nonce = PCPMappingNonce(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C)
let epochStart: Int64 = 1_000_000

func mapped(_ address: IPAddress) -> IPv6Address {
    switch address {
    case .v4(let v4): IPv6Address(ipv4Mapped: v4)
    case .v6(let v6): v6
    }
}

/// A handler over a one-address pool (192.0.2.3, a=6, k=6: 63 blocks of 16 ports per PSID).
func makeHandler(quota: Int = 8, pool: String = "192.0.2.3/32", psidLength: Int = 6, rate: Double = 1000,
                 seed: UInt64 = 1) throws -> PCPRequestHandler<SplitMix64> {
    let allocator = try PortSetAllocator(pool: [IPPrefix(pool)], geometry: PSIDGeometry(offset: 6, psidLength: psidLength))
    let table = try MappingTable(allocator: allocator, maximumMappingsPerSubscriber: quota, shardCount: 4)
    let configuration = PCPServerConfiguration(minimumLifetime: 120, maximumLifetime: 86400, epochStartMilliseconds: epochStart,
                                               requestsPerSecond: rate, requestBurst: rate)
    return PCPRequestHandler(table: table, configuration: configuration, random: SplitMix64(seed: seed))
}

func context(from source: IPAddress = linkA, port: UInt16 = 5350, at now: Int64 = epochStart + 3_600_000,
             subscriber: Subscriber = customer) -> PCPRequestContext {
    PCPRequestContext(source: Endpoint(address: source, port: port), subscriber: subscriber, nowMilliseconds: now)
}

/// A MAP request's bytes, through the codec (tested on its own in PCPTests).
func mapRequest(lifetime: UInt32 = 7200, protocolNumber: UInt8 = 6, internalPort: UInt16 = 8080, externalPort: UInt16 = 0,
                externalAddress: IPv6Address = IPv6Address(ipv4Mapped: IPv4Address(0)), client: IPAddress = linkA,
                nonce: PCPMappingNonce = nonce, options: [PCPOption] = []) -> [UInt8] {
    let request = PCPRequest(requestedLifetime: lifetime, clientAddress: mapped(client),
                             payload: .map(PCPMapData(nonce: nonce, protocolNumber: protocolNumber, internalPort: internalPort,
                                                      externalPort: externalPort, externalAddress: externalAddress)),
                             options: options)
    return try! request.serialized()
}

/// Handles one request and parses the single response (test failure when there is not exactly one).
func answer(_ handler: PCPRequestHandler<SplitMix64>, _ bytes: [UInt8], _ context: PCPRequestContext = context()) throws -> PCPResponse {
    let responses = handler.handle(bytes, context: context)
    guard responses.count == 1 else { throw TestFailure("expected one response, got \(responses.count)") }
    return try PCPResponse.parse(responses[0])
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
