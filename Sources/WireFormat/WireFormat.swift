/// WireFormat owns the byte layouts below Plain Mode: IP addresses, IPv4 and IPv6 headers (with
/// the extension-header walk), TCP (with the options walk), UDP, and Internet checksums
/// (RFC 1071 full sums, RFC 1624 incremental updates, the draft's section 7.2 UDP<->TCP transfer).
///
/// Parsers read raw buffers in place and return plain values (decoded fields and byte offsets),
/// never pointers, so nothing outlives the buffer. No Foundation, no syscalls, no allocation.
public enum WireFormat {}
