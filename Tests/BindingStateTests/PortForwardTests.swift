import BindingState
import Testing
import WireFormat

private func endpoint(_ address: String, _ port: UInt16) -> Endpoint { Endpoint(address: IPAddress(address)!, port: port) }

@Suite("Port forwards (--forward)")
struct PortForwardTests {
    @Test func singlePortAndRange() throws {
        let web = try PortForward(parsing: "8080/tcp=192.0.2.2:80")
        #expect(web.transport == .tcp && web.externalPorts == 8080...8080 && web.internal == endpoint("192.0.2.2", 80))
        #expect(web.description == "8080/tcp=192.0.2.2:80")
        let range = try PortForward(parsing: "8000-8009/UDP=[2001:db8::2]:9000")
        #expect(range.transport == .udp && range.externalPorts == 8000...8009)
        #expect(range.internalEndpoint(forExternalPort: 8005) == endpoint("2001:db8::2", 9005))
        #expect(range.internalEndpoint(forExternalPort: 8010) == nil)
        #expect(range.description == "8000-8009/udp=[2001:db8::2]:9000")
        #expect(try PortForward(parsing: range.description) == range)
        let top = try PortForward(parsing: "1000-1535/tcp=192.0.2.2:65000")
        #expect(top.internalEndpoint(forExternalPort: 1535) == endpoint("192.0.2.2", 65535))
    }

    @Test(arguments: [
        ("8080", PortForwardError.notAForward("8080")),
        ("8080/tcp=192.0.2.2:80=1", .notAForward("8080/tcp=192.0.2.2:80=1")),
        ("8080=192.0.2.2:80", .missingProtocol("8080=192.0.2.2:80")),
        ("8080/sctp=192.0.2.2:80", .unknownProtocol("sctp")),
        ("http/tcp=192.0.2.2:80", .badExternalPorts("http")),
        ("9000-8000/tcp=192.0.2.2:80", .badExternalPorts("9000-8000")),
        ("70000/tcp=192.0.2.2:80", .badExternalPorts("70000")),
        ("8080/tcp=192.0.2.2", .badInternalEndpoint("192.0.2.2")),
        ("8080/tcp=2001:db8::2:80", .badInternalEndpoint("2001:db8::2:80")),
        ("8080/tcp=[2001:db8::2]80", .badInternalEndpoint("[2001:db8::2]80")),
        ("8080/tcp=lanhost:80", .badInternalEndpoint("lanhost:80")),
        ("8080/tcp=192.0.2.2:http", .badInternalEndpoint("192.0.2.2:http")),
        ("0/tcp=192.0.2.2:80", .zeroPort),
        ("8080/tcp=192.0.2.2:0", .zeroPort),
        ("1000-1536/tcp=192.0.2.2:65000", .internalPortsPastEnd(first: 65000, count: 537)),
    ])
    func refusals(text: String, error: PortForwardError) {
        #expect(throws: error) { try PortForward(parsing: text) }
        #expect(!error.description.isEmpty)
    }

    @Test func tableRoutesByProtocolAndPort() throws {
        let web = try PortForward(parsing: "8080/tcp=192.0.2.2:80")
        let voice = try PortForward(parsing: "8080-8081/udp=192.0.2.3:5060")
        let table = try PortForwardTable([web, voice])
        #expect(table.route(.tcp, externalPort: 8080) == endpoint("192.0.2.2", 80))
        #expect(table.route(.udp, externalPort: 8081) == endpoint("192.0.2.3", 5061))
        #expect(table.route(.tcp, externalPort: 8081) == nil)
        #expect(table.forwards == [web, voice])
        try table.add(web)  // the same forward again changes nothing
        #expect(table.forwards.count == 2)
    }

    @Test func overlapIsRefusedAndKeepsTheTable() throws {
        let table = try PortForwardTable([PortForward(parsing: "8000-8009/tcp=192.0.2.2:8000")])
        let other = try PortForward(parsing: "8009/tcp=192.0.2.9:80")
        #expect(throws: PortForwardError.overlaps(other, existing: try PortForward(parsing: "8000-8009/tcp=192.0.2.2:8000"))) {
            try table.add(other)
        }
        #expect(table.route(.tcp, externalPort: 8009) == endpoint("192.0.2.2", 8009))
        #expect(table.forwards.count == 1)
    }

    /// A PCP answer's forward replaced: remove the old one, add the new one.
    @Test func removeFreesThePorts() throws {
        let old = try PortForward(parsing: "40000/tcp=192.0.2.2:22")
        let table = try PortForwardTable([old])
        #expect(table.remove(old))
        #expect(!table.remove(old))
        #expect(table.isEmpty && table.route(.tcp, externalPort: 40000) == nil)
        try table.add(PortForward(parsing: "40000/tcp=192.0.2.3:22"))
        #expect(table.route(.tcp, externalPort: 40000) == endpoint("192.0.2.3", 22))
    }
}
