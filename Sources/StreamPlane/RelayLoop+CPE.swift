import PlainMode
import Syscalls
import SystemPackage
import WireFormat

/// The CPE's side of a connection: the LAN host's TCP connection arrives through TPROXY (its
/// local address is the original destination); the MPTCP leg to the concentrator opens with
/// the PM block and the LAN host's first bytes in one segment: the SYN's data by default, else
/// the first segment after the handshake.
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
        startMultipathLeg(slot, to: concentrator, block: block, synData: settings.blockInSYN, now: now)
    }

    /// Opens the MPTCP leg that starts with `block` (the CPE's outbound connections, the
    /// concentrator's inbound ones) and connects it to `peer`: the block and what the accepted side
    /// has sent so far go out as SYN data (`synData`), else in the first segment after the handshake.
    func startMultipathLeg(_ slot: Int, to peer: SocketAddress, block: PlainModeBlock, synData: Bool,
                           now: ContinuousClock.Instant) {
        // The block goes out ahead of every accepted byte; what rides in the SYN counts as sent.
        connections[slot].toUpstream.pending = block.encoded()
        guard takeFirstBytes(slot, now: now) else { return }
        connections[slot].multipathLeg = MultipathLeg(peer: peer, synData: synData)
        connectMultipathLeg(slot, now: now)
    }

    /// Opens the MPTCP socket of `slot`'s leg and connects it, with `pending` as SYN data if asked.
    private func connectMultipathLeg(_ slot: Int, now: ContinuousClock.Instant) {
        guard let leg = connections[slot].multipathLeg else { return finish(slot, .localError(.invalidArgument), now: now) }
        let peer = leg.peer
        let upstream: Socket
        do throws(Errno) {
            upstream = try Socket.stream(family: peer.family, protocolNumber: Socket.mptcp)
            do {
                try upstream.enableFastOpenClientWithoutCookie()
                try upstream.setNoDelay()
            } catch {
                upstream.close()
                throw error
            }
        } catch {
            if error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem { counters.add(.descriptorExhaustion) }
            logConnectionError("MPTCP socket for \(connections[slot].peer) failed: \(error)")
            return finish(slot, .localError(error), now: now)
        }
        connections[slot].upstream = upstream
        startConnect(slot, to: peer, synData: leg.synData ? connections[slot].toUpstream.pending : nil, now: now)
    }

    /// The leg's handshake ends in plain TCP: Linux falls back when the SYN's data was not
    /// acknowledged (the SYN was lost and resent without it, or the far end's Fast Open queue was
    /// full; FACTS.md 2), and the far end refuses plain TCP. TCP_IS_MPTCP may still say MPTCP when
    /// the connect completes, so unacknowledged SYN data counts as the fallback it leads to.
    /// Nothing but `pending` went out, so the leg is opened once more with the same bytes; a second
    /// fallback resets the accepted side. False when the leg is MPTCP and the connection goes on.
    func reopenFallenBackLeg(_ slot: Int, now: ContinuousClock.Instant) -> Bool {
        guard !multipathIsDownstream(slot), let leg = connections[slot].multipathLeg else { return false }
        let upstream = connections[slot].upstream
        let synDataLost = connections[slot].toUpstream.pendingSent > 0 && upstream.synDataAcknowledged() == false
        guard synDataLost || !upstream.isMultipath() else { return false }
        guard !leg.retried else {
            counters.add(.multipathLegFallbacks)
            logConnectionError("MPTCP leg for \(connections[slot].peer) fell back to plain TCP twice; resetting")
            finish(slot, .refused, now: now)
            return true
        }
        counters.add(.multipathLegRetries)
        connections[slot].upstream.abort()
        connections[slot].upstream = Socket(rawValue: -1)
        connections[slot].multipathLeg?.retried = true
        connections[slot].toUpstream.pendingSent = 0
        connectMultipathLeg(slot, now: now)
        return true
    }

    /// Most LAN bytes sent with the block: block and bytes fit one segment (and a SYN's data).
    static let firstBytesLimit = 1200

    /// Moves what the LAN host has sent so far (up to `firstBytesLimit` with the block) behind the
    /// block in `pending`, so that both leave in one segment instead of the bytes waiting for the
    /// block's acknowledgement. Nothing waits for bytes that are not there (server-first
    /// protocols). False when the LAN side failed (the connection is finished).
    func takeFirstBytes(_ slot: Int, now: ContinuousClock.Instant) -> Bool {
        let room = Self.firstBytesLimit - connections[slot].toUpstream.pending.count
        guard room > 0, !connections[slot].toUpstream.sourceEnded else { return true }
        let lan = connections[slot].downstream
        let received: Int?
        do throws(Errno) {
            received = try withUnsafeTemporaryAllocation(byteCount: room, alignment: 8) { (buffer) throws(Errno) -> Int? in
                guard let count = try lan.receive(into: buffer) else { return nil }
                connections[slot].toUpstream.pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                return count
            }
        } catch {
            finish(slot, .downstreamFailed(error), now: now)
            return false
        }
        if received == 0 { connections[slot].toUpstream.sourceEnded = true }
        if let received, received > 0 { counters.add(.firstBytesWithBlock, received) }
        return true
    }
}
