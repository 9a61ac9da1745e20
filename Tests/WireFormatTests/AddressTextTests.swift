import Testing
import WireFormat

@Suite struct AddressTextTests {
    @Test(arguments: [
        ("192.0.2.1", UInt32(0xC000_0201)), ("0.0.0.0", 0), ("255.255.255.255", 0xFFFF_FFFF), ("198.51.100.7", 0xC633_6407),
    ])
    func ipv4RoundTrip(text: String, value: UInt32) {
        #expect(IPv4Address(text)?.value == value)
        #expect(IPv4Address(value).description == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.4 ", "1.2.3.-4"])
    func ipv4Rejects(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"), ("::1", "::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),     // RFC 5952 4.2.3: first longest run
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // RFC 5952 4.2.2: no "::" for one group
        ("::ffff:192.0.2.3", "::ffff:192.0.2.3"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("fe80::", "fe80::"),
    ])
    func ipv6Canonical(text: String, canonical: String) {
        let address = IPv6Address(text)
        #expect(address?.description == canonical)
        #expect(address.flatMap { IPv6Address($0.description) } == address)
    }

    @Test(arguments: [":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "2001:db8::1:", ":2001:db8::1", "g::1", "1:2:3:4:5:6:7", "::1.2.3"])
    func ipv6Rejects(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func ipv4MappedAndClasses() {
        let mapped = IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 3))
        #expect(mapped.ipv4Mapped == IPv4Address(192, 0, 2, 3))
        #expect(IPv6Address("2001:db8::1")!.ipv4Mapped == nil)
        #expect(IPAddress("127.0.0.1")!.forbiddenKind == .loopback)
        #expect(IPAddress("224.0.0.1")!.forbiddenKind == .multicast)
        #expect(IPAddress("255.255.255.255")!.forbiddenKind == .broadcast)
        #expect(IPAddress("0.0.0.0")!.forbiddenKind == .unspecified)
        #expect(IPAddress("::1")!.forbiddenKind == .loopback)
        #expect(IPAddress("ff02::1")!.forbiddenKind == .multicast)
        #expect(IPAddress("::")!.forbiddenKind == .unspecified)
        #expect(IPAddress("::ffff:127.0.0.1")!.forbiddenKind == .loopback)
        #expect(IPAddress("192.0.2.1")!.forbiddenKind == nil)
        #expect(IPAddress("2001:db8::1")!.forbiddenKind == nil)
    }
}
