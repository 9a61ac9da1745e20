/// PCPServer answers PCP requests (RFC 6887 MAP and ANNOUNCE, with RFC 7753 PORT_SET) for the
/// concentrator: bytes in, with the datagram's source, the requester's subscriber and the time;
/// response bytes out, or a silent drop. Mappings live in BindingState's `MappingTable`, their
/// ports in the subscriber's own lease. Pure logic: no syscalls, no Foundation; the daemon owns
/// the socket, the clock and the thread (`plainmode concentrator --pcp-listen`).
public enum PCPServerModule {}
