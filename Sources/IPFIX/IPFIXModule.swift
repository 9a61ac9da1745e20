/// IPFIX owns the bytes of plainmode's NAT event log: IPFIX messages (RFC 7011) carrying the NAT
/// events of RFC 8158 (port block allocation and de-allocation, address and port exhaustion,
/// quota exceeded, session create and delete) under fixed templates, and the split of a PSID port
/// set into the contiguous port blocks those events describe.
///
/// Everything is a value type that builds `[UInt8]`; no Foundation, no syscalls. Sending the
/// messages (UDP, the template timer) is the exporter's job (`ExportLog`).
public enum IPFIXModule {}
