import PortSets
import Testing
import TestSupport

@Suite("PSID geometry: FACTS.md section 6 examples")
struct PSIDGeometryExampleTests {
    @Test("a=6, k=6, PSID 0x34: 63 ranges of 16 ports from 1856-1871 to 65344-65359, 1008 ports")
    func offset6Length6() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 6)
        #expect(geometry.contiguousBits == 4)
        #expect(geometry.psidCount == 64)
        #expect(geometry.portsPerPSID == 1008)
        let ranges = try geometry.ranges(of: 0x34)
        #expect(ranges.count == 63)
        #expect(ranges.portCount == 1008)
        #expect(ranges[0] == 1856...1871)
        #expect(ranges[1] == 2880...2895)
        #expect(ranges[62] == 65344...65359)
        #expect(ranges.first == 1856...1871)
        #expect(ranges.last == 65344...65359)
        for (index, range) in ranges.enumerated() {
            #expect(range.count == 16)
            // Consecutive ranges step by 2^(16-a) = 1024, the weight of one unit of A.
            #expect(Int(range.lowerBound) == 1856 + 1024 * index)
        }
        #expect(ranges.reduce(0) { $0 + $1.count } == 1008)
    }

    @Test("a=6, k=8, PSID 0x34 (RFC 7597 Appendix A): 1232-1235, 2256-2259, ..., 64720-64723, 252 ports")
    func rfc7597AppendixA() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 8)
        #expect(geometry.contiguousBits == 2)
        #expect(geometry.portsPerPSID == 252)
        let ranges = try geometry.ranges(of: 0x34)
        #expect(ranges.count == 63)
        #expect(ranges[0] == 1232...1235)
        #expect(ranges[1] == 2256...2259)
        #expect(ranges[62] == 64720...64723)
        #expect(ranges.allSatisfy { $0.count == 4 })
        #expect(ranges.reduce(0) { $0 + $1.count } == 252)
        #expect(!geometry.isExcluded(psid: 0x34))
    }

    @Test("a=0, k=8, PSID 0x34: the single block 13312-13567")
    func offset0Block() throws {
        let geometry = try PSIDGeometry(offset: 0, psidLength: 8)
        let ranges = try geometry.ranges(of: 0x34)
        #expect(Array(ranges) == [13312...13567])
        #expect(ranges.portCount == 256)
        #expect(geometry.excludedPortCount == 0)
        #expect(!geometry.isExcluded(psid: 0x34))
    }

    @Test("a=0, k=8, PSID 0x03: 768-1023 holds system ports, so it is excluded; 0x04 is not")
    func offset0SystemPorts() throws {
        let geometry = try PSIDGeometry(offset: 0, psidLength: 8)
        #expect(Array(try geometry.ranges(of: 0x03)) == [768...1023])
        #expect(geometry.isExcluded(psid: 0x03))
        #expect(geometry.isExcluded(psid: 0x00))
        #expect(!geometry.isExcluded(psid: 0x04))
        #expect(geometry.excludedPSIDCount == 4)
        #expect(geometry.allocatablePSIDCount == 252)
        #expect(try PSIDPortSet(geometry: geometry, psid: 3).isExcluded)
    }

    @Test("ports per PSID is 2^(16-k) - 2^m when a > 0 and 2^m when a = 0")
    func portsPerPSIDFormula() throws {
        for offset in 0...15 {
            for psidLength in 0...(16 - offset) {
                let geometry = try PSIDGeometry(offset: offset, psidLength: psidLength)
                let m = 16 - offset - psidLength
                let expected = offset > 0 ? (1 << (16 - psidLength)) - (1 << m) : 1 << m
                #expect(geometry.portsPerPSID == expected, "a=\(offset),k=\(psidLength)")
                #expect(geometry.contiguousBits == m)
                #expect(geometry.psidCount == 1 << psidLength)
                #expect(geometry.excludedPortCount == (offset > 0 ? 1 << (16 - offset) : 0))
                // Every port is either excluded by the offset or held by exactly one PSID.
                #expect(geometry.excludedPortCount + geometry.psidCount * geometry.portsPerPSID == 65536)
            }
        }
    }
}

@Suite("PSID geometry: port to PSID")
struct PSIDReverseLookupTests {
    @Test("ports below 2^(16-a) belong to no PSID when a > 0")
    func excludedPorts() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 8)
        #expect(geometry.psid(ofPort: 0) == nil)
        #expect(geometry.psid(ofPort: 1023) == nil)
        #expect(geometry.psid(ofPort: 1024) == 0)
        #expect(geometry.firstUsablePort == 1024)
        #expect(!geometry.contains(port: 1023, psid: 0))
    }

    @Test("the RFC 7597 Appendix A ports map back to PSID 0x34, their neighbours do not")
    func appendixAReverse() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 8)
        for port: UInt16 in [1232, 1235, 2256, 2259, 64720, 64723] {
            #expect(geometry.psid(ofPort: port) == 0x34, "port \(port)")
            #expect(geometry.contains(port: port, psid: 0x34))
        }
        #expect(geometry.psid(ofPort: 1231) == 0x33)
        #expect(geometry.psid(ofPort: 1236) == 0x35)
        #expect(!geometry.contains(port: 1236, psid: 0x34))
    }

    @Test("PSID = (port >> m) & (2^k - 1) for every non-excluded port", arguments: [(6, 6), (6, 8), (0, 8), (3, 13), (15, 1)])
    func reverseFormula(offset: Int, psidLength: Int) throws {
        let geometry = try PSIDGeometry(offset: offset, psidLength: psidLength)
        let m = 16 - offset - psidLength
        for port in geometry.firstUsablePort...65535 {
            let expected = UInt16((port >> m) & ((1 << psidLength) - 1))
            #expect(geometry.psid(ofPort: UInt16(port)) == expected)
        }
    }

    @Test("a = 0, k = 0 is the whole address: every port is PSID 0, nothing excluded")
    func wholeAddress() throws {
        let geometry = try PSIDGeometry(offset: 0, psidLength: 0)
        #expect(geometry.psid(ofPort: 0) == 0)
        #expect(geometry.psid(ofPort: 65535) == 0)
        #expect(Array(try geometry.ranges(of: 0)) == [0...65535])
        #expect(geometry.portsPerPSID == 65536)
        #expect(!geometry.isExcluded(psid: 0))
        #expect(geometry.allocatablePSIDCount == 1)
    }

    @Test("k = 16, a = 0: each PSID is one port, and PSIDs 0-1023 are system ports")
    func onePortPerPSID() throws {
        let geometry = try PSIDGeometry(offset: 0, psidLength: 16)
        #expect(geometry.psid(ofPort: 0xBEEF) == 0xBEEF)
        #expect(Array(try geometry.ranges(of: 0xBEEF)) == [0xBEEF...0xBEEF])
        #expect(geometry.excludedPSIDCount == 1024)
        #expect(geometry.isExcluded(psid: 1023))
        #expect(!geometry.isExcluded(psid: 1024))
    }

    @Test("a = 7 leaves 512-1023 inside the PSIDs; they stay allocatable (the allocator skips those ports)")
    func smallOffsetSharesSystemPorts() throws {
        let geometry = try PSIDGeometry(offset: 7, psidLength: 4)
        #expect(geometry.firstUsablePort == 512)
        #expect(try geometry.ranges(of: 15)[0] == 992...1023)
        #expect(geometry.excludedPSIDCount == 0)
        #expect(geometry.allocatablePSIDCount == 16)
    }

    @Test("isExcluded is true for a PSID that does not fit in k bits")
    func outOfRangePSIDIsExcluded() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 6)
        #expect(geometry.isExcluded(psid: 64))
        #expect(!geometry.isExcluded(psid: 63))
    }
}

@Suite("PSID geometry: seeded properties")
struct PSIDPropertyTests {
    @Test("every port of ranges(of:) maps back to the same PSID, ranges ascend without overlap",
          arguments: [UInt64(1), 0x5EED, 0xC0FFEE])
    func rangesRoundTrip(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<60 {
            let parameters = random.geometry()
            let geometry = try PSIDGeometry(offset: parameters.offset, psidLength: parameters.psidLength)
            let psid = UInt16(Int.random(in: 0..<geometry.psidCount, using: &random))
            let ranges = try geometry.ranges(of: psid)
            var ports = 0
            var previousLast = -1
            for range in ranges {
                #expect(Int(range.lowerBound) > previousLast, "\(parameters) psid \(psid)")
                #expect(range.count == geometry.portsPerRange)
                previousLast = Int(range.upperBound)
                for port in range {
                    // Checked with a plain if so a broken geometry reports once, not 65536 times.
                    if geometry.psid(ofPort: port) != psid || !geometry.contains(port: port, psid: psid) {
                        Issue.record("\(parameters): port \(port) of PSID \(psid) maps to \(String(describing: geometry.psid(ofPort: port)))")
                        return
                    }
                    ports += 1
                }
            }
            #expect(ports == geometry.portsPerPSID, "\(parameters)")
        }
    }

    @Test("a random port lies in one of the ranges of the PSID it maps to", arguments: [UInt64(7), 0xFACADE])
    func portLiesInItsPSIDRanges(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<2000 {
            let parameters = random.geometry()
            let geometry = try PSIDGeometry(offset: parameters.offset, psidLength: parameters.psidLength)
            let port = UInt16.random(in: 0...UInt16.max, using: &random)
            guard let psid = geometry.psid(ofPort: port) else {
                #expect(Int(port) < geometry.firstUsablePort, "\(parameters) port \(port)")
                continue
            }
            #expect(Int(port) >= geometry.firstUsablePort)
            // Ranges ascend without overlap (checked above), so a binary search finds the only candidate.
            let ranges = try geometry.ranges(of: psid)
            var low = 0
            var high = ranges.count
            while high - low > 1 {
                let middle = (low + high) / 2
                if ranges[middle].lowerBound <= port { low = middle } else { high = middle }
            }
            #expect(ranges[low].contains(port), "\(parameters) port \(port) psid \(psid)")
        }
    }

    @Test("the PSIDs partition the non-excluded ports exactly once",
          arguments: [(6, 6), (6, 8), (0, 8), (0, 0), (6, 0), (3, 5), (15, 1), (4, 12), (0, 16), (11, 5)])
    func partition(offset: Int, psidLength: Int) throws {
        let geometry = try PSIDGeometry(offset: offset, psidLength: psidLength)
        var owners = [Int](repeating: 0, count: 65536)
        for psid in 0..<geometry.psidCount {
            for range in try geometry.ranges(of: UInt16(psid)) {
                for port in range { owners[Int(port)] += 1 }
            }
        }
        let wrong = owners.indices.filter { owners[$0] != ($0 < geometry.firstUsablePort ? 0 : 1) }
        #expect(wrong.isEmpty, "first mis-owned ports: \(wrong.prefix(5))")
        #expect(owners.reduce(0, +) == 65536 - geometry.excludedPortCount)
    }

    @Test("isExcluded matches a brute-force search for system ports (a = 0 only), for every geometry")
    func exclusionMatchesBruteForce() throws {
        for offset in 0...15 {
            for psidLength in 0...(16 - offset) {
                let geometry = try PSIDGeometry(offset: offset, psidLength: psidLength)
                var excluded = 0
                for psid in 0..<geometry.psidCount {
                    // Ranges ascend, so the first one holds the PSID's lowest port.
                    let lowest = try geometry.ranges(of: UInt16(psid))[0].lowerBound
                    let holdsSystemPort = offset == 0 && psidLength > 0 && lowest < 1024
                    if geometry.isExcluded(psid: UInt16(psid)) != holdsSystemPort {
                        Issue.record("a=\(offset),k=\(psidLength): PSID \(psid) lowest port \(lowest)")
                    }
                    if holdsSystemPort { excluded += 1 }
                }
                #expect(geometry.excludedPSIDCount == excluded, "a=\(offset),k=\(psidLength)")
                #expect(geometry.allocatablePSIDCount == geometry.psidCount - excluded)
            }
        }
    }
}
