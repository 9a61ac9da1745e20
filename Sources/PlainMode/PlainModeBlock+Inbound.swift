public import WireFormat

extension PlainModeBlock {
    /// The block the concentrator opens an inbound connection with (draft 4.4.2): the remote
    /// as the source (D=1, with its port), the mapped external address and port as the
    /// destination (D=0), both with `protocolNumber`.
    @inlinable
    public static func inbound(remote: IPAddress, remotePort: UInt16, external: IPAddress, externalPort: UInt16,
                               protocolNumber: UInt8, subtype: UInt8 = PlainMode.defaultSubtype) -> PlainModeBlock {
        PlainModeBlock(
            source: PlainModeOption(direction: .source, protocolNumber: protocolNumber, address: remote, port: remotePort,
                                    subtype: subtype),
            destination: PlainModeOption(direction: .destination, protocolNumber: protocolNumber, address: external,
                                         port: externalPort, subtype: subtype))
    }
}
