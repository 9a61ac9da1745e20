import Foundation

/// PlainModeTools owns what operators read: text and JSON renderings of the codecs (PM blocks,
/// PCP messages, port sets) used by `plainmode decode` and `plainmode portset`. Foundation is
/// allowed here (JSON); the data path never links against it.
public enum PlainModeTools {
    /// Parses hex as operators paste it: any mix of spaces, newlines, colons, commas and "0x"
    /// prefixes ("1E 0A e0:06", "0x1e,0x0a"). nil when a digit is not hex or a byte is half.
    public static func bytes(fromHex text: String) -> [UInt8]? {
        var cleaned = text.replacingOccurrences(of: "0x", with: " ").replacingOccurrences(of: "0X", with: " ")
        cleaned.removeAll { $0.isWhitespace || $0 == ":" || $0 == "," || $0 == "-" }
        guard cleaned.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(cleaned.count / 2)
        var index = cleaned.startIndex
        while index < cleaned.endIndex {
            let next = cleaned.index(index, offsetBy: 2)
            guard let byte = UInt8(cleaned[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }

    /// Upper-case hex bytes separated by spaces, as FACTS.md and RFCs print them.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }

    /// Pretty, key-sorted JSON for scripts (stable output for diffs and tests).
    public static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and numbers cannot fail.
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
