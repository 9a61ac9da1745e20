import PlainMode
import Syscalls
import SystemPackage
import WireFormat

/// The CPE's side of a connection: the LAN host's TCP connection arrives through TPROXY (its
/// local address is the original destination); the MPTCP leg to the concentrator opens with
/// the PM block as SYN data.
extension RelayLoop {
    func startCPEConnection(_ slot: Int, settings: CPESettings, now: ContinuousClock.Instant) {
        let destination = connections[slot].local
        let lanHost = connections[slot].peer
        let sameFamily = destination.address.isIPv4 ? settings.concentratorIPv4 : settings.concentratorIPv6
        guard let concentrator = sameFamily ?? settings.concentratorIPv4 ?? settings.concentratorIPv6 else {
            counters.add(.noConcentratorForFamily)
            return finish(slot, .refused, now: now)
        }
        let includeSource = switch settings.sourceOption {
        case .auto: !destination.address.isIPv4
        case .always: true
        case .never: false
        }
        let block = PlainModeBlock(
            source: includeSource
                ? PlainModeOption(direction: .source, protocolNumber: IPProtocolNumber.tcp, address: lanHost.address,
                                  port: lanHost.port, subtype: settings.subtype)
                : nil,
            destination: PlainModeOption(direction: .destination, protocolNumber: IPProtocolNumber.tcp,
                                         address: destination.address, port: destination.port, subtype: settings.subtype)
        )
        let blockBytes = block.encoded()
        let upstream: Socket
        do throws(Errno) {
            upstream = try Socket.stream(family: concentrator.family, protocolNumber: Socket.mptcp)
            do { try upstream.enableFastOpenClientWithoutCookie() } catch {
                upstream.close()
                throw error
            }
        } catch {
            if error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem { counters.add(.descriptorExhaustion) }
            logConnectionError("MPTCP socket for \(lanHost) failed: \(error)")
            return finish(slot, .localError(error), now: now)
        }
        connections[slot].upstream = upstream
        // The block goes out ahead of every LAN byte; what rides in the SYN counts as sent.
        connections[slot].toUpstream.pending = blockBytes
        startConnect(slot, to: concentrator, synData: settings.blockInSYN ? blockBytes : nil, now: now)
    }
}
