// libFuzzer target for the UDP-over-MPTCP record decoder (draft section 5.1): UDPFrameDecoder
// fed whole and in pieces, and UDPFraming.frame as its inverse.
//
// Input layout: byte 0 picks the decoder's maximumDatagramSize (see `maximumSizes`); the rest is
// the byte stream. Invariants (each a `require`, so a violation is a crash libFuzzer saves):
//  - fed in one read, cut once at sampled positions, byte by byte, or in pseudo-random pieces
//    (sizes from a hash of the input, empty reads included), the decoder delivers the same
//    datagrams in the same order, ends with the same error (or none) and, without an error,
//    buffers the same number of bytes;
//  - re-framing the delivered datagrams reproduces the consumed prefix of the stream, and what
//    is left is exactly what `bufferedByteCount` says, or a length prefix over the maximum;
//  - after an error every further read throws the same error and delivers nothing.
//
// Fuzz run:     Tests/Fuzz/run-fuzzers.sh [RUNS] udp-framing   (builds with --sanitize=fuzzer,
//               --sanitize=address, -DFUZZING and, for release, an explicit -sanitize-coverage)
// Replay build: swift run --scratch-path .build-fuzz fuzz-udp-framing Tests/Fuzz/corpus/udp-framing

import FuzzSupport
import TestSupport
import PlainMode
import WireFormat

/// Byte 0 & 15 indexes this table (entry 0 is the decoder's default).
let maximumSizes = [UDPFraming.largestIPv4Datagram, UDPFraming.largestRecordPayload, 0, 1, 2, 3, 7, 255,
                    256, 511, 512, 513, 1024, 1500, 4096, 9000]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let maximum = maximumSizes[Int(data[0] & 15)]
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    check(stream, maximum: maximum)
    return 0
}

// MARK: - Helpers

/// The datagrams a decoder delivered (concatenated, with their lengths), how it ended, and
/// what it still buffered.
struct Run: Equatable {
    /// The datagrams back to back, and their lengths (only for the reference run).
    var bytes: [UInt8] = []
    var lengths: [Int] = []
    /// How many datagrams were delivered.
    var count = 0
    var error: UDPFramingError?
    var buffered = 0
}

/// Feeds `stream` in pieces whose sizes come from `nextSize` (0 allowed). Without `expected`, the
/// datagrams are recorded; with it, each is compared with the expected one as it arrives (so
/// equal counts mean equal sequences).
func feed(_ stream: UnsafeRawBufferPointer, maximum: Int, expected: Run?, what: @autoclosure () -> String,
          nextSize: (Int) -> Int) -> Run {
    var decoder = UDPFrameDecoder(maximumDatagramSize: maximum)
    var run = Run()
    var expectedOffset = 0
    var offset = 0
    var reads = 0
    while offset < stream.count || reads == 0 {
        let remaining = stream.count - offset
        let size = remaining == 0 ? 0 : min(nextSize(remaining), remaining)
        let piece = UnsafeRawBufferPointer(rebasing: stream[offset..<offset + size])
        do throws(UDPFramingError) {
            try decoder.decode(piece) { datagram in
                require(datagram.count <= maximum, "\(what()): delivered \(datagram.count) bytes, maximum \(maximum)")
                if let expected {
                    let index = run.count
                    require(index < expected.lengths.count, "\(what()): more datagrams than in one read")
                    require(datagram.count == expected.lengths[index],
                            "\(what()): datagram \(index) has \(datagram.count) bytes, expected \(expected.lengths[index])")
                    let equal = expected.bytes.withUnsafeBytes { all in
                        same(datagram, UnsafeRawBufferPointer(rebasing: all[expectedOffset..<expectedOffset + datagram.count]))
                    }
                    require(equal, "\(what()): datagram \(index) differs")
                    expectedOffset += datagram.count
                } else {
                    run.bytes.append(contentsOf: datagram)
                    run.lengths.append(datagram.count)
                }
                run.count += 1
            }
        } catch {
            run.error = error
            // The error is sticky and nothing more is delivered.
            for again in [UnsafeRawBufferPointer(start: nil, count: 0), stream] {
                do throws(UDPFramingError) {
                    try decoder.decode(again) { _ in fatalError("\(what()): delivery after an error") }
                    fatalError("\(what()): decode succeeded after an error")
                } catch let second {
                    require(second == error, "\(what()): error changed from \(error) to \(second)")
                }
            }
            break
        }
        offset += size
        reads += 1
        require(reads <= 4 * stream.count + 8, "\(what()): too many reads")
    }
    if expected != nil { run.bytes = expected!.bytes }
    run.buffered = decoder.bufferedByteCount
    return run
}

func check(_ stream: UnsafeRawBufferPointer, maximum: Int) {
    let whole = feed(stream, maximum: maximum, expected: nil, what: "one read") { $0 }

    // Re-framing the datagrams gives back the consumed prefix of the stream.
    var offset = 0
    var datagramOffset = 0
    var record = [UInt8](repeating: 0, count: 2 + (whole.lengths.max() ?? 0))
    for length in whole.lengths {
        let result: Result<Int, UDPFramingError> = whole.bytes.withUnsafeBytes { all in
            record.withUnsafeMutableBytes { out in
                do throws(UDPFramingError) {
                    return .success(try UDPFraming.frame(UnsafeRawBufferPointer(rebasing: all[datagramOffset..<datagramOffset + length]), into: out))
                } catch { return .failure(error) }
            }
        }
        guard case .success(let written) = result else { fatalError("frame of a delivered datagram failed: \(result)") }
        require(written == length + 2)
        require(offset + written <= stream.count, "datagrams are longer than the stream")
        let equal = record.withUnsafeBytes { framed in
            same(UnsafeRawBufferPointer(rebasing: stream[offset..<offset + written]), UnsafeRawBufferPointer(rebasing: framed[0..<written]))
        }
        require(equal, "re-framed datagram at stream offset \(offset) differs from the stream")
        if offset == 0 || length == 0 {
            // The array form agrees (checked on the first and on empty datagrams: it allocates).
            let array: [UInt8]
            do throws(UDPFramingError) {
                array = try UDPFraming.framed(Array(whole.bytes[datagramOffset..<datagramOffset + length]))
            } catch {
                fatalError("framed of a delivered datagram failed: \(error)")
            }
            require(array[...] == record[0..<written], "framed() and frame(into:) differ")
        }
        offset += written
        datagramOffset += length
    }
    require(datagramOffset == whole.bytes.count)

    // What follows the consumed prefix: a too-large prefix (error), or what the decoder buffers.
    let rest = stream.count - offset
    if let error = whole.error {
        require(rest >= 2, "error with only \(rest) bytes left")
        let length = Int(stream[offset]) << 8 | Int(stream[offset + 1])
        require(error == .recordTooLarge(length: length, maximum: maximum),
                     "error \(error) but the next prefix says \(length) (maximum \(maximum))")
    } else {
        require(whole.buffered == rest, "bufferedByteCount \(whole.buffered) but \(rest) bytes unconsumed")
        if rest >= 2 {
            let length = Int(stream[offset]) << 8 | Int(stream[offset + 1])
            require(length <= maximum && rest < 2 + length, "an incomplete record that should have failed or completed")
        }
    }

    func compare(_ run: Run, _ what: @autoclosure () -> String) {
        require(run.count == whole.count, "\(what()): \(run.count) datagrams, one read gave \(whole.count)")
        require(run.error == whole.error, "\(what()): error \(String(describing: run.error)), one read \(String(describing: whole.error))")
        // After an error the stream is dead and what it buffered is moot (it depends on the cuts).
        if whole.error == nil {
            require(run.buffered == whole.buffered, "\(what()): buffers \(run.buffered), one read \(whole.buffered)")
        }
    }

    // Single cuts: every position for short streams, else around the first record boundaries
    // and at a sample of positions from a hash of the input.
    var cuts: [Int] = []
    if stream.count <= 64 {
        cuts = Array(0...stream.count)
    } else {
        var boundary = 0
        for length in whole.lengths {
            for c in [boundary, boundary + 1, boundary + 2, boundary + 3] where c <= stream.count { cuts.append(c) }
            boundary += 2 + length
            if cuts.count >= 8 { break }
        }
        var rng = SplitMix64(seed: fnv1a(stream) ^ 0x5555)
        for _ in 0..<4 { cuts.append(Int(rng.next() % UInt64(stream.count + 1))) }
    }
    for cut in cuts {
        var first = true
        let run = feed(stream, maximum: maximum, expected: whole, what: "cut at \(cut)") { remaining in
            defer { first = false }
            return first ? cut : remaining
        }
        compare(run, "cut at \(cut)")
    }

    // Byte by byte (the first 256 bytes; the rest in one read, to bound the cost).
    var fed = 0
    let bytewise = feed(stream, maximum: maximum, expected: whole, what: "byte by byte") { remaining in
        defer { fed += 1 }
        return fed < 256 ? 1 : remaining
    }
    compare(bytewise, "byte by byte")

    // Pseudo-random pieces from a hash of the input, empty reads included.
    var rng = SplitMix64(seed: fnv1a(stream))
    for round in 0..<2 {
        let run = feed(stream, maximum: maximum, expected: whole, what: "random pieces \(round)") { remaining in
            let r = rng.next()
            switch r & 7 {
            case 0: return 0
            case 1, 2, 3: return 1 + Int((r >> 8) % 3)
            default: return 1 + Int((r >> 8) % UInt64(max(remaining, 1)))
            }
        }
        compare(run, "random pieces \(round)")
    }
}

// MARK: - Replay main for normal builds

#if !FUZZING
/// In a normal build this target replays corpus files: `fuzz-udp-framing Tests/Fuzz/corpus/udp-framing`.
@main
enum FuzzUDPFramingReplay {
    static func main() { replayCorpus(name: "fuzz-udp-framing", entry: fuzz) }
}
#endif
