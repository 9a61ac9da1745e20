public import WireFormat

extension PlainModePolicy {
    /// What the CPE accepts on an inbound connection (draft 4.4.2): the concentrator names the
    /// Internet host in a source option (D=1), which the CPE connects from, and the mapped
    /// external endpoint in the destination option, whose port selects the forward. The source
    /// is required: without it the LAN host could not see who connects. Only the protocols
    /// enabled here are relayed (the CPE enables TCP and UDP).
    @inlinable
    public static func inbound(subtype: UInt8 = PlainMode.defaultSubtype,
                               enabledProtocols: ProtocolSet = [IPProtocolNumber.tcp],
                               maximumBlockLength: Int = PlainModePolicy.longestLegalBlock) -> PlainModePolicy {
        PlainModePolicy(subtype: subtype, enabledProtocols: enabledProtocols, requiresDestination: true,
                        requiresSource: true, maximumBlockLength: maximumBlockLength)
    }
}
