// What `plainmode portset` prints: operators plan PSID pools with it (RFC 7597 section 5.1,
// OPTION_V4_PORTPARAMS of RFC 7618). Text for people, sorted-key JSON for scripts; the command
// itself only parses flags and prints what these functions return.
public import PortSets

/// The question an operator asks `plainmode portset`, with numbers as typed (not yet checked).
public enum PortSetQuestion: Equatable, Sendable {
    /// List the ranges, port count and option 159 bytes of this PSID.
    case psid(Int)
    /// Find the PSID this port belongs to.
    case port(Int)
    /// Summarise the geometry: PSIDs, ports per PSID, exclusions.
    case summary
}

/// A `plainmode portset` input the geometry rejects, worded for the operator.
public struct PortSetRequestError: Error, Equatable, CustomStringConvertible {
    /// What was wrong and which flag to change.
    public let description: String
}

/// A checked `plainmode portset` request: a valid geometry and a question that fits it.
public struct PortSetRequest: Equatable, Sendable {
    /// The checked question.
    public enum Query: Equatable, Sendable {
        /// A PSID that fits the geometry.
        case psid(PSIDPortSet)
        /// A port number in 0...65535.
        case port(UInt16)
        /// The geometry summary.
        case summary
    }

    /// The split of the port bits.
    public let geometry: PSIDGeometry
    /// What to report.
    public let query: Query

    /// Checks `offset`, `psidLength` and the question's number, naming the flag to fix on failure.
    public init(offset: Int, psidLength: Int, question: PortSetQuestion) throws(PortSetRequestError) {
        do {
            geometry = try PSIDGeometry(offset: offset, psidLength: psidLength)
        } catch {
            throw PortSetRequestError(description: "--offset/--psid-length: \(error.description)")
        }
        switch question {
        case .psid(let psid):
            do {
                query = .psid(try PSIDPortSet(geometry: geometry, psid: psid))
            } catch {
                throw PortSetRequestError(description: "--psid: \(error.description)")
            }
        case .port(let port):
            guard let port = UInt16(exactly: port) else {
                throw PortSetRequestError(description: "--port: \(port) is not a port: use a port between 0 and 65535.")
            }
            query = .port(port)
        case .summary:
            query = .summary
        }
    }

    /// The human-readable report.
    public func text() -> String {
        switch query {
        case .psid(let portSet): PSIDReport(portSet).text
        case .port(let port): PortLookupReport(port: port, geometry: geometry).text
        case .summary: GeometrySummaryReport(geometry).text
        }
    }

    /// The report as pretty-printed JSON with sorted keys, for scripts.
    public func json() -> String {
        switch query {
        case .psid(let portSet): PlainModeTools.json(PSIDReport(portSet))
        case .port(let port): PlainModeTools.json(PortLookupReport(port: port, geometry: geometry))
        case .summary: PlainModeTools.json(GeometrySummaryReport(geometry))
        }
    }
}

/// Shared helpers of the port-set reports.
public enum PortSetReport {
    /// Parses an operator-typed number: decimal ("52") or hex with a 0x prefix ("0x34"); nil otherwise.
    public static func parseNumber(_ text: some StringProtocol) -> Int? {
        let hexPrefix = text.utf8.starts(with: "0x".utf8) || text.utf8.starts(with: "0X".utf8)
        let digits = text.dropFirst(hexPrefix ? 2 : 0)
        // Int(_:radix:) would also take a sign; operators' numbers here are never negative.
        guard let first = digits.first, first != "+", first != "-" else { return nil }
        return Int(digits, radix: hexPrefix ? 16 : 10)
    }

    /// "0x34": a PSID in hex, as RFC 7597 writes them, zero-padded to the k bits it occupies.
    public static func hex(_ value: UInt16, bits: Int = 16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        let width = max(1, (bits + 3) / 4)
        return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

}

/// A geometry in JSON: a, k and m.
public struct GeometryJSON: Encodable, Equatable, Sendable {
    /// a.
    public let offset: Int
    /// k.
    public let psidLength: Int
    /// m = 16 - a - k.
    public let contiguousBits: Int

    /// Copies the three numbers out of `geometry`.
    public init(_ geometry: PSIDGeometry) {
        offset = geometry.offset
        psidLength = geometry.psidLength
        contiguousBits = geometry.contiguousBits
    }
}

/// A closed port range in JSON: {"first": 1232, "last": 1235}.
public struct PortRangeJSON: Encodable, Equatable, Sendable {
    /// The lowest port.
    public let first: Int
    /// The highest port.
    public let last: Int

    /// Copies the bounds of `range`.
    public init(_ range: ClosedRange<UInt16>) {
        first = Int(range.lowerBound)
        last = Int(range.upperBound)
    }
}

/// `plainmode portset --psid N`: the ranges of one PSID, its port count and its option 159 bytes.
public struct PSIDReport: Encodable, Equatable, Sendable {
    /// The geometry.
    public let geometry: GeometryJSON
    /// The PSID, right-aligned.
    public let psid: Int
    /// The PSID in hex ("0x34").
    public let psidHex: String
    /// Ports the PSID holds.
    public let portCount: Int
    /// Contiguous ranges the PSID holds.
    public let rangeCount: Int
    /// Ports in each range.
    public let portsPerRange: Int
    /// The ranges in ascending order.
    public let ranges: [PortRangeJSON]
    /// True when the PSID holds system ports and must not be allocated.
    public let holdsSystemPorts: Bool
    /// OPTION_V4_PORTPARAMS as sent in DHCPv4: "9F 04 06 06 D0 00".
    public let portParamsOption: String

    /// Builds the report for `portSet`.
    public init(_ portSet: PSIDPortSet) {
        geometry = GeometryJSON(portSet.geometry)
        psid = Int(portSet.psid)
        psidHex = PortSetReport.hex(portSet.psid, bits: portSet.geometry.psidLength)
        portCount = portSet.portCount
        rangeCount = portSet.ranges.count
        portsPerRange = portSet.geometry.portsPerRange
        ranges = portSet.ranges.map(PortRangeJSON.init)
        holdsSystemPorts = portSet.isExcluded
        portParamsOption = PlainModeTools.hex(PortParamsOption(portSet).encode())
    }

    /// Header, one range per line, then the option bytes.
    public var text: String {
        var lines = [
            "PSID \(psidHex) (\(psid)), offset a=\(geometry.offset), PSID length k=\(geometry.psidLength) (m=\(geometry.contiguousBits))",
            "Ports: \(portCount) in \(rangeCount) \(rangeCount == 1 ? "range" : "ranges") of \(portsPerRange)",
        ]
        if holdsSystemPorts {
            lines.append("Warning: this PSID holds system ports (0-1023); do not allocate it (RFC 7618 section 9).")
        }
        lines.append("Ranges:")
        lines += ranges.map { range in "  \(range.first)-\(range.last)" }
        lines.append("OPTION_V4_PORTPARAMS (DHCPv4 option 159): \(portParamsOption)")
        return lines.joined(separator: "\n")
    }
}

/// `plainmode portset --port P`: which PSID a port belongs to, or why it belongs to none.
public struct PortLookupReport: Encodable, Equatable, Sendable {
    /// Where the port stands.
    public enum Status: String, Encodable, Equatable, Sendable {
        /// The port's PSID may be allocated.
        case allocatable
        /// The port's PSID holds system ports (0-1023) and must not be allocated.
        case systemPorts
        /// The port is below 2^(16-a): no PSID holds it.
        case excludedByOffset
    }

    /// The geometry.
    public let geometry: GeometryJSON
    /// The port asked about.
    public let port: Int
    /// Where it stands.
    public let status: Status
    /// Its PSID, absent when excluded by the offset.
    public let psid: Int?
    /// Its PSID in hex, absent when excluded by the offset.
    public let psidHex: String?
    /// The contiguous range holding it (or, when excluded, the excluded block 0 ... 2^(16-a)-1).
    public let range: PortRangeJSON

    /// Looks `port` up in `geometry`.
    public init(port: UInt16, geometry: PSIDGeometry) {
        self.geometry = GeometryJSON(geometry)
        self.port = Int(port)
        if let psid = geometry.psid(ofPort: port) {
            status = geometry.isExcluded(psid: psid) ? .systemPorts : .allocatable
            self.psid = Int(psid)
            psidHex = PortSetReport.hex(psid, bits: geometry.psidLength)
            // The port's range is the port with its m contiguous bits cleared, then set.
            let first = Int(port) & ~(geometry.portsPerRange - 1)
            range = PortRangeJSON(UInt16(first)...UInt16(first + geometry.portsPerRange - 1))
        } else {
            status = .excludedByOffset
            psid = nil
            psidHex = nil
            range = PortRangeJSON(0...UInt16(geometry.excludedPortCount - 1))
        }
    }

    /// One or two sentences.
    public var text: String {
        let geometryText = "offset a=\(geometry.offset), PSID length k=\(geometry.psidLength)"
        switch status {
        case .excludedByOffset:
            return "Port \(port) is excluded: with \(geometryText), ports \(range.first)-\(range.last) belong to no PSID."
        case .allocatable, .systemPorts:
            var text = "Port \(port) belongs to PSID \(psidHex ?? "?") (\(psid ?? 0)) with \(geometryText), "
                + "in range \(range.first)-\(range.last)."
            if status == .systemPorts {
                text += "\nWarning: that PSID holds system ports (0-1023); do not allocate it (RFC 7618 section 9)."
            }
            return text
        }
    }
}

/// `plainmode portset --summary`: the size of a PSID pool.
public struct GeometrySummaryReport: Encodable, Equatable, Sendable {
    /// The geometry.
    public let geometry: GeometryJSON
    /// PSIDs defined (2^k, the sharing ratio).
    public let psidCount: Int
    /// Ports each PSID holds.
    public let portsPerPSID: Int
    /// Contiguous ranges per PSID.
    public let rangesPerPSID: Int
    /// Ports per contiguous range (2^m).
    public let portsPerRange: Int
    /// Ports no PSID holds (0 ... 2^(16-a)-1 when a > 0).
    public let excludedPortCount: Int
    /// The block of ports no PSID holds, absent when a = 0.
    public let excludedPorts: PortRangeJSON?
    /// PSIDs holding system ports, which must not be allocated.
    public let excludedPSIDCount: Int
    /// PSIDs that may be allocated.
    public let allocatablePSIDCount: Int

    /// Summarises `geometry`.
    public init(_ geometry: PSIDGeometry) {
        self.geometry = GeometryJSON(geometry)
        psidCount = geometry.psidCount
        portsPerPSID = geometry.portsPerPSID
        rangesPerPSID = geometry.rangesPerPSID
        portsPerRange = geometry.portsPerRange
        excludedPortCount = geometry.excludedPortCount
        excludedPorts = geometry.excludedPortCount == 0
            ? nil : PortRangeJSON(0...UInt16(geometry.excludedPortCount - 1))
        excludedPSIDCount = geometry.excludedPSIDCount
        allocatablePSIDCount = geometry.allocatablePSIDCount
    }

    /// One fact per line.
    public var text: String {
        let excludedPortsText = excludedPorts.map { "\(excludedPortCount) (\($0.first)-\($0.last) belong to no PSID)" }
            ?? "0 (offset 0: every port belongs to a PSID)"
        return [
            "Geometry: offset a=\(geometry.offset), PSID length k=\(geometry.psidLength), contiguous bits m=\(geometry.contiguousBits)",
            "PSIDs: \(psidCount) (sharing ratio 1:\(psidCount))",
            "Ports per PSID: \(portsPerPSID) (\(rangesPerPSID) \(rangesPerPSID == 1 ? "range" : "ranges") of \(portsPerRange))",
            "Excluded ports: \(excludedPortsText)",
            "PSIDs holding system ports (0-1023), not allocatable: \(excludedPSIDCount)",
            "Allocatable PSIDs: \(allocatablePSIDCount)",
        ].joined(separator: "\n")
    }
}
