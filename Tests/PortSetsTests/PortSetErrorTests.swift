import PortSets
import Testing

@Suite("PortSetError: one rejection per case")
struct PortSetErrorTests {
    @Test("offset 16 is rejected as offsetOutOfRange, 15 is accepted")
    func offsetOutOfRange() throws {
        #expect(throws: PortSetError.offsetOutOfRange(offset: 16)) { try PSIDGeometry(offset: 16, psidLength: 0) }
        #expect(throws: PortSetError.offsetOutOfRange(offset: -1)) { try PSIDGeometry(offset: -1, psidLength: 0) }
        #expect(throws: PortSetError.offsetOutOfRange(offset: 16)) {
            try PortParamsOption.decode([0x9F, 0x04, 0x10, 0x00, 0x00, 0x00])
        }
        _ = try PSIDGeometry(offset: 15, psidLength: 1)
    }

    @Test("PSID length 17 is rejected as psidLengthOutOfRange")
    func psidLengthOutOfRange() {
        #expect(throws: PortSetError.psidLengthOutOfRange(psidLength: 17)) { try PSIDGeometry(offset: 0, psidLength: 17) }
        #expect(throws: PortSetError.psidLengthOutOfRange(psidLength: -1)) { try PSIDGeometry(offset: 0, psidLength: -1) }
        #expect(throws: PortSetError.psidLengthOutOfRange(psidLength: 17)) {
            try PortParamsOption.decode([0x9F, 0x04, 0x00, 0x11, 0x00, 0x00])
        }
    }

    @Test("a + k > 16 is rejected as geometryTooWide, a + k == 16 is accepted")
    func geometryTooWide() throws {
        #expect(throws: PortSetError.geometryTooWide(offset: 6, psidLength: 11)) { try PSIDGeometry(offset: 6, psidLength: 11) }
        #expect(throws: PortSetError.geometryTooWide(offset: 6, psidLength: 11)) {
            try PortParamsOption.decode([0x9F, 0x04, 0x06, 0x0B, 0x00, 0x00])
        }
        _ = try PSIDGeometry(offset: 6, psidLength: 10)
    }

    @Test("a PSID that does not fit in k bits is rejected as psidOutOfRange, including any PSID with k = 0")
    func psidOutOfRange() throws {
        let geometry = try PSIDGeometry(offset: 6, psidLength: 6)
        #expect(throws: PortSetError.psidOutOfRange(psid: 64, psidLength: 6)) { try geometry.ranges(of: 64) }
        #expect(throws: PortSetError.psidOutOfRange(psid: 64, psidLength: 6)) { try PSIDPortSet(geometry: geometry, psid: 64) }
        #expect(throws: PortSetError.psidOutOfRange(psid: -1, psidLength: 6)) { try PSIDPortSet(geometry: geometry, psid: -1) }
        #expect(throws: PortSetError.psidOutOfRange(psid: 1, psidLength: 0)) { try PSIDPortSet(offset: 0, psidLength: 0, psid: 1) }
        _ = try PSIDPortSet(geometry: geometry, psid: 63)
    }

    @Test("a code other than 159 is rejected as unexpectedOptionCode")
    func unexpectedOptionCode() {
        #expect(throws: PortSetError.unexpectedOptionCode(code: 0x9E)) {
            try PortParamsOption.decode([0x9E, 0x04, 0x06, 0x06, 0xD0, 0x00])
        }
    }

    @Test("a length other than 4 is rejected as badOptionLength, even when enough bytes follow")
    func badOptionLength() {
        #expect(throws: PortSetError.badOptionLength(length: 5)) {
            try PortParamsOption.decode([0x9F, 0x05, 0x06, 0x06, 0xD0, 0x00, 0x00])
        }
        #expect(throws: PortSetError.badOptionLength(length: 3)) {
            try PortParamsOption.decode([0x9F, 0x03, 0x06, 0x06, 0xD0])
        }
    }

    @Test("input shorter than the option is rejected as truncated, at every cut")
    func truncated() throws {
        let whole: [UInt8] = [0x9F, 0x04, 0x06, 0x06, 0xD0, 0x00]
        for cut in 0..<whole.count {
            #expect(throws: PortSetError.truncated(needed: 6, available: cut)) {
                try PortParamsOption.decode(Array(whole.prefix(cut)))
            }
        }
        #expect(throws: PortSetError.truncated(needed: 4, available: 3)) {
            try [UInt8]([0x06, 0x06, 0xD0]).withUnsafeBytes { try PortParamsOption.decode(body: $0) }
        }
    }

    @Test("bits after the first k of the PSID field are rejected as nonZeroPSIDPadding")
    func nonZeroPSIDPadding() {
        // k = 6: the PSID is the top 6 bits, so 0xD001 has a stray bit 0.
        #expect(throws: PortSetError.nonZeroPSIDPadding(field: 0xD001, psidLength: 6)) {
            try PortParamsOption.decode([0x9F, 0x04, 0x06, 0x06, 0xD0, 0x01])
        }
        // k = 8: 0x3480 has a stray bit just below the PSID.
        #expect(throws: PortSetError.nonZeroPSIDPadding(field: 0x3480, psidLength: 8)) {
            try PortParamsOption.decode([0x9F, 0x04, 0x00, 0x08, 0x34, 0x80])
        }
    }

    @Test("an output buffer under six bytes is rejected as outputBufferTooSmall")
    func outputBufferTooSmall() throws {
        let option = PortParamsOption(try PSIDPortSet(offset: 6, psidLength: 6, psid: 0x34))
        var storage = [UInt8](repeating: 0, count: 5)
        #expect(throws: PortSetError.outputBufferTooSmall(needed: 6, available: 5)) {
            try storage.withUnsafeMutableBytes { try option.encode(into: $0) }
        }
        #expect(throws: PortSetError.outputBufferTooSmall(needed: 4, available: 3)) {
            try storage.withUnsafeMutableBytes { try option.encodeBody(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<3])) }
        }
        #expect(storage == [0, 0, 0, 0, 0])
    }

    @Test("a zero-sized port range is rejected as emptyPortRange")
    func emptyPortRange() {
        #expect(throws: PortSetError.emptyPortRange(firstPort: 5000)) { try PortRange(firstPort: 5000, count: 0) }
        #expect(throws: PortSetError.emptyPortRange(firstPort: 5000)) { try PortRange(firstPort: 5000, count: -3) }
    }

    @Test("a port range running past 65535 is rejected as portRangeWraps")
    func portRangeWraps() throws {
        #expect(throws: PortSetError.portRangeWraps(firstPort: 65535, count: 2)) { try PortRange(firstPort: 65535, count: 2) }
        #expect(throws: PortSetError.portRangeWraps(firstPort: 0, count: 65537)) { try PortRange(firstPort: 0, count: 65537) }
        _ = try PortRange(firstPort: 65535, count: 1)
    }

    @Test("a port range whose last port is below its first is rejected as portRangeReversed")
    func portRangeReversed() throws {
        #expect(throws: PortSetError.portRangeReversed(firstPort: 2000, lastPort: 1999)) {
            try PortRange(firstPort: 2000, lastPort: 1999)
        }
        _ = try PortRange(firstPort: 2000, lastPort: 2000)
    }

    @Test("every description names a fix and is distinct")
    func descriptions() {
        let errors: [PortSetError] = [
            .offsetOutOfRange(offset: 16), .psidLengthOutOfRange(psidLength: 17),
            .geometryTooWide(offset: 6, psidLength: 11), .psidOutOfRange(psid: 64, psidLength: 6),
            .unexpectedOptionCode(code: 1), .badOptionLength(length: 5), .truncated(needed: 6, available: 2),
            .nonZeroPSIDPadding(field: 0xD001, psidLength: 6), .outputBufferTooSmall(needed: 6, available: 5),
            .emptyPortRange(firstPort: 1), .portRangeWraps(firstPort: 65535, count: 2),
            .portRangeReversed(firstPort: 2, lastPort: 1),
        ]
        let fixWords = ["use", "lower", "must", "pass", "give", "encode"]
        for error in errors {
            let text = error.description
            #expect(fixWords.contains { text.contains($0) }, "\(text)")
        }
        #expect(Set(errors.map(\.description)).count == errors.count)
        #expect(PortSetError.psidOutOfRange(psid: 64, psidLength: 6).description.contains("between 0 and 63"))
        #expect(PortSetError.nonZeroPSIDPadding(field: 0x0D01, psidLength: 6).description.contains("0x0d01"))
        #expect(PortSetError.portRangeWraps(firstPort: 65000, count: 600).description.contains("a count of at most 536"))
    }
}
