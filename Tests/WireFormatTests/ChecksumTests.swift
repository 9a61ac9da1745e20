import Testing
import WireFormat
import TestSupport

@Suite struct ChecksumTests {
    /// RFC 1071 section 3's worked example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
    @Test func rfc1071Example() {
        let data: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        data.withUnsafeBytes { buffer in
            var c = InternetChecksum()
            c.add(bytes: buffer)
            #expect(c.foldedSum == 0xDDF2)
            #expect(c.checksum == 0x220D)
        }
    }

    /// A real IPv4 header (addresses from 192.0.2.0/24) must verify to zero with its checksum.
    @Test func ipv4HeaderKnownAnswer() {
        var header = hexBytes("4500 0054 1c46 4000 4001 0000 c000 0201 c000 0202")
        let expected = naiveChecksum(header)
        header[10] = UInt8(expected >> 8)
        header[11] = UInt8(expected & 0xFF)
        header.withUnsafeBytes { buffer in
            #expect(InternetChecksum.checksum(of: buffer) == expected ^ expected) // verifies to 0
            #expect(IPv4Header.hasValidChecksum(buffer, headerLength: 20))
        }
    }

    @Test func matchesNaiveSumOnRandomBuffers() {
        var rng = SplitMix64(seed: 1071)
        for _ in 0..<2000 {
            let count = Int.random(in: 0...300, using: &rng)
            let data = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let ours = data.withUnsafeBytes { InternetChecksum.checksum(of: $0) }
            #expect(ours == naiveChecksum(data), "length \(count)")
            if ours != naiveChecksum(data) { return }
        }
    }

    @Test func splitAdditionAtEvenBoundariesEqualsWhole() {
        var rng = SplitMix64(seed: 7)
        let data = (0..<257).map { _ in UInt8.random(in: 0...255, using: &rng) }
        data.withUnsafeBytes { buffer in
            for cut in stride(from: 0, through: 256, by: 2) {
                var c = InternetChecksum()
                c.add(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<cut]))
                c.add(bytes: UnsafeRawBufferPointer(rebasing: buffer[cut...]))
                #expect(c.checksum == naiveChecksum(data))
            }
        }
    }

    @Test func wireWordsMatchBytes() {
        var c = InternetChecksum()
        c.add(wireWord: 0x1234)
        c.add(wireWord32: 0xABCD_EF01)
        c.add(IPv4Address(192, 0, 2, 1))
        #expect(c.checksum == naiveChecksum([0x12, 0x34, 0xAB, 0xCD, 0xEF, 0x01, 192, 0, 2, 1]))
    }

    /// RFC 1624: the incremental result equals a full recomputation, for 16- and 32-bit fields.
    @Test func incrementalEqualsRecomputation() {
        var rng = SplitMix64(seed: 1624)
        for _ in 0..<5000 {
            var data = (0..<20).map { _ in UInt8.random(in: 0...255, using: &rng) }
            data[10] = 0; data[11] = 0
            let before = naiveChecksum(data)
            let oldWord = be16(data, 2)
            let oldAddress = UInt32(be16(data, 12)) << 16 | UInt32(be16(data, 14))
            let newWord = UInt16.random(in: 0...0xFFFF, using: &rng)
            let newAddress = UInt32.random(in: 0...UInt32.max, using: &rng)
            data[2] = UInt8(newWord >> 8); data[3] = UInt8(newWord & 0xFF)
            for i in 0..<4 { data[12 + i] = UInt8(newAddress >> (24 - 8 * UInt32(i)) & 0xFF) }
            let recomputed = naiveChecksum(data)
            var incremental = InternetChecksum.adjusted(before, replacing: oldWord, with: newWord)
            incremental = InternetChecksum.adjusted(incremental, replacing: oldAddress, with: newAddress)
            // 0x0000 and 0xFFFF are the same one's-complement value; RFC 1624 eq. 3 may pick either only for all-zero data.
            #expect(incremental == recomputed || (incremental ^ recomputed == 0xFFFF && data.allSatisfy { $0 == 0 }))
            if incremental != recomputed { return }
        }
    }

    @Test func udpZeroChecksumIsLeftAlone() {
        #expect(InternetChecksum.adjustedUDP(0, replacing: 1, with: 2) == 0)
        // A result of 0 must go out as 0xFFFF (RFC 768).
        #expect(InternetChecksum.adjustedUDP(0x0001, replacing: 0x0000, with: 0x0001) == 0xFFFF)
        #expect(InternetChecksum.adjusted(0x0001, replacing: UInt16(0), with: UInt16(1)) == 0x0000)
    }
}
