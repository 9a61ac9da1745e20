import BindingState
import WireFormat

/// How a record's fields are spelled in one output: JSON members (`,"name":value`) or RFC 5424
/// SD-PARAMs (` name="value"`). `LogRenderer` walks a record's fields once for either.
protocol FieldSyntax {
    /// `,"name":` or ` name=`.
    static func appendName(_ name: StaticString, to bytes: inout [UInt8])
    /// The punctuation that differs between the syntaxes.
    static var spelling: FieldSpelling { get }
    /// Text that may hold characters the syntax escapes (a subscriber's id).
    static func appendEscaped(_ text: String, to bytes: inout [UInt8])
}

/// A syntax's punctuation around values.
struct FieldSpelling {
    /// Around a number: nothing in JSON, quotes in syslog (text is quoted in both).
    var numberQuote: StaticString
    /// Around a list and each item, and between items: `["a","b"]` in JSON, `"a b"` in syslog.
    var listOpen, listClose, itemQuote, itemSeparator: StaticString
    /// "]", which syslog escapes (an IPv6 endpoint's bracket).
    var closingBracket: StaticString
    /// Which of the renderer's caches holds this syntax's rendered port sets.
    var cacheSlot: Int
}

extension FieldSyntax {
    static func appendText(_ name: StaticString, _ text: String, to bytes: inout [UInt8]) {
        appendName(name, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A text value that has nothing to escape in either syntax (addresses, prefixes, port ranges, times).
    static func appendText(_ name: StaticString, to bytes: inout [UInt8], _ render: (inout [UInt8]) -> Void) {
        appendName(name, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        render(&bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// "198.51.100.1:5000", or "[2001:db8::1]:5000", as `Endpoint.description`.
    static func appendEndpoint(_ name: StaticString, _ endpoint: Endpoint, to bytes: inout [UInt8]) {
        appendText(name, to: &bytes) { bytes in
            if case .v6 = endpoint.address { bytes.append(UInt8(ascii: "[")) }
            bytes.append(address: endpoint.address)
            if case .v6 = endpoint.address { bytes.append(ascii: spelling.closingBracket) }
            bytes.append(UInt8(ascii: ":"))
            bytes.append(decimal: Int64(endpoint.port))
        }
    }

    static func appendNumber(_ name: StaticString, _ value: Int64, to bytes: inout [UInt8]) {
        appendName(name, to: &bytes)
        bytes.append(ascii: spelling.numberQuote)
        bytes.append(decimal: value)
        bytes.append(ascii: spelling.numberQuote)
    }

    static func appendList<Items: Sequence>(_ name: StaticString, _ items: Items, to bytes: inout [UInt8],
                                            _ render: (Items.Element, inout [UInt8]) -> Void) {
        appendName(name, to: &bytes)
        bytes.append(ascii: spelling.listOpen)
        var first = true
        for item in items {
            if !first { bytes.append(ascii: spelling.itemSeparator) }
            first = false
            bytes.append(ascii: spelling.itemQuote)
            render(item, &bytes)
            bytes.append(ascii: spelling.itemQuote)
        }
        bytes.append(ascii: spelling.listClose)
    }
}

/// `--log-json`: one JSON object per line.
enum JSONSyntax: FieldSyntax {
    static func appendName(_ name: StaticString, to bytes: inout [UInt8]) {
        bytes.append(ascii: ",\"")
        bytes.append(ascii: name)
        bytes.append(ascii: "\":")
    }

    static var spelling: FieldSpelling {
        FieldSpelling(numberQuote: "", listOpen: "[", listClose: "]", itemQuote: "\"", itemSeparator: ",", closingBracket: "]",
                      cacheSlot: 0)
    }

    /// RFC 8259 escapes; other control characters as \u00XX. Byte by byte: UTF-8 sequences pass as they are.
    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(ascii: "\\\"")
            case UInt8(ascii: "\\"): bytes.append(ascii: "\\\\")
            case UInt8(ascii: "\n"): bytes.append(ascii: "\\n")
            case UInt8(ascii: "\r"): bytes.append(ascii: "\\r")
            case UInt8(ascii: "\t"): bytes.append(ascii: "\\t")
            case ..<0x20:
                bytes.append(ascii: "\\u00")
                bytes.append(hexDigit(byte >> 4))
                bytes.append(hexDigit(byte & 0xF))
            default: bytes.append(byte)
            }
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}

/// `--log-syslog`: RFC 5424 structured data.
enum SyslogSyntax: FieldSyntax {
    static func appendName(_ name: StaticString, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: " "))
        bytes.append(ascii: name)
        bytes.append(UInt8(ascii: "="))
    }

    static var spelling: FieldSpelling {
        FieldSpelling(numberQuote: "\"", listOpen: "\"", listClose: "\"", itemQuote: "", itemSeparator: " ", closingBracket: "\\]",
                      cacheSlot: 1)
    }

    /// RFC 5424 section 6.3.3: '"', '\' and ']' get a backslash. Per character: ASCII text byte
    /// by byte; other text by grapheme, where a '"' with a combining mark is not a '"'.
    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            for byte in text.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "]") {
                    bytes.append(UInt8(ascii: "\\"))
                }
                bytes.append(byte)
            }
        } else {
            for character in text {
                if character == "\"" || character == "\\" || character == "]" { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(contentsOf: character.utf8)
            }
        }
    }
}

extension Array where Element == UInt8 {
    mutating func append(ascii text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }
}
