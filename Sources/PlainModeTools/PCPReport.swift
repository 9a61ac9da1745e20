import PCP
import WireFormat

/// The PCP half of `plainmode decode`: renders PCP bytes (a request, or a response when the R bit
/// is set) as readable text or JSON, with RFC 6887 field names, result code names and IPv4-mapped
/// addresses shown as IPv4. Malformed input renders as the problem, where it is and what a
/// server would answer (RFC 6887 section 8.3).
public enum PCPReport {
    /// Decodes `bytes` into a report document; never fails (malformed input fills `problem`).
    public static func decode(_ bytes: [UInt8]) -> PCPReportDocument {
        let isResponse = bytes.count >= 2 && bytes[1] & PCP.responseBit != 0
        return isResponse ? decodeResponse(bytes) : decodeRequest(bytes)
    }

    /// Multi-line text for `bytes`; see `PCPReportDocument.text`.
    public static func text(_ bytes: [UInt8]) -> String { decode(bytes).text }

    /// JSON for `bytes`, keys sorted; see `PCPReportDocument.json()`.
    public static func json(_ bytes: [UInt8]) -> String { decode(bytes).json() }

    private static func decodeRequest(_ bytes: [UInt8]) -> PCPReportDocument {
        var document = PCPReportDocument(kind: .request, length: bytes.count)
        do {
            let request = try PCPRequest.parse(bytes)
            document.version = PCP.version
            document.opcode = .init(request.opcode.rawValue, request.opcode.name)
            document.requestedLifetime = request.requestedLifetime
            document.clientAddress = pcpDisplay(request.clientAddress)
            document.map = request.payload.mapData.map { .init($0, kind: .request) }
            document.options = request.options.map { .init($0, kind: .request) }
        } catch {
            document.readHeaderBytes(bytes)
            document.problem = PCPReportDocument.Problem(
                reason: error.reason.summary, rule: error.reason.rule, offset: error.offset,
                serverAnswer: error.resultCode.map { .init($0.rawValue, $0.name) },
                silentlyDropped: error.isSilentDrop)
        }
        return document
    }

    private static func decodeResponse(_ bytes: [UInt8]) -> PCPReportDocument {
        var document = PCPReportDocument(kind: .response, length: bytes.count)
        do {
            let response = try PCPResponse.parse(bytes)
            document.version = PCP.version
            document.opcode = .init(response.opcode.rawValue, response.opcode.name)
            document.resultCode = .init(response.resultCode.rawValue, response.resultCode.name)
            document.lifetime = response.lifetime
            document.epochTime = response.epochTime
            document.map = response.payload.mapData.map { .init($0, kind: .response) }
            document.options = response.options.map { .init($0, kind: .response) }
        } catch {
            document.readHeaderBytes(bytes)
            document.problem = PCPReportDocument.Problem(
                reason: error.reason.summary, rule: nil, offset: error.offset, serverAnswer: nil, silentlyDropped: nil)
        }
        return document
    }
}

/// Shows an address as IPv4 when it is IPv4-mapped, else in RFC 5952 IPv6 form.
private func pcpDisplay(_ address: IPv6Address) -> String {
    address.ipv4Mapped.map(\.description) ?? address.description
}

/// A decoded PCP message (or the reason it is malformed), as data that renders to text or JSON.
/// Fields that do not apply are nil and left out of the JSON.
public struct PCPReportDocument: Codable, Hashable, Sendable {
    /// Which way the message goes, from the R bit.
    public enum Kind: String, Codable, Hashable, Sendable {
        /// R = 0, client to server.
        case request
        /// R = 1, server to client.
        case response
    }

    /// A number with the name the RFCs give it, e.g. 6 MALFORMED_OPTION.
    public struct Named: Codable, Hashable, Sendable {
        /// The number on the wire.
        public var value: UInt8
        /// The RFC name, or nil for a number no RFC this module knows defines.
        public var name: String?

        /// A number and its name.
        public init(_ value: UInt8, _ name: String?) {
            self.value = value
            self.name = name
        }

        /// "NAME (value)", or the bare number when the name is unknown.
        var text: String { name.map { "\($0) (\(value))" } ?? "\(value)" }
    }

    /// The MAP opcode fields (RFC 6887 section 11.1).
    public struct MapFields: Codable, Hashable, Sendable {
        /// Mapping Nonce, 24 hex digits.
        public var mappingNonce: String
        /// Protocol number.
        public var `protocol`: UInt8
        /// Protocol name, e.g. "UDP"; "all protocols" for 0.
        public var protocolName: String?
        /// Internal Port.
        public var internalPort: UInt16
        /// Suggested External Port (requests only).
        public var suggestedExternalPort: UInt16?
        /// Suggested External IP Address (requests only).
        public var suggestedExternalIPAddress: String?
        /// Assigned External Port (responses only).
        public var assignedExternalPort: UInt16?
        /// Assigned External IP Address (responses only).
        public var assignedExternalIPAddress: String?

        init(_ data: PCPMapData, kind: Kind) {
            mappingNonce = data.nonce.description
            self.protocol = data.protocolNumber
            protocolName = protocolNames[data.protocolNumber]
            internalPort = data.internalPort
            let address = pcpDisplay(data.externalAddress)
            if kind == .request {
                suggestedExternalPort = data.externalPort
                suggestedExternalIPAddress = address
            } else {
                assignedExternalPort = data.externalPort
                assignedExternalIPAddress = address
            }
        }
    }

    /// One option (RFC 6887 section 7.3) with the fields of its kind.
    public struct OptionFields: Codable, Hashable, Sendable {
        /// Option Code, with its name when known.
        public var code: Named
        /// Option Length (without padding).
        public var length: UInt16
        /// THIRD_PARTY Internal IP Address.
        public var internalIPAddress: String?
        /// FILTER Prefix Length.
        public var prefixLength: UInt8?
        /// FILTER Remote Peer Port.
        public var remotePeerPort: UInt16?
        /// FILTER Remote Peer IP Address.
        public var remotePeerIPAddress: String?
        /// PORT_SET Port Set Size.
        public var portSetSize: UInt16?
        /// PORT_SET First Internal Port.
        public var firstInternalPort: UInt16?
        /// PORT_SET P (parity) bit.
        public var parity: Bool?
        /// True for an unknown optional-to-process option, which a server ignores.
        public var ignored: Bool?

        init(_ option: PCPOption, kind: Kind) {
            code = Named(option.code, option.knownCode?.name)
            length = option.dataLength
            switch option {
            case .thirdParty(let address):
                internalIPAddress = pcpDisplay(address)
            case .preferFailure:
                break
            case .filter(let filter):
                prefixLength = filter.prefixLength
                remotePeerPort = filter.remotePeerPort
                remotePeerIPAddress = pcpDisplay(filter.remotePeerAddress)
            case .portSet(let set):
                portSetSize = set.size
                firstInternalPort = set.firstInternalPort
                parity = set.preservesParity
            case .unknown(let code, _):
                if kind == .request && !PCPOptionCode.isMandatory(code) { ignored = true }
            }
        }

        /// One line: name, length and fields in RFC terms.
        var text: String {
            var fields: [String] = []
            if let internalIPAddress { fields.append("Internal IP Address \(internalIPAddress)") }
            if let prefixLength { fields.append("Prefix Length \(prefixLength)") }
            if let remotePeerPort { fields.append("Remote Peer Port \(remotePeerPort)") }
            if let remotePeerIPAddress { fields.append("Remote Peer IP Address \(remotePeerIPAddress)") }
            if let portSetSize { fields.append("Port Set Size \(portSetSize)") }
            if let firstInternalPort { fields.append("First Internal Port \(firstInternalPort)") }
            if let parity { fields.append("P \(parity ? 1 : 0)") }
            let name = code.name.map { "\($0) (\(code.value))" }
                ?? "unknown option \(code.value) (\(PCPOptionCode.isMandatory(code.value) ? "mandatory" : "optional")\(ignored == true ? ", ignored" : ""))"
            let head = "\(name), Option Length \(length)"
            return fields.isEmpty ? head : "\(head): \(fields.joined(separator: ", "))"
        }
    }

    /// Why the message is malformed and what a server does about it.
    public struct Problem: Codable, Hashable, Sendable {
        /// What is wrong, in words.
        public var reason: String
        /// The RFC section of the rule broken (requests only).
        public var rule: String?
        /// Byte offset of the field at fault.
        public var offset: Int
        /// The result code a server answers a malformed request with.
        public var serverAnswer: Named?
        /// True when a server drops the request without answering.
        public var silentlyDropped: Bool?
    }

    /// Request or response.
    public var kind: Kind
    /// Bytes in the message.
    public var length: Int
    /// Version, when present.
    public var version: UInt8?
    /// Opcode (R bit removed), when present.
    public var opcode: Named?
    /// Requested Lifetime in seconds (requests).
    public var requestedLifetime: UInt32?
    /// PCP Client's IP Address (requests).
    public var clientAddress: String?
    /// Result Code (responses).
    public var resultCode: Named?
    /// Lifetime in seconds (responses).
    public var lifetime: UInt32?
    /// Epoch Time in seconds (responses).
    public var epochTime: UInt32?
    /// MAP opcode fields.
    public var map: MapFields?
    /// Options in wire order.
    public var options: [OptionFields]?
    /// Set when the message is malformed.
    public var problem: Problem?

    init(kind: Kind, length: Int) {
        self.kind = kind
        self.length = length
    }

    /// Whether the message parsed.
    public var isValid: Bool { problem == nil }

    /// Fills version and opcode from raw bytes, for a message that did not parse.
    mutating func readHeaderBytes(_ bytes: [UInt8]) {
        if let first = bytes.first { version = first }
        if bytes.count >= 2 {
            let raw = bytes[1] & ~PCP.responseBit
            opcode = Named(raw, PCPOpcode.registeredName(raw))
        }
    }

    /// Multi-line text with RFC 6887 field names, one field per line.
    public var text: String {
        var lines = ["PCP \(kind.rawValue), \(length) bytes\(isValid ? "" : ": MALFORMED")"]
        func add(_ name: String, _ value: String?) {
            if let value { lines.append("  \(name): \(value)") }
        }
        add("Version", version.map(String.init))
        add("Opcode", opcode?.text)
        add("Result Code", resultCode?.text)
        add("Requested Lifetime", requestedLifetime.map { "\($0) s" })
        add("Lifetime", lifetime.map { "\($0) s" })
        add("Epoch Time", epochTime.map { "\($0) s" })
        add("PCP Client's IP Address", clientAddress)
        if let map {
            add("Mapping Nonce", map.mappingNonce)
            add("Protocol", map.protocolName.map { "\(map.protocol) (\($0))" } ?? "\(map.protocol)")
            add("Internal Port", String(map.internalPort))
            add("Suggested External Port", map.suggestedExternalPort.map(String.init))
            add("Suggested External IP Address", map.suggestedExternalIPAddress)
            add("Assigned External Port", map.assignedExternalPort.map(String.init))
            add("Assigned External IP Address", map.assignedExternalIPAddress)
        }
        if let options {
            add("Options", options.isEmpty ? "none" : String(options.count))
            for option in options { lines.append("    \(option.text)") }
        }
        if let problem {
            add("Problem", "\(problem.reason), at offset \(problem.offset)\(problem.rule.map { " (\($0))" } ?? "")")
            if problem.silentlyDropped == true {
                add("Server action", "drops it silently, no answer")
            } else {
                add("Server answer", problem.serverAnswer?.text)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// JSON with sorted keys, pretty printed; nil fields are left out.
    public func json() -> String { PlainModeTools.json(self) }
}

/// Names of the protocol numbers a PCP MAP commonly carries (IANA protocol numbers).
private let protocolNames: [UInt8: String] = [
    0: "all protocols", 1: "ICMP", 6: "TCP", 17: "UDP", 33: "DCCP", 58: "IPv6-ICMP", 132: "SCTP",
]
