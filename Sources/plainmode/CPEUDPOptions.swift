import ArgumentParser
import UDPRelay
import Logging
import NetfilterQueue
import PacketPlane
import Syscalls
import WireFormat

/// The CPE's UDP flags (bonded LAN UDP, queued by cpe-net.sh --udp) and its start-up.
struct CPEUDPOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo,
          help: "Bond LAN UDP: each flow (LAN host and remote) becomes one MPTCP connection of length-framed records (needs the NFQUEUE rules of cpe-net.sh --udp).")
    var udp = true

    @OptionGroup var queueOptions: QueueOptions

    @Option(name: .customLong("udp-destination"), help: "Bond only UDP to this prefix (repeatable; default: every destination).")
    var destinations: [String] = []

    @Option(name: .customLong("udp-port"), help: "Bond only UDP to this destination port, PORT or FIRST-LAST (repeatable; default: every port).")
    var ports: [String] = []

    @Option(help: "Path MTU towards the concentrator: a datagram whose record (TCP header and options, 2-byte length) would not fit is not bonded and takes the ordinary route (draft 5.3, fragmentation disabled).")
    var udpPathMtu = 1500

    @Flag(inversion: .prefixedNo,
          help: "Open each UDP flow with its PM block and first datagram as SYN data (draft 5.1), so the first datagram reaches the remote one access round trip sooner. --no-udp-syn-data sends them after the handshake. A concentrator on Linux 6.18 needs its SYN gate's window rewrite for SYN data (see README).")
    var udpSynData = true

    @Flag(inversion: .prefixedNo,
          help: "Deliver records to the LAN host through a UDP socket per flow, bound to the remote's address and port (IP_TRANSPARENT), so a read's worth of equal-size datagrams is one send the kernel segments (UDP GSO). With --no-udp-segmentation each datagram is built in place and sent through a raw socket.")
    var udpSegmentation = true

    @OptionGroup var udpFlows: UDPFlowOptions

    func validate() throws {
        guard (576...65535).contains(udpPathMtu) else { throw ValidationError("--udp-path-mtu must be 576...65535") }
        _ = try destinationPrefixes()
        _ = try portRanges()
    }

    func destinationPrefixes() throws -> [IPPrefix] {
        try destinations.map { text in
            do { return try IPPrefix(text) } catch { throw ValidationError("--udp-destination \(text): \(error)") }
        }
    }

    func portRanges() throws -> [ClosedRange<UInt16>] {
        try ports.map { text in
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let first = UInt16(parts[0]), let last = UInt16(parts.last!), first <= last else {
                throw ValidationError("--udp-port \(text): expected PORT or FIRST-LAST with FIRST <= LAST")
            }
            return first...last
        }
    }

    /// Binds the queues and starts the workers; nil with --no-udp.
    func startService(concentratorIPv4: SocketAddress?, concentratorIPv6: SocketAddress?, sourceIPv4: Bool,
                      sourceIPv6: Bool, subtype: UInt8, lanEndpoints: UDPLANEndpoints? = nil,
                      logger: Logger) throws -> CPEDatagramService? {
        guard udp else { return nil }
        var settings = CPEUDPSettings(
            concentratorIPv4: concentratorIPv4, concentratorIPv6: concentratorIPv6, includeSourceIPv4: sourceIPv4,
            includeSourceIPv6: sourceIPv6, subtype: subtype, destinations: try destinationPrefixes(),
            ports: try portRanges(), pathMTU: udpPathMtu, synData: udpSynData,
            idleTimeout: udpFlows.idleTimeout, backlogLimit: udpFlows.udpBacklog,
            connectionTuning: udpFlows.connectionTuning, segmentation: udpSegmentation)
        settings.lanEndpoints = lanEndpoints
        var template = queueOptions.template()
        // A UDP GSO super-packet (a LAN sender's UDP_SEGMENT) holds several datagrams and NFQUEUE
        // does not say where they split: the kernel segments before queueing.
        template.gso = false
        let queues = try queueOptions.range()
        let service: CPEDatagramService
        do {
            service = try CPEDatagramService(settings: settings, queues: queues, template: template, logger: logger)
        } catch {
            throw StartupRefusal("UDP: \(error) (or run without UDP bonding: --no-udp)")
        }
        service.start()
        logger.notice("UDP bonding on NFQUEUE \(queues.lowerBound):\(queues.upperBound)")
        return service
    }
}
