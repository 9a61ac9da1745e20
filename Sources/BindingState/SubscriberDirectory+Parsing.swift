// The subscribers file: one subscriber a line, `ID PREFIX [PREFIX...] [delegated PREFIX [PREFIX...]]`,
// white space (spaces, tabs) between words, `#` to the end of the line a comment.

import WireFormat

extension SubscriberDirectory {
    /// The longest line the file may hold, in bytes (without its line ending).
    public static let maximumLineBytes = 4096

    /// Reads a subscribers file; the first error (in line order, then across lines) is thrown.
    public static func parse(
        _ text: String, defaultIPv4PrefixLength: Int = 32, defaultIPv6PrefixLength: Int = 56
    ) throws(SubscriberFileError) -> SubscriberDirectory {
        try parse(
            text, defaultIPv4PrefixLength: defaultIPv4PrefixLength, defaultIPv6PrefixLength: defaultIPv6PrefixLength,
            subscriberLimit: maximumSubscribers)
    }

    /// `parse` with a lower limit on subscribers, so tests reach it without a million lines.
    static func parse(
        _ text: String, defaultIPv4PrefixLength: Int, defaultIPv6PrefixLength: Int, subscriberLimit: Int
    ) throws(SubscriberFileError) -> SubscriberDirectory {
        var subscribers: [Subscriber] = []
        var lines: [Int] = []
        let bytes = Array(text.utf8)
        var lineStart = bytes.startIndex
        var lineNumber = 0
        while lineStart < bytes.endIndex {
            lineNumber += 1
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let line = bytes[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            guard let subscriber = try parseLine(line, number: lineNumber) else { continue }
            guard subscribers.count < subscriberLimit else {
                throw .tooManySubscribers(line: lineNumber, maximum: subscriberLimit)
            }
            subscribers.append(subscriber)
            lines.append(lineNumber)
        }
        return try SubscriberDirectory(
            subscribers, lines: lines,
            defaultIPv4PrefixLength: defaultIPv4PrefixLength, defaultIPv6PrefixLength: defaultIPv6PrefixLength)
    }

    /// The subscriber a line names, or nil for a blank or comment-only line.
    private static func parseLine(_ line: ArraySlice<UInt8>, number: Int) throws(SubscriberFileError) -> Subscriber? {
        var content = line
        if content.last == UInt8(ascii: "\r") { content = content.dropLast() }
        guard content.count <= maximumLineBytes else {
            throw .lineTooLong(line: number, bytes: content.count, maximum: maximumLineBytes)
        }
        if let comment = content.firstIndex(of: UInt8(ascii: "#")) { content = content[..<comment] }
        var words = content.split(whereSeparator: isWordSeparator)[...]
        guard let idWord = words.popFirst() else { return nil }
        let id = SubscriberID(String(decoding: idWord, as: UTF8.self))
        guard id.isValidName else { throw .badID(id.text, line: number) }
        var links: [IPPrefix] = []
        var delegated: [IPPrefix] = []
        var sawDelegated = false
        for word in words.map({ String(decoding: $0, as: UTF8.self) }) {
            if word == "delegated" && !sawDelegated {
                sawDelegated = true
                continue
            }
            let prefix: IPPrefix
            do { prefix = try IPPrefix(word) } catch { throw .badPrefix(word, error, line: number) }
            if sawDelegated { delegated.append(prefix) } else { links.append(prefix) }
        }
        guard !links.isEmpty else { throw .noLinkPrefix(id, line: number) }
        guard !sawDelegated || !delegated.isEmpty else { throw .emptyDelegated(line: number) }
        return Subscriber(id: id, links: links, delegated: delegated)
    }

    /// Spaces and tabs part words; a carriage return too, so CRLF files read as LF ones.
    private static func isWordSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }
}
