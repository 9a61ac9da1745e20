import Testing
import WireFormat

@Suite("IPPrefix: text, membership, overlap")
struct IPPrefixTests {
    @Test("valid prefixes parse and print back", arguments: [
        ("198.51.100.0/28", "198.51.100.0", 28),
        ("0.0.0.0/0", "0.0.0.0", 0),
        ("192.0.2.7", "192.0.2.7", 32),
        ("192.0.2.7/32", "192.0.2.7", 32),
        ("2001:db8::/32", "2001:db8::", 32),
        ("2001:db8:0:1::/64", "2001:db8:0:1::", 64),
        ("2001:db8::1", "2001:db8::1", 128),
        ("::/0", "::", 0),
        ("2001:db8::8000:0:0:0/65", "2001:db8:0:0:8000::", 65),
    ])
    func parses(text: String, network: String, length: Int) throws {
        let prefix = try IPPrefix(text)
        #expect(prefix.network == IPAddress(network))
        #expect(prefix.length == length)
        #expect(try IPPrefix(prefix.description) == prefix)
    }

    @Test("the description is the canonical text")
    func description() throws {
        #expect(try IPPrefix("2001:0DB8::/32").description == "2001:db8::/32")
        #expect(try IPPrefix("192.0.2.7").description == "192.0.2.7/32")
    }

    @Test("text that is not an address is notAnAddress", arguments: ["", "/24", "foo", "198.51.100/24", "1.2.3.4.5/8", " 1.2.3.4", "2001:db8:::/32"])
    func notAnAddress(text: String) {
        let address = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        #expect(throws: IPPrefixError.notAnAddress(address)) { try IPPrefix(text) }
    }

    @Test("lengths past the family width or not decimal are badLength", arguments: [
        ("198.51.100.0/33", "33", 32), ("2001:db8::/129", "129", 128), ("198.51.100.0/", "", 32),
        ("198.51.100.0/x", "x", 32), ("198.51.100.0/-1", "-1", 32), ("198.51.100.0/08", "08", 32),
        ("198.51.100.0/1000", "1000", 32), ("198.51.100.0/24/8", "24/8", 32), ("198.51.100.0/ 24", " 24", 32),
    ])
    func badLength(text: String, lengthText: String, maximum: Int) {
        #expect(throws: IPPrefixError.badLength(lengthText, maximum: maximum)) { try IPPrefix(text) }
    }

    @Test("host bits set names the prefix that was meant")
    func hostBitsSet() throws {
        let expected = try IPPrefix("198.51.100.0/28")
        #expect(throws: IPPrefixError.hostBitsSet("198.51.100.1/28", prefix: expected)) { try IPPrefix("198.51.100.1/28") }
        #expect(throws: IPPrefixError.hostBitsSet("2001:db8::1/64", prefix: try IPPrefix("2001:db8::/64"))) {
            try IPPrefix("2001:db8::1/64")
        }
        #expect(throws: IPPrefixError.hostBitsSet("0.0.0.1/0", prefix: try IPPrefix("0.0.0.0/0"))) { try IPPrefix("0.0.0.1/0") }
    }

    @Test("each error's description names the fix")
    func descriptions() throws {
        #expect(IPPrefixError.badLength("33", maximum: 32).description.hasPrefix("/33 is longer than 32 bits for IPv4"))
        #expect(IPPrefixError.badLength("129", maximum: 128).description.hasPrefix("/129 is longer than 128 bits for IPv6"))
        #expect(IPPrefixError.badLength("x", maximum: 32).description.contains("between 0 and 32"))
        #expect(IPPrefixError.notAnAddress("foo").description.contains("198.51.100.0/28"))
        let error = IPPrefixError.hostBitsSet("198.51.100.1/28", prefix: try IPPrefix("198.51.100.0/28"))
        #expect(error.description == "198.51.100.1/28 has host bits set; the prefix is 198.51.100.0/28")
    }

    @Test("init(network:length:) applies the same checks")
    func fromParts() throws {
        #expect(try IPPrefix(network: IPAddress("10.0.0.0")!, length: 8) == IPPrefix("10.0.0.0/8"))
        #expect(throws: IPPrefixError.badLength("33", maximum: 32)) { try IPPrefix(network: IPAddress("10.0.0.0")!, length: 33) }
        #expect(throws: IPPrefixError.badLength("-1", maximum: 32)) { try IPPrefix(network: IPAddress("10.0.0.0")!, length: -1) }
        #expect(throws: IPPrefixError.hostBitsSet("10.0.0.1/8", prefix: try IPPrefix("10.0.0.0/8"))) {
            try IPPrefix(network: IPAddress("10.0.0.1")!, length: 8)
        }
    }

    @Test("contains: inside, at both ends, outside, and never across families")
    func contains() throws {
        let v4 = try IPPrefix("198.51.100.0/28")
        #expect(v4.isIPv4)
        #expect(v4.contains(IPAddress("198.51.100.0")!))
        #expect(v4.contains(IPAddress("198.51.100.15")!))
        #expect(!v4.contains(IPAddress("198.51.100.16")!))
        #expect(!v4.contains(IPAddress("198.51.99.255")!))
        #expect(!v4.contains(IPAddress("::ffff:198.51.100.1")!))
        let v6 = try IPPrefix("2001:db8::/32")
        #expect(!v6.isIPv4)
        #expect(v6.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db9::")!))
        #expect(!v6.contains(IPAddress("198.51.100.1")!))
        let v6Long = try IPPrefix("2001:db8::8000:0:0:0/65")
        #expect(v6Long.contains(IPAddress("2001:db8::ffff:0:0:1")!))
        #expect(!v6Long.contains(IPAddress("2001:db8::7fff:0:0:1")!))
        #expect(try IPPrefix("0.0.0.0/0").contains(IPAddress("255.255.255.255")!))
        #expect(try IPPrefix("::/0").contains(IPAddress("ffff::1")!))
        #expect(try IPPrefix("192.0.2.7").contains(IPAddress("192.0.2.7")!))
        #expect(try !IPPrefix("192.0.2.7").contains(IPAddress("192.0.2.6")!))
    }

    @Test("overlaps: nested and equal prefixes overlap, disjoint ones and other families do not")
    func overlaps() throws {
        let a = try IPPrefix("198.51.100.0/24")
        let b = try IPPrefix("198.51.100.128/25")
        let c = try IPPrefix("198.51.101.0/24")
        #expect(a.overlaps(b) && b.overlaps(a))
        #expect(a.overlaps(a))
        #expect(!a.overlaps(c) && !c.overlaps(a))
        #expect(try !IPPrefix("198.51.100.0/25").overlaps(b))
        #expect(try IPPrefix("0.0.0.0/0").overlaps(c))
        #expect(try !IPPrefix("::/0").overlaps(a))
        #expect(try IPPrefix("2001:db8::/32").overlaps(IPPrefix("2001:db8:1::/48")))
        #expect(try !IPPrefix("2001:db8::/48").overlaps(IPPrefix("2001:db8:1::/48")))
    }

    @Test("IPv4 address count and address(at:); IPv6 has neither")
    func ipv4Addresses() throws {
        let prefix = try IPPrefix("198.51.100.0/28")
        #expect(prefix.addressCount == 16)
        #expect(prefix.ipv4Address(at: 0) == IPv4Address(198, 51, 100, 0))
        #expect(prefix.ipv4Address(at: 15) == IPv4Address(198, 51, 100, 15))
        #expect(prefix.ipv4Address(at: 16) == nil)
        #expect(prefix.ipv4Address(at: -1) == nil)
        #expect(try IPPrefix("192.0.2.7").addressCount == 1)
        #expect(try IPPrefix("0.0.0.0/0").addressCount == 1 << 32)
        #expect(try IPPrefix("0.0.0.0/0").ipv4Address(at: Int(UInt32.max)) == IPv4Address.broadcast)
        #expect(try IPPrefix("2001:db8::/126").addressCount == nil)
        #expect(try IPPrefix("2001:db8::/126").ipv4Address(at: 0) == nil)
    }

    @Test("hasSamePrefix: the CPE /48 check, clamped lengths, families")
    func hasSamePrefix() {
        let cpe = IPAddress("2001:db8:1234::1")!
        #expect(cpe.hasSamePrefix(as: IPAddress("2001:db8:1234:ffff::9")!, length: 48))
        #expect(!cpe.hasSamePrefix(as: IPAddress("2001:db8:1235::1")!, length: 48))
        #expect(cpe.hasSamePrefix(as: IPAddress("2001:db8:1235::1")!, length: 47))
        #expect(cpe.hasSamePrefix(as: IPAddress("ffff::")!, length: 0))
        #expect(cpe.hasSamePrefix(as: cpe, length: 200))
        #expect(!cpe.hasSamePrefix(as: IPAddress("2001:db8:1234::2")!, length: 128))
        #expect(cpe.hasSamePrefix(as: IPAddress("2001:db8:1234::2")!, length: 126))
        #expect(IPAddress("10.1.2.3")!.hasSamePrefix(as: IPAddress("10.1.200.1")!, length: 16))
        #expect(!IPAddress("10.1.2.3")!.hasSamePrefix(as: IPAddress("10.1.200.1")!, length: 17))
        #expect(!IPAddress("0.0.0.0")!.hasSamePrefix(as: IPAddress("::")!, length: 0))
    }
}
