// Textual forms: dotted quad for IPv4; RFC 4291 section 2.2 input and RFC 5952 canonical output
// for IPv6. Written without Foundation or inet_pton so the wire modules stay syscall-free.

extension IPv4Address: CustomStringConvertible, LosslessStringConvertible {
    /// Parses "a.b.c.d" (four decimal octets, no leading zeros except "0").
    public init?(_ text: some StringProtocol) {
        var value: UInt32 = 0
        var octets = 0
        var current: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 1 && leadingZero { return nil }
                if digits == 0 { leadingZero = byte == UInt8(ascii: "0") }
                current = current * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                if digits > 3 || current > 255 { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, octets < 3 else { return nil }
                value = value << 8 | current
                octets += 1
                current = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, octets == 3 else { return nil }
        self.init(value << 8 | current)
    }

    public var description: String {
        let o = octets
        return "\(o.0).\(o.1).\(o.2).\(o.3)"
    }
}

extension IPv6Address: CustomStringConvertible, LosslessStringConvertible {
    /// Parses RFC 4291 text: eight groups, at most one "::", an optional trailing dotted quad.
    public init?(_ text: some StringProtocol) {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawDoubleColon = false
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count <= 45 else { return nil }
        var index = 0
        if utf8.starts(with: [UInt8(ascii: ":"), UInt8(ascii: ":")]) {
            sawDoubleColon = true
            index = 2
        } else if utf8[0] == UInt8(ascii: ":") {
            return nil
        }
        while index < utf8.count {
            // A group is 1-4 hex digits, unless it is the final dotted quad.
            var end = index
            while end < utf8.count, utf8[end] != UInt8(ascii: ":") { end += 1 }
            let token = utf8[index..<end]
            guard !token.isEmpty else { return nil }
            if token.contains(UInt8(ascii: ".")) {
                guard end == utf8.count,
                      let v4 = IPv4Address(String(decoding: token, as: UTF8.self)) else { return nil }
                let pair = [UInt16(truncatingIfNeeded: v4.value >> 16), UInt16(truncatingIfNeeded: v4.value)]
                if sawDoubleColon { tail += pair } else { head += pair }
                index = end
                break
            }
            guard token.count <= 4 else { return nil }
            var group: UInt16 = 0
            for byte in token {
                guard let nibble = Self.hexValue(byte) else { return nil }
                group = group << 4 | UInt16(nibble)
            }
            if sawDoubleColon { tail.append(group) } else { head.append(group) }
            index = end
            if index < utf8.count {
                // Consume ":" or "::".
                index += 1
                if index < utf8.count, utf8[index] == UInt8(ascii: ":") {
                    guard !sawDoubleColon else { return nil }
                    sawDoubleColon = true
                    index += 1
                } else if index == utf8.count {
                    return nil  // trailing single colon
                }
            }
        }
        let total = head.count + tail.count
        if sawDoubleColon {
            guard total <= 7 else { return nil }
        } else {
            guard total == 8 else { return nil }
        }
        let groups = head + Array(repeating: 0, count: 8 - total) + tail
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<4 { high = high << 16 | UInt64(groups[i]) }
        for i in 4..<8 { low = low << 16 | UInt64(groups[i]) }
        self.init(high: high, low: low)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::",
    /// and ::ffff:a.b.c.d for IPv4-mapped addresses.
    public var description: String {
        if let v4 = ipv4Mapped { return "::ffff:\(v4)" }
        var bestStart = -1
        var bestLength = 0
        var runStart = -1
        for i in 0...8 {
            if i < 8 && group(i) == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(group(i), radix: 16)
            i += 1
        }
        return text
    }
}

extension IPAddress: CustomStringConvertible, LosslessStringConvertible {
    /// Parses either family: a dotted quad, or anything with a colon as IPv6.
    public init?(_ text: some StringProtocol) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let v6 = IPv6Address(text) else { return nil }
            self = .v6(v6)
        } else {
            guard let v4 = IPv4Address(text) else { return nil }
            self = .v4(v4)
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }
}
