import PortSets
import Testing

@Suite("PortRange (RFC 7753 contiguous port sets)")
struct PortRangeTests {
    @Test("RFC 7753 example: 100 ports from 50000 are 50000-50099")
    func sizeAndBounds() throws {
        let range = try PortRange(firstPort: 50000, count: 100)
        #expect(range.firstPort == 50000)
        #expect(range.lastPort == 50099)
        #expect(range.count == 100)
        #expect(range.closedRange == 50000...50099)
        #expect(range.first == 50000 && range.last == 50099)
        #expect(range.contains(50099) && !range.contains(50100) && !range.contains(49999))
        #expect(range == (try PortRange(firstPort: 50000, lastPort: 50099)))
    }

    @Test("RFC 7753 example: 65535 ports from port 1 reach 65535 exactly")
    func largestWireRange() throws {
        let range = try PortRange(firstPort: 1, count: 65535)
        #expect(range.lastPort == 65535)
        #expect(range.count == 65535)
    }

    @Test("0-65535 holds 65536 ports")
    func everyPort() throws {
        let range = try PortRange(firstPort: 0, lastPort: 65535)
        #expect(range.count == 65536)
        #expect(try PortRange(firstPort: 0, count: 65536) == range)
    }

    @Test("iteration yields each port once, in order")
    func iteration() throws {
        let range = try PortRange(firstPort: 65530, count: 6)
        #expect(Array(range) == [65530, 65531, 65532, 65533, 65534, 65535])
        #expect(range[2] == 65532)
        #expect(range.reversed().first == 65535)
    }

    @Test("the P bit: a mapped set must start on the same parity only when P is set")
    func parity() throws {
        let preserving = try PortRange(firstPort: 5000, count: 10, preservesParity: true)
        #expect(preserving.honoursParity(mappedFirstPort: 6002))
        #expect(!preserving.honoursParity(mappedFirstPort: 6001))
        let plain = try PortRange(firstPort: 5000, count: 10)
        #expect(plain.honoursParity(mappedFirstPort: 6001))
        #expect(preserving != plain)
    }

    @Test("RFC 7753 section 5.3 example: 101-199 mapped onto 201-299 sends 150 to 250")
    func mapping() throws {
        let internalPorts = try PortRange(firstPort: 101, lastPort: 199)
        #expect(internalPorts.mapped(150, toRangeStartingAt: 201) == 250)
        #expect(internalPorts.mapped(100, toRangeStartingAt: 201) == nil)
        #expect(internalPorts.mapped(199, toRangeStartingAt: 65440) == nil)
        #expect(internalPorts.mapped(199, toRangeStartingAt: 65437) == 65535)
    }

    @Test("overlap is symmetric and counts shared edges")
    func overlaps() throws {
        let a = try PortRange(firstPort: 100, lastPort: 200)
        let b = try PortRange(firstPort: 200, lastPort: 300)
        let c = try PortRange(firstPort: 201, lastPort: 300)
        #expect(a.overlaps(b) && b.overlaps(a))
        #expect(!a.overlaps(c) && !c.overlaps(a))
    }

    @Test("description reads as first-last, with the parity flag when set")
    func description() throws {
        #expect(try PortRange(firstPort: 1232, lastPort: 1235).description == "1232-1235")
        #expect(try PortRange(firstPort: 80, count: 1, preservesParity: true).description == "80 (parity)")
    }
}
