import Testing
import PlainMode
import TestSupport

/// Feeds `stream` cut at `cuts`; returns the datagrams and the error, if any.
private func decode(_ stream: [UInt8], cuts: [Int], maximum: Int = UDPFraming.largestIPv4Datagram)
    -> (datagrams: [[UInt8]], error: UDPFramingError?, buffered: Int)
{
    var decoder = UDPFrameDecoder(maximumDatagramSize: maximum)
    var out: [[UInt8]] = []
    var start = 0
    for end in cuts + [stream.count] where end >= start {
        do {
            try stream.withUnsafeBytes { buffer in
                try decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[start..<end])) { out.append(Array($0)) }
            }
        } catch {
            return (out, error as? UDPFramingError, decoder.bufferedByteCount)
        }
        start = end
    }
    return (out, nil, decoder.bufferedByteCount)
}

@Suite struct UDPFramingTests {
    @Test func frameWritesLengthThenPayload() throws {
        #expect(try UDPFraming.framed(Array("hello".utf8)) == [0, 5, 0x68, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(try UDPFraming.framed([]) == [0, 0])
        var buffer = [UInt8](repeating: 0xEE, count: 10)
        let written = try buffer.withUnsafeMutableBytes { out in
            try [UInt8](repeating: 7, count: 3).withUnsafeBytes { payload in try UDPFraming.frame(payload, into: out) }
        }
        #expect(written == 5)
        #expect(Array(buffer[0..<6]) == [0, 3, 7, 7, 7, 0xEE])
        #expect(throws: UDPFramingError.recordTooLarge(length: 65536, maximum: 65535)) {
            try UDPFraming.framed([UInt8](repeating: 0, count: 65536))
        }
    }

    @Test func decodesAtEverySplitPoint() throws {
        let datagrams: [[UInt8]] = [Array("hello".utf8), [], [0xFF], Array(repeating: 0xAB, count: 300), [1, 2]]
        var stream: [UInt8] = []
        for d in datagrams { stream += try UDPFraming.framed(d) }
        for cut in 0...stream.count {
            let result = decode(stream, cuts: [cut])
            #expect(result.datagrams == datagrams, "cut at \(cut)")
            #expect(result.error == nil && result.buffered == 0)
        }
        #expect(decode(stream, cuts: Array(0...stream.count)).datagrams == datagrams) // byte by byte
    }

    @Test func randomStreamsAndReadSizes() throws {
        var rng = SplitMix64(seed: 51)
        for _ in 0..<300 {
            let datagrams = (0..<Int.random(in: 1...20, using: &rng)).map { _ in
                (0..<Int.random(in: 0...1500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            var stream: [UInt8] = []
            for d in datagrams { stream += try UDPFraming.framed(d) }
            var cuts: [Int] = []
            var position = 0
            while position < stream.count {
                position += Int.random(in: 1...2000, using: &rng)
                cuts.append(min(position, stream.count))
            }
            #expect(decode(stream, cuts: cuts).datagrams == datagrams)
        }
    }

    @Test func partialRecordIsHeldNotDelivered() {
        let stream: [UInt8] = [0, 4, 1, 2, 3]
        let result = decode(stream, cuts: [])
        #expect(result.datagrams.isEmpty)
        #expect(result.buffered == 5)
        #expect(decode([0], cuts: []).buffered == 1)
    }

    @Test func oversizedRecordIsAnErrorAfterEarlierDatagrams() throws {
        let stream = try UDPFraming.framed([1, 2, 3]) + [0x05, 0xDD] + [UInt8](repeating: 0, count: 20)
        let result = decode(stream, cuts: [], maximum: 1400)
        #expect(result.datagrams == [[1, 2, 3]])
        #expect(result.error == .recordTooLarge(length: 0x05DD, maximum: 1400))
        // Split inside the length prefix: the same error.
        #expect(decode(stream, cuts: [6]).error == nil) // default maximum accepts 1501
        #expect(decode(stream, cuts: [6], maximum: 1400).error == .recordTooLarge(length: 1501, maximum: 1400))
    }

    @Test func failureIsSticky() {
        var decoder = UDPFrameDecoder(maximumDatagramSize: 10)
        var delivered = 0
        let bad: [UInt8] = [0, 11]
        let good: [UInt8] = [0, 1, 9]
        #expect(throws: UDPFramingError.self) { try bad.withUnsafeBytes { b in try decoder.decode(b) { _ in delivered += 1 } } }
        #expect(throws: UDPFramingError.self) { try good.withUnsafeBytes { b in try decoder.decode(b) { _ in delivered += 1 } } }
        #expect(delivered == 0)
    }
}
