import Syscalls
import Testing
import WireFormat

@Suite struct SocketAddressTests {
    @Test(arguments: [
        ("198.51.100.1:5000", "198.51.100.1:5000"),
        ("[2001:db8:a::1]:5000", "[2001:db8:a::1]:5000"),
        ("[2001:DB8:0:0::1]:80", "[2001:db8::1]:80"),
        ("0.0.0.0:0", "0.0.0.0:0"),
    ])
    func parsesAndPrints(text: String, printed: String) throws {
        let address = try #require(SocketAddress(parsing: text))
        #expect(address.description == printed)
    }

    @Test(arguments: ["198.51.100.1", "198.51.100.1:65536", "2001:db8::1:80", "[2001:db8::1]", "[2001:db8::1]80", "host:80", ""])
    func refusesMalformed(text: String) {
        #expect(SocketAddress(parsing: text) == nil)
    }

    /// Through the kernel and back: bind to loopback port 0, read the bound address.
    @Test func kernelRoundTrip() throws {
        let socket = try Socket.stream(family: SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: 0).family)
        defer { socket.close() }
        try socket.bind(SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: 0))
        let bound = try socket.localAddress()
        #expect(bound.address == .v4(IPv4Address(127, 0, 0, 1)))
        #expect(bound.port != 0)
    }
}
