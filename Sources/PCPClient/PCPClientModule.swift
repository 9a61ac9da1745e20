/// The CPE's PCP client towards the concentrator (RFC 6887 section 8 and 11, PORT_SET RFC 7753):
/// `PCPClient` keeps the mappings the CPE wants (its static forwards and the LAN hosts' requests
/// it proxies), sends requests with RFC 6887 s8.1.1 retransmission, renews at a random time in
/// the first half-to-five-eighths of each lifetime (s11.2.1), checks the server's epoch (s8.5) and
/// maps everything again when the server lost its state. Pure logic: time and randomness come in
/// from the caller, bytes go out as values; the CPE's PCP thread does the I/O.
public enum PCPClientModule {}
