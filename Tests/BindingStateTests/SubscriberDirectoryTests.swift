@testable import BindingState
import Testing
import WireFormat

private func parse(_ text: String, ipv4: Int = 32, ipv6: Int = 56) throws(SubscriberFileError) -> SubscriberDirectory {
    try SubscriberDirectory.parse(text, defaultIPv4PrefixLength: ipv4, defaultIPv6PrefixLength: ipv6)
}

private func id(_ text: String) -> SubscriberID { SubscriberID(text) }

@Suite("Subscribers file")
struct SubscriberFileTests {
    @Test("comments, blank lines, tabs, CRLF, bare addresses and delegated prefixes")
    func goodFile() throws {
        let text = "# subscribers of the test bed\r\n"
            + "\r\n"
            + "cust-0042 203.0.113.2/32 198.51.100.66/32 delegated 2001:db8:42::/48\r\n"
            + "   \t  # an indented comment\n"
            + "cust_7@dsl\t192.0.2.7\t2001:db8:7::1   delegated\t2001:db8:70::/48 192.0.2.128/25 # trailing comment\n"
            + "a.b:c 2001:db8:ff00::/40\n"
            + "delegated 198.51.100.0/28"
        let directory = try parse(text)
        #expect(directory.count == 4)
        #expect(directory.subscribers.map(\.id) == [id("cust-0042"), id("cust_7@dsl"), id("a.b:c"), id("delegated")])
        let first = try #require(directory.subscriber(id: id("cust-0042")))
        #expect(first.links == [prefix("203.0.113.2/32"), prefix("198.51.100.66/32")])
        #expect(first.delegated == [prefix("2001:db8:42::/48")])
        #expect(!first.isDefault)
        let second = try #require(directory.subscriber(id: id("cust_7@dsl")))
        #expect(second.links == [prefix("192.0.2.7/32"), prefix("2001:db8:7::1/128")])
        #expect(second.delegated == [prefix("2001:db8:70::/48"), prefix("192.0.2.128/25")])
        #expect(directory.subscriber(id: id("a.b:c"))?.delegated == [])
        #expect(directory.subscriber(id: id("delegated"))?.links == [prefix("198.51.100.0/28")])
        #expect(directory.subscriber(id: id("cust-9")) == nil)
        #expect(try parse("").count == 0)
        #expect(try parse("# nothing but a comment\n\n").count == 0)
    }

    @Test("a line of exactly the maximum length is read, one byte more is refused")
    func lineLength() throws {
        let head = "cust-1 192.0.2.1 #"
        let full = head + String(repeating: "x", count: SubscriberDirectory.maximumLineBytes - head.utf8.count)
        #expect(try parse(full + "\r\n").count == 1)
        #expect(throws: SubscriberFileError.lineTooLong(line: 2, bytes: 4097, maximum: 4096)) {
            try parse("\n" + full + "x\n")
        }
    }

    @Test("each line-level error names its line", arguments: [
        ("cust/1 192.0.2.1", SubscriberFileError.badID("cust/1", line: 2)),
        ("192.0.2.9 192.0.2.9", .badID("192.0.2.9", line: 2)),
        ("2001:db8::9 2001:db8::9", .badID("2001:db8::9", line: 2)),
        (String(repeating: "a", count: 65) + " 192.0.2.1", .badID(String(repeating: "a", count: 65), line: 2)),
        ("cust-1 198.51.100.300/32", .badPrefix("198.51.100.300/32", .notAnAddress("198.51.100.300"), line: 2)),
        ("cust-1 192.0.2.1/33", .badPrefix("192.0.2.1/33", .badLength("33", maximum: 32), line: 2)),
        ("cust-1 198.51.100.1/24", .badPrefix("198.51.100.1/24", .hostBitsSet("198.51.100.1/24", prefix: prefix("198.51.100.0/24")), line: 2)),
        ("cust-1 192.0.2.1 delegated delegated", .badPrefix("delegated", .notAnAddress("delegated"), line: 2)),
        ("cust-1", .noLinkPrefix(id("cust-1"), line: 2)),
        ("cust-1 # 192.0.2.1", .noLinkPrefix(id("cust-1"), line: 2)),
        ("cust-1 delegated 2001:db8::/48", .noLinkPrefix(id("cust-1"), line: 2)),
        ("cust-1 192.0.2.1 delegated # none", .emptyDelegated(line: 2)),
    ])
    func lineErrors(line: String, error: SubscriberFileError) {
        #expect(throws: error) { try parse("# first line\n" + line + "\ncust-2 203.0.113.9\n") }
    }

    @Test("errors across lines name both lines", arguments: [
        ("a 192.0.2.1\nb 192.0.2.2\n\na 192.0.2.3", SubscriberFileError.duplicateID(id("a"), line: 4, firstLine: 1)),
        ("a 192.0.2.0/24\nb 203.0.113.1\nc 192.0.2.0/24", .overlappingPrefixes(prefix("192.0.2.0/24"), line: 3, prefix("192.0.2.0/24"), otherLine: 1)),
        ("a 192.0.2.1\nb 203.0.113.1 delegated 192.0.2.0/24", .overlappingPrefixes(prefix("192.0.2.0/24"), line: 2, prefix("192.0.2.1/32"), otherLine: 1)),
        ("a 192.0.2.1 delegated 2001:db8:42::/48\nb 2001:db8:42:1::/64", .overlappingPrefixes(prefix("2001:db8:42:1::/64"), line: 2, prefix("2001:db8:42::/48"), otherLine: 1)),
        ("a 192.0.2.1 delegated 2001:db8:42::/48\nb 192.0.2.2 delegated 2001:db8::/32", .overlappingPrefixes(prefix("2001:db8::/32"), line: 2, prefix("2001:db8:42::/48"), otherLine: 1)),
    ])
    func crossLineErrors(text: String, error: SubscriberFileError) {
        #expect(throws: error) { try parse(text) }
    }

    @Test("one subscriber may repeat and nest its own prefixes, as link and delegated")
    func ownPrefixesMayOverlap() throws {
        let directory = try parse("a 2001:db8:42::1 2001:db8:42::/64 delegated 2001:db8:42::/48 2001:db8:42::/64")
        #expect(directory.subscriber(for: address("2001:db8:42::1")).id == id("a"))
        #expect(directory.subscriber(for: address("2001:db8:42::2")).id == id("a"))
        #expect(directory.subscriber(for: address("2001:db8:42:1::2")).isDefault)
    }

    @Test("more subscribers than the limit: the first line too many is named; comment lines do not count")
    func tooManySubscribers() {
        let text = "a 192.0.2.1\n# b\nc 192.0.2.3\nd 192.0.2.4\n"
        #expect(throws: SubscriberFileError.tooManySubscribers(line: 4, maximum: 2)) {
            try SubscriberDirectory.parse(text, defaultIPv4PrefixLength: 32, defaultIPv6PrefixLength: 56, subscriberLimit: 2)
        }
        #expect(SubscriberDirectory.maximumSubscribers == 1_000_000)
    }

    @Test("default prefix lengths outside the family's width are refused")
    func badDefaultLengths() {
        #expect(throws: SubscriberFileError.badDefaultPrefixLength(33, maximum: 32)) { try parse("", ipv4: 33) }
        #expect(throws: SubscriberFileError.badDefaultPrefixLength(-1, maximum: 32)) { try parse("", ipv4: -1) }
        #expect(throws: SubscriberFileError.badDefaultPrefixLength(129, maximum: 128)) { try parse("", ipv6: 129) }
        #expect(throws: SubscriberFileError.badDefaultPrefixLength(129, maximum: 128)) { try SubscriberDirectory([], defaultIPv6PrefixLength: 129) }
    }

    @Test("descriptions start with the line and quote what was wrong")
    func descriptions() {
        let badPrefix = SubscriberFileError.badPrefix("198.51.100.300/32", .notAnAddress("198.51.100.300"), line: 7)
        #expect(badPrefix.description.hasPrefix("line 7: prefix '198.51.100.300/32': \"198.51.100.300\" is not an IPv4 or IPv6 address"))
        #expect(SubscriberFileError.badID("192.0.2.9", line: 3).description.hasPrefix("line 3: id '192.0.2.9' reads as an address"))
        #expect(SubscriberFileError.badID("a/b", line: 3).description.contains("holds a character an id may not"))
        let overlap = SubscriberFileError.overlappingPrefixes(prefix("192.0.2.0/24"), line: 9, prefix("192.0.2.0/24"), otherLine: 4)
        #expect(overlap.description.hasPrefix("line 9: prefix 192.0.2.0/24 overlaps 192.0.2.0/24 of line 4"))
        #expect(SubscriberFileError.duplicateID(id("a"), line: 9, firstLine: 2).description.hasPrefix("line 9: subscriber 'a' is already on line 2"))
        #expect(SubscriberFileError.badDefaultPrefixLength(57, maximum: 32).description.hasPrefix("default IPv4 subscriber prefix length 57"))
    }
}

@Suite("SubscriberDirectory")
struct SubscriberDirectoryTests {
    @Test("the longest link prefix wins: a /32 line inside a /24 line")
    func longestPrefixMatch() throws {
        let directory = try parse("office 198.51.100.0/24\nhost 198.51.100.7\nwide 2001:db8::/32\nnarrow 2001:db8:5::/48")
        #expect(directory.subscriber(for: address("198.51.100.7")).id == id("host"))
        #expect(directory.subscriber(for: address("198.51.100.6")).id == id("office"))
        #expect(directory.subscriber(for: address("198.51.100.255")).id == id("office"))
        #expect(directory.subscriber(for: address("2001:db8:5:1::1")).id == id("narrow"))
        #expect(directory.subscriber(for: address("2001:db8:6::1")).id == id("wide"))
    }

    @Test("one subscriber's links in both families map to its id")
    func linksOfBothFamilies() throws {
        let directory = try parse("cust-0042 203.0.113.2 2001:db8:42:1::/64")
        let overIPv4 = directory.subscriber(for: address("203.0.113.2"))
        let overIPv6 = directory.subscriber(for: address("2001:db8:42:1::9"))
        #expect(overIPv4.id == id("cust-0042") && overIPv6 == overIPv4)
        #expect(directory.subscriber(id: id("cust-0042")) == overIPv4)
    }

    @Test("a source in no line gets the default subscriber of its /32 or /56")
    func defaultSubscribers() throws {
        let directory = try parse("cust-1 192.0.2.1")
        let ipv4 = directory.subscriber(for: address("192.0.2.7"))
        #expect(ipv4 == Subscriber(defaultPrefix: prefix("192.0.2.7/32")))
        #expect(ipv4.id == id("192.0.2.7/32") && ipv4.isDefault && ipv4.delegated.isEmpty)
        let first = directory.subscriber(for: address("2001:db8:1:200::1"))
        let sameSlash56 = directory.subscriber(for: address("2001:db8:1:2ff:1:2:3:4"))
        let nextSlash56 = directory.subscriber(for: address("2001:db8:1:300::1"))
        #expect(first.id == id("2001:db8:1:200::/56") && first.links == [prefix("2001:db8:1:200::/56")])
        #expect(sameSlash56.id == first.id)
        #expect(nextSlash56.id == id("2001:db8:1:300::/56"))
        // Default subscribers are made per lookup, never stored.
        #expect(directory.subscriber(id: first.id) == nil && directory.count == 1)
    }

    @Test("custom default lengths")
    func customDefaultLengths() throws {
        let directory = try parse("", ipv4: 24, ipv6: 64)
        #expect(directory.subscriber(for: address("192.0.2.7")).id == id("192.0.2.0/24"))
        #expect(directory.subscriber(for: address("2001:db8:1:2:3::4")).id == id("2001:db8:1:2::/64"))
        let everyone = try parse("", ipv4: 0, ipv6: 0)
        #expect(everyone.subscriber(for: address("203.0.113.9")).id == id("0.0.0.0/0"))
        #expect(everyone.subscriber(for: address("2001:db8::9")).id == id("::/0"))
        #expect(everyone.defaultIPv4PrefixLength == 0 && everyone.defaultIPv6PrefixLength == 0)
    }

    @Test("a preserved source must lie in the subscriber's own link or delegated prefixes")
    func mayUse() throws {
        let directory = try parse(
            "cust-0042 203.0.113.2 delegated 2001:db8:42::/48 198.51.100.64/28\n"
                + "office 192.0.2.0/24\nhost 192.0.2.7\nneighbour 2001:db8:1:205::/64")
        let cust = try #require(directory.subscriber(id: id("cust-0042")))
        #expect(directory.mayUse(source: address("203.0.113.2"), for: cust))
        #expect(directory.mayUse(source: address("2001:db8:42:ffff::1"), for: cust))
        #expect(directory.mayUse(source: address("198.51.100.79"), for: cust))
        #expect(!directory.mayUse(source: address("198.51.100.80"), for: cust))
        #expect(!directory.mayUse(source: address("2001:db8:43::1"), for: cust))
        #expect(!directory.mayUse(source: address("203.0.113.3"), for: cust))
        // A link nested in another's link belongs to the longer one only.
        let office = directory.subscriber(for: address("192.0.2.1"))
        #expect(directory.mayUse(source: address("192.0.2.8"), for: office))
        #expect(!directory.mayUse(source: address("192.0.2.7"), for: office))
        #expect(directory.mayUse(source: address("192.0.2.7"), for: directory.subscriber(for: address("192.0.2.7"))))
        // A default subscriber uses its own prefix, except what a named subscriber holds inside it.
        let slash56 = directory.subscriber(for: address("2001:db8:1:200::1"))
        #expect(slash56.isDefault)
        #expect(directory.mayUse(source: address("2001:db8:1:2ff::1"), for: slash56))
        #expect(!directory.mayUse(source: address("2001:db8:1:205::1"), for: slash56))
        #expect(!directory.mayUse(source: address("2001:db8:1:300::1"), for: slash56))
        #expect(!directory.mayUse(source: address("203.0.113.2"), for: slash56))
    }

    @Test("a list given in code is checked like a file, naming positions")
    func builtFromList() throws {
        let a = Subscriber(id: id("a"), links: [prefix("192.0.2.1")])
        let b = Subscriber(id: id("b"), links: [prefix("192.0.2.2")], delegated: [prefix("192.0.2.0/30")])
        #expect(throws: SubscriberFileError.overlappingPrefixes(prefix("192.0.2.0/30"), line: 2, prefix("192.0.2.1/32"), otherLine: 1)) {
            try SubscriberDirectory([a, b])
        }
        #expect(throws: SubscriberFileError.duplicateID(id("a"), line: 2, firstLine: 1)) { try SubscriberDirectory([a, a]) }
        #expect(throws: SubscriberFileError.noLinkPrefix(id("c"), line: 1)) { try SubscriberDirectory([Subscriber(id: id("c"), links: [])]) }
        let fromDefault = try parse("").subscriber(for: address("192.0.2.9"))
        #expect(throws: SubscriberFileError.badID("192.0.2.9/32", line: 2)) { try SubscriberDirectory([a, fromDefault]) }
        #expect(try SubscriberDirectory([a]).subscribers == [a])
    }

    @Test("100,000 subscribers: parsed, and every one found by its link")
    func hundredThousandSubscribers() throws {
        // IPv4 text from 10.0.0.0/8 (values only, no traffic): parsing IPv6 text in a debug build
        // would take most of the time, and the IPv6 lookups are the same dictionaries.
        let count = 100_000
        var text = "# generated\n"
        for n in 0..<count {
            text += "sub-\(n) 10.\(n >> 16).\((n >> 8) & 0xFF).\(n & 0xFF)\n"
        }
        let directory = try parse(text)
        #expect(directory.count == count)
        var misses = 0
        for n in 0..<count where directory.subscriber(for: .v4(IPv4Address(0x0A00_0000 | UInt32(n)))).id != id("sub-\(n)") {
            misses += 1
        }
        #expect(misses == 0)
        #expect(directory.subscriber(for: .v4(IPv4Address(0x0A00_0000 | UInt32(count)))).isDefault)
        #expect(directory.subscriber(id: id("sub-99999"))?.links == [prefix("10.1.134.159/32")])
    }
}
