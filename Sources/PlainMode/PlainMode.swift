/// PlainMode owns the bytes the draft (draft-boucadair-mptcp-plain-mode-08) puts on the MPTCP
/// stream: the Plain Mode (PM) option codec (section 4.1), the PM block at the start of a
/// connection (PM options, then EOL, section 4.2) with its validation, and the 16-bit length
/// framing that carries UDP datagrams (section 5.1). Pure Swift: no Foundation, no syscalls.
public enum PlainMode {
    /// TCP option kind shared by all MPTCP options (RFC 8684).
    public static let optionKind: UInt8 = 30
    /// Subtype the draft suggests for managed deployments; configurable per deployment.
    public static let defaultSubtype: UInt8 = 0xE
    /// The "End of Options List" byte that ends a PM block.
    public static let endOfOptions: UInt8 = 0
}
