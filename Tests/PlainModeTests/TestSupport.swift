import PlainMode
import WireFormat
import TestSupport

/// Feeds `bytes` to a fresh parser in pieces cut at `cuts`; returns the outcome.
func parseInPieces(_ bytes: [UInt8], cuts: [Int], policy: PlainModePolicy = PlainModePolicy())
    -> Result<(PlainModeBlock, Int), PlainModeError>?
{
    var parser = PlainModeBlockParser(policy: policy)
    var start = 0
    for end in cuts + [bytes.count] where end >= start {
        let outcome: Result<PlainModeBlockParser.Progress, PlainModeError> = bytes.withUnsafeBytes { buffer in
            do throws(PlainModeError) {
                return .success(try parser.consume(UnsafeRawBufferPointer(rebasing: buffer[start..<end])))
            } catch { return .failure(error) }
        }
        switch outcome {
        case .failure(let error): return .failure(error)
        case .success(.complete(let block, let consumed)): return .success((block, start + consumed))
        case .success(.needMoreBytes): start = end
        }
    }
    return nil
}

func randomAddress(v4: Bool, using rng: inout SplitMix64) -> IPAddress {
    // Documentation prefixes only, never a forbidden class.
    if v4 { return .v4(IPv4Address(198, 51, 100, UInt8.random(in: 1...254, using: &rng))) }
    return .v6(IPv6Address(high: 0x2001_0DB8_0000_0000 | UInt64.random(in: 0...0xFFFF_FFFF, using: &rng), low: rng.next() | 1))
}
