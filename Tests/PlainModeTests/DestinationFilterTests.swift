import PlainMode
import Testing
import WireFormat

/// The destinations the concentrator refuses, each with its reason.
@Suite struct DestinationFilterTests {
    static func address(_ text: String) -> IPAddress {
        if let v4 = IPv4Address(text) { return .v4(v4) }
        return .v6(IPv6Address(text)!)
    }

    static let filter = DestinationFilter(
        ownAddresses: [address("198.51.100.1"), address("2001:db8:a::1"), address("203.0.113.1")],
        listeners: [(address("198.51.100.1"), 5000), (address("::"), 5001)],
        pools: [try! IPPrefix("192.0.2.128/27")],
        denied: DestinationFilter.neverDestinations + [try! IPPrefix("10.0.0.0/8")])

    @Test(arguments: [
        ("198.51.100.1", UInt16(5000), DestinationFilter.Refusal.listener),
        ("2001:db8:a::1", 5001, .listener),  // a wildcard listener: any own address on its port
        ("198.51.100.1", 80, .ownAddress),
        ("203.0.113.1", 5000, .ownAddress),
        ("192.0.2.130", 80, .pool),
        ("0.1.2.3", 80, .denied), ("127.0.0.2", 80, .denied), ("169.254.9.9", 80, .denied),
        ("224.0.0.1", 80, .denied), ("240.0.0.1", 80, .denied), ("255.255.255.255", 80, .denied),
        ("::1", 80, .denied), ("::", 80, .denied), ("::ffff:203.0.113.2", 80, .denied), ("fe80::1", 80, .denied),
        ("ff02::1", 80, .denied), ("10.1.2.3", 80, .denied),
    ])
    func refused(destination: String, port: UInt16, reason: DestinationFilter.Refusal) {
        #expect(Self.filter.refusal(of: Self.address(destination), port: port) == reason)
    }

    @Test(arguments: ["203.0.113.2", "192.0.2.1", "192.168.1.1", "172.16.0.1", "2001:db8:3::2", "100.64.0.1"])
    func relayed(destination: String) {
        // Private and shared ranges stay reachable unless the operator denies them.
        #expect(Self.filter.refusal(of: Self.address(destination), port: 443) == nil)
    }

    @Test func aDestinationWithoutPortIsCheckedByAddress() {
        #expect(Self.filter.refusal(of: Self.address("198.51.100.1"), port: nil) == .ownAddress)
        #expect(Self.filter.refusal(of: Self.address("203.0.113.2"), port: nil) == nil)
    }
}
