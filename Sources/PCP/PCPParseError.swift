public import WireFormat

/// What a PCP server does with a request it cannot serve (RFC 6887 section 8.3).
public enum PCPRequestDisposition: Hashable, Sendable {
    /// Drop the datagram without answering.
    case silentlyDrop
    /// Answer with an error response carrying this result code.
    case respond(PCPResultCode)
}

/// Why a PCP request cannot be served: the specific reason (for logs and tests), where in the
/// message it was found, and the result code the server must answer with (or that it must
/// drop the request silently).
public struct PCPRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The specific rule the request broke.
    public var reason: Reason
    /// Byte offset in the request of the field at fault (0 for whole-message problems).
    public var offset: Int

    /// An error for `reason` found at byte `offset`.
    public init(_ reason: Reason, at offset: Int = 0) {
        self.reason = reason
        self.offset = offset
    }

    /// The result code the server answers with, or nil when the request is dropped unanswered.
    public var resultCode: PCPResultCode? {
        if case .respond(let code) = reason.disposition { return code }
        return nil
    }

    /// Whether the server must drop the request without any answer.
    public var isSilentDrop: Bool { reason.disposition == .silentlyDrop }

    /// The reason, where it was found and the server's answer, on one line.
    public var description: String {
        let answer = resultCode.map { "answer \($0)" } ?? "drop silently"
        return "\(reason.summary) at offset \(offset) (\(reason.rule)): \(answer)"
    }

    /// The rules a request can break, each with the RFC section it comes from.
    public enum Reason: Hashable, Sendable {
        /// RFC 6887 section 8.3: a message shorter than 2 bytes is silently dropped.
        case tooShortToAnswer(length: Int)
        /// RFC 6887 section 8.3: a message with the R bit set is a response; a server drops it.
        case responseBitSet
        /// RFC 6887 sections 8.3 and 9: a version other than 2 gets UNSUPP_VERSION.
        case unsupportedVersion(UInt8)
        /// RFC 6887 section 8.3: shorter than the 24-byte header gets MALFORMED_REQUEST.
        case shorterThanHeader(length: Int)
        /// RFC 6887 sections 7 and 8.3: longer than 1100 bytes gets MALFORMED_REQUEST.
        case longerThanMaximum(length: Int)
        /// RFC 6887 section 8.3: a length that is not a multiple of 4 gets MALFORMED_REQUEST.
        case lengthNotMultipleOfFour(length: Int)
        /// RFC 6887 section 8.3: an opcode the server does not support gets UNSUPP_OPCODE.
        case unsupportedOpcode(UInt8)
        /// RFC 6887 sections 7.1 and 11.1: opcode data cut short gets MALFORMED_REQUEST.
        case truncatedOpcodeData(opcode: PCPOpcode, available: Int)
        /// RFC 6887 section 7.3: an option header cut short gets MALFORMED_OPTION.
        case optionHeaderTruncated(available: Int)
        /// RFC 6887 section 7.3: an option whose (padded) length runs past the end of the message
        /// gets MALFORMED_OPTION rather than MALFORMED_REQUEST.
        case optionOverrunsMessage(code: UInt8, length: UInt16)
        /// RFC 6887 section 7.3: an unsupported option in the mandatory range 0-127 gets
        /// UNSUPP_OPTION (unsupported optional options, 128-255, are ignored).
        case unsupportedMandatoryOption(code: UInt8)
        /// RFC 6887 sections 7.3, 13.1-13.3 and RFC 7753 section 4: an Option Length other than
        /// the definition's gets MALFORMED_OPTION.
        case optionLengthInvalid(option: PCPOptionCode, length: UInt16)
        /// RFC 6887 section 7.3 ("Valid for Opcodes"): an option sent with an opcode it is not
        /// defined for gets MALFORMED_OPTION.
        case optionNotValidForOpcode(option: PCPOptionCode, opcode: PCPOpcode)
        /// RFC 6887 section 7.3 (maximum occurrences) and RFC 7753 section 4.2: a singleton
        /// option that appears twice gets MALFORMED_OPTION.
        case duplicateOption(PCPOptionCode)
        /// RFC 6887 section 13.3: a FILTER Prefix Length above 128, or between 1 and 95 for an
        /// IPv4-mapped peer, gets MALFORMED_OPTION.
        case filterPrefixLengthInvalid(prefixLength: UInt8, remotePeerIsIPv4: Bool)
        /// RFC 7753 section 4.2: PORT_SET with Port Set Size 0 (non-zero lifetime) gets
        /// MALFORMED_OPTION.
        case portSetSizeZero
        /// RFC 7753 section 4.2: PORT_SET together with PREFER_FAILURE (non-zero lifetime) gets
        /// MALFORMED_OPTION.
        case portSetWithPreferFailure
        /// RFC 6887 section 13.2: PREFER_FAILURE with neither a Suggested External Port nor a
        /// Suggested External IP Address gets MALFORMED_OPTION.
        case preferFailureWithoutSuggestion
        /// RFC 6887 sections 8.1 and 8.3: the PCP Client's IP Address differs from the packet's
        /// source address (a NAT on the path) and gets ADDRESS_MISMATCH.
        case clientAddressMismatch(claimed: IPv6Address, source: IPv6Address)
        /// RFC 6887 section 13.1: a THIRD_PARTY address equal to the packet's source address
        /// gets MALFORMED_REQUEST.
        case thirdPartyIsSource(IPv6Address)

        /// What the server does about this reason.
        public var disposition: PCPRequestDisposition {
            switch self {
            case .tooShortToAnswer, .responseBitSet:
                .silentlyDrop
            case .unsupportedVersion:
                .respond(.unsupportedVersion)
            case .shorterThanHeader, .longerThanMaximum, .lengthNotMultipleOfFour,
                 .truncatedOpcodeData, .thirdPartyIsSource:
                .respond(.malformedRequest)
            case .unsupportedOpcode:
                .respond(.unsupportedOpcode)
            case .unsupportedMandatoryOption:
                .respond(.unsupportedOption)
            case .optionHeaderTruncated, .optionOverrunsMessage, .optionLengthInvalid,
                 .optionNotValidForOpcode, .duplicateOption, .filterPrefixLengthInvalid,
                 .portSetSizeZero, .portSetWithPreferFailure, .preferFailureWithoutSuggestion:
                .respond(.malformedOption)
            case .clientAddressMismatch:
                .respond(.addressMismatch)
            }
        }

        /// Whether the request failed to parse. The error response copies the tail of the
        /// client address into its reserved field only then (RFC 6887 section 7.2).
        public var isParseFailure: Bool {
            switch self {
            case .clientAddressMismatch, .thirdPartyIsSource: false
            default: true
            }
        }

        /// The RFC section the rule comes from, e.g. "RFC 7753 section 4.2".
        public var rule: String {
            switch self {
            case .tooShortToAnswer, .responseBitSet, .shorterThanHeader, .lengthNotMultipleOfFour,
                 .unsupportedOpcode:
                "RFC 6887 section 8.3"
            case .unsupportedVersion: "RFC 6887 sections 8.3 and 9"
            case .longerThanMaximum: "RFC 6887 sections 7 and 8.3"
            case .truncatedOpcodeData: "RFC 6887 sections 7.1 and 11.1"
            case .optionHeaderTruncated, .optionOverrunsMessage, .unsupportedMandatoryOption,
                 .optionNotValidForOpcode:
                "RFC 6887 section 7.3"
            case .optionLengthInvalid(let option, _):
                option == .portSet ? "RFC 7753 section 4" : "RFC 6887 sections 7.3 and 13"
            case .duplicateOption(let option):
                option == .portSet ? "RFC 7753 section 4.2" : "RFC 6887 section 7.3"
            case .filterPrefixLengthInvalid: "RFC 6887 section 13.3"
            case .portSetSizeZero, .portSetWithPreferFailure: "RFC 7753 section 4.2"
            case .preferFailureWithoutSuggestion: "RFC 6887 section 13.2"
            case .clientAddressMismatch: "RFC 6887 sections 8.1 and 8.3"
            case .thirdPartyIsSource: "RFC 6887 section 13.1"
            }
        }

        /// What is wrong, in words, e.g. "PORT_SET (130) appears twice".
        public var summary: String {
            switch self {
            case .tooShortToAnswer(let length):
                "message of \(length) bytes is too short to answer"
            case .responseBitSet:
                "R bit is set: this is a response, not a request"
            case .unsupportedVersion(let version):
                "version \(version) is not supported (this server speaks version \(PCP.version))"
            case .shorterThanHeader(let length):
                "message of \(length) bytes is shorter than the \(PCP.headerSize)-byte header"
            case .longerThanMaximum(let length):
                "message of \(length) bytes is longer than \(PCP.maximumMessageSize) bytes"
            case .lengthNotMultipleOfFour(let length):
                "message length \(length) is not a multiple of 4"
            case .unsupportedOpcode(let opcode):
                "opcode \(opcode)\(PCPOpcode.registeredName(opcode).map { " (\($0))" } ?? "") is not supported"
            case .truncatedOpcodeData(let opcode, let available):
                "\(opcode.name) data needs \(opcode.dataSize) bytes but only \(available) remain"
            case .optionHeaderTruncated(let available):
                "option header needs \(PCP.optionHeaderSize) bytes but only \(available) remain"
            case .optionOverrunsMessage(let code, let length):
                "option \(Self.optionName(code)) with Option Length \(length) runs past the end of the message"
            case .unsupportedMandatoryOption(let code):
                "mandatory-to-process option \(code) is not supported"
            case .optionLengthInvalid(let option, let length):
                "\(option) has Option Length \(length), expected \(option.dataLength)"
            case .optionNotValidForOpcode(let option, let opcode):
                "\(option) is not valid for opcode \(opcode)"
            case .duplicateOption(let option):
                "\(option) appears more than once"
            case .filterPrefixLengthInvalid(let prefixLength, let ipv4):
                "FILTER Prefix Length \(prefixLength) is out of range for an \(ipv4 ? "IPv4 (0 or 96-128)" : "IPv6 (0-128)") remote peer"
            case .portSetSizeZero:
                "PORT_SET Port Set Size is 0"
            case .portSetWithPreferFailure:
                "PORT_SET appears together with PREFER_FAILURE"
            case .preferFailureWithoutSuggestion:
                "PREFER_FAILURE with no Suggested External Port and no Suggested External IP Address"
            case .clientAddressMismatch(let claimed, let source):
                "PCP Client's IP Address \(claimed) differs from the source address \(source)"
            case .thirdPartyIsSource(let address):
                "THIRD_PARTY address \(address) is the request's own source address"
            }
        }

        private static func optionName(_ code: UInt8) -> String {
            PCPOptionCode(rawValue: code).map(\.description) ?? "\(code)"
        }
    }
}

/// Why bytes received by a PCP client are not a usable response, and where.
public struct PCPResponseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The specific problem.
    public var reason: Reason
    /// Byte offset in the message of the field at fault (0 for whole-message problems).
    public var offset: Int

    /// An error for `reason` found at byte `offset`.
    public init(_ reason: Reason, at offset: Int = 0) {
        self.reason = reason
        self.offset = offset
    }

    /// The problem and where it was found, on one line.
    public var description: String { "\(reason.summary) at offset \(offset)" }

    /// The ways a response can be unusable.
    public enum Reason: Hashable, Sendable {
        /// Shorter than the 24-byte header (RFC 6887 section 7.2).
        case shorterThanHeader(length: Int)
        /// Longer than 1100 bytes (RFC 6887 section 7).
        case longerThanMaximum(length: Int)
        /// Not a multiple of 4 bytes (RFC 6887 section 7).
        case lengthNotMultipleOfFour(length: Int)
        /// The R bit is clear: this is a request (RFC 6887 section 7.1).
        case notAResponse
        /// A version other than 2 (RFC 6887 section 9).
        case unsupportedVersion(UInt8)
        /// An opcode this module does not parse.
        case unsupportedOpcode(UInt8)
        /// A result code not defined by RFC 6887 section 7.4.
        case unknownResultCode(UInt8)
        /// The opcode data is cut short (RFC 6887 section 11.2).
        case truncatedOpcodeData(opcode: PCPOpcode, available: Int)
        /// An option header is cut short (RFC 6887 section 7.3).
        case optionHeaderTruncated(available: Int)
        /// An option runs past the end of the message (RFC 6887 section 7.3).
        case optionOverrunsMessage(code: UInt8, length: UInt16)
        /// A known option with an Option Length other than its definition's.
        case optionLengthInvalid(option: PCPOptionCode, length: UInt16)

        /// What is wrong, in words.
        public var summary: String {
            switch self {
            case .shorterThanHeader(let length):
                "message of \(length) bytes is shorter than the \(PCP.headerSize)-byte header"
            case .longerThanMaximum(let length):
                "message of \(length) bytes is longer than \(PCP.maximumMessageSize) bytes"
            case .lengthNotMultipleOfFour(let length):
                "message length \(length) is not a multiple of 4"
            case .notAResponse:
                "R bit is clear: this is a request, not a response"
            case .unsupportedVersion(let version):
                "version \(version) is not supported (expected \(PCP.version))"
            case .unsupportedOpcode(let opcode):
                "opcode \(opcode)\(PCPOpcode.registeredName(opcode).map { " (\($0))" } ?? "") is not supported"
            case .unknownResultCode(let code):
                "result code \(code) is not defined"
            case .truncatedOpcodeData(let opcode, let available):
                "\(opcode.name) data needs \(opcode.dataSize) bytes but only \(available) remain"
            case .optionHeaderTruncated(let available):
                "option header needs \(PCP.optionHeaderSize) bytes but only \(available) remain"
            case .optionOverrunsMessage(let code, let length):
                "option \(PCPOptionCode(rawValue: code).map(\.description) ?? "\(code)") with Option Length \(length) runs past the end of the message"
            case .optionLengthInvalid(let option, let length):
                "\(option) has Option Length \(length), expected \(option.dataLength)"
            }
        }
    }
}
