import Testing
import PlainMode
import WireFormat
import TestSupport

/// The concentrator's inbound block (draft 4.4.2): the Internet host 203.0.113.9:40000 as the
/// source (D=1), the mapped 192.0.2.130:8080 as the destination (D=0), TCP, then EOL.
private let inboundBlock = hexBytes("1E 0A E8 06 CB 00 71 09 9C 40  1E 0A E0 06 C0 00 02 82 1F 90  00")

@Suite struct InboundBlockTests {
    @Test func concentratorBlockBytes() {
        let block = PlainModeBlock.inbound(remote: IPAddress("203.0.113.9")!, remotePort: 40000,
                                           external: IPAddress("192.0.2.130")!, externalPort: 8080,
                                           protocolNumber: IPProtocolNumber.tcp)
        #expect(block.encoded() == inboundBlock)
    }

    @Test func inboundPolicyTakesTheBlockAndItsData() throws {
        let (block, length) = try PlainModeBlock.parse(inboundBlock + Array("GET /".utf8), policy: .inbound())
        #expect(length == inboundBlock.count)
        #expect(block.source?.address == IPAddress("203.0.113.9") && block.source?.port == 40000)
        #expect(block.destination?.address == IPAddress("192.0.2.130") && block.destination?.port == 8080)
    }

    /// An outbound-style block (destination only) names nobody for the LAN host to see.
    @Test func inboundPolicyRequiresTheSource() {
        #expect(throws: PlainModeError.missingSource) {
            try PlainModeBlock.parse(Array(inboundBlock[10...]), policy: .inbound())
        }
        // The outbound policy takes it.
        #expect((try? PlainModeBlock.parse(Array(inboundBlock[10...]))) != nil)
    }

    /// UDP is not relayed inbound yet: refused at the option, before any forward is looked up.
    @Test func inboundPolicyEnablesTCPOnly() {
        let udp = PlainModeBlock.inbound(remote: IPAddress("203.0.113.9")!, remotePort: 40000,
                                         external: IPAddress("192.0.2.130")!, externalPort: 5060,
                                         protocolNumber: IPProtocolNumber.udp).encoded()
        #expect(throws: PlainModeError.protocolNotEnabled(17)) { try PlainModeBlock.parse(udp, policy: .inbound()) }
        let later = PlainModePolicy.inbound(enabledProtocols: [IPProtocolNumber.tcp, IPProtocolNumber.udp])
        #expect((try? PlainModeBlock.parse(udp, policy: later)) != nil)
    }

    @Test func inboundPolicyKeepsTheSubtypeAndCap() {
        let policy = PlainModePolicy.inbound(subtype: 0x3, maximumBlockLength: 30)
        #expect(policy.subtype == 0x3 && policy.maximumBlockLength == 30 && policy.requiresSource && policy.requiresDestination)
        #expect(throws: PlainModeError.unknownSubtype(0xE)) { try PlainModeBlock.parse(inboundBlock, policy: policy) }
    }
}
