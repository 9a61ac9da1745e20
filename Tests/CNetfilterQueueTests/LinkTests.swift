import CNetfilterQueue
import Glibc
import Testing

/// The packet plane's C surface compiles, links and works: shim wrappers for the macros, a
/// netlink socket from libmnl, and a queue-config message built by libnetfilter_queue.
@Suite struct LinkTests {
    @Test func shimMacrosMatchTheHeaders() {
        // libmnl defines it as the page size, capped at 8 KiB.
        #expect(plainmode_mnl_socket_buffer_size() == min(Int(sysconf(Int32(_SC_PAGESIZE))), 8192))
        #expect(plainmode_mnl_nlmsg_hdrlen() == MemoryLayout<nlmsghdr>.size)
    }

    @Test func netfilterNetlinkSocketOpensAndBinds() throws {
        let socket = try #require(mnl_socket_open(NETLINK_NETFILTER))
        defer { mnl_socket_close(socket) }
        #expect(mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0)
        #expect(mnl_socket_get_portid(socket) != 0)
    }

    @Test func queueConfigMessageIsBuilt() {
        var buffer = [UInt8](repeating: 0, count: Int(plainmode_mnl_socket_buffer_size()))
        let length = buffer.withUnsafeMutableBytes { raw -> UInt32 in
            guard let header = nfq_nlmsg_put(raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                                             Int32(NFQNL_MSG_CONFIG.rawValue), 7) else { return 0 }
            nfq_nlmsg_cfg_put_cmd(header, UInt16(AF_INET), UInt8(NFQNL_CFG_CMD_BIND.rawValue))
            return header.pointee.nlmsg_len
        }
        // Netlink header + nfgenmsg + one NFQA_CFG_CMD attribute.
        #expect(length > UInt32(plainmode_mnl_nlmsg_hdrlen()))
    }
}
