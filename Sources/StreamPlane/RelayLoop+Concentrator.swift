import BindingState
import PlainMode
import Syscalls
import SystemPackage
import WireFormat

/// The concentrator's side of a connection: read the PM block from the head of the MPTCP
/// stream, pick the upstream source, connect to the PM destination.
extension RelayLoop {
    /// Peeks at the stream head and feeds the new bytes to the parser; once the block is whole,
    /// reads exactly its bytes off the stream, so what follows is spliced untouched.
    func readBlock(_ slot: Int, now: ContinuousClock.Instant) {
        // One byte past the cap: the Length byte of an option that would cross it, so the
        // parser can refuse the block instead of waiting for bytes it will never peek.
        let limit = connections[slot].parser.policy.maximumBlockLength + 1
        let down = connections[slot].downstream
        let seen = connections[slot].blockBytesSeen
        let outcome: BlockRead = withUnsafeTemporaryAllocation(byteCount: max(limit, 1), alignment: 8) { buffer in
            let peeked: Int?
            do throws(Errno) { peeked = try down.receive(into: buffer, peek: true) } catch { return .failed(error) }
            guard let peeked else { return .wait }
            if peeked == 0 { return .endedEarly }
            guard peeked > seen else { return .wait }
            let fresh = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[seen..<peeked])
            let progress: PlainModeBlockParser.Progress
            do throws(PlainModeError) { progress = try connections[slot].parser.consume(fresh) } catch { return .rejected(error) }
            connections[slot].blockBytesSeen = peeked
            guard case let .complete(block, consumed) = progress else { return .wait }
            let blockLength = seen + consumed
            // The bytes were peeked, so this read returns exactly them.
            let discarded = try? down.receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<blockLength]))
            return discarded == blockLength ? .complete(block) : .failed(.ioError)
        }
        switch outcome {
        case .wait:
            return
        case .failed(let error):
            finish(slot, .downstreamFailed(error), now: now)
        case .endedEarly:
            counters.add(.blockEndedEarly)
            finish(slot, .refused, now: now)
        case .rejected(let error):
            counters.add(Self.counter(for: error))
            logConnectionError("PM block from \(connections[slot].peer) refused: \(error)")
            finish(slot, .refused, now: now)
        case .complete(let block):
            counters.add(.blockComplete)
            switch role {
            case .concentrator(let settings): connectUpstream(slot, block: block, settings: settings, now: now)
            case .cpe(let settings): connectLANHost(slot, block: block, settings: settings, now: now)
            }
        }
    }

    enum BlockRead {
        case wait
        case failed(Errno)
        case endedEarly
        case rejected(PlainModeError)
        case complete(PlainModeBlock)
    }

    static func counter(for error: PlainModeError) -> StreamCounter {
        switch error {
        case .badLength: .blockBadLength
        case .unknownSubtype: .blockUnknownSubtype
        case .unexpectedOptionKind: .blockUnexpectedKind
        case .duplicateSource: .blockDuplicateSource
        case .duplicateDestination: .blockDuplicateDestination
        case .forbiddenAddress: .blockForbiddenAddress
        case .missingDestination: .blockMissingDestination
        case .missingSource: .blockMissingSource
        case .missingDestinationPort: .blockMissingDestinationPort
        case .zeroDestinationPort: .blockZeroDestinationPort
        case .protocolNotEnabled: .blockProtocolNotEnabled
        case .protocolMismatch: .blockProtocolMismatch
        case .familyMismatch: .blockFamilyMismatch
        case .blockTooLong: .blockTooLong
        case .truncated: .blockEndedEarly
        }
    }

    static func counter(for refusal: DestinationFilter.Refusal) -> StreamCounter {
        switch refusal {
        case .ownAddress: .destinationOwnAddress
        case .listener: .destinationListener
        case .pool: .destinationPool
        case .denied: .destinationDenied
        }
    }

    /// Chooses the source, binds, records the binding and starts a non-blocking connect.
    private func connectUpstream(_ slot: Int, block: PlainModeBlock, settings: ConcentratorSettings, now: ContinuousClock.Instant) {
        guard let destination = block.destination, let port = destination.port else {
            counters.add(.blockMissingDestination)
            return finish(slot, .refused, now: now)
        }
        if let refusal = settings.destinations.refusal(of: destination.address, port: port) {
            counters.add(Self.counter(for: refusal))
            logConnectionError("PM destination \(destination.address) port \(port) from \(connections[slot].peer) refused: \(refusal)")
            return finish(slot, .refused, now: now)
        }
        if destination.protocolNumber == IPProtocolNumber.udp, let udp = settings.udp {
            return startDatagramBinding(slot, block: block, settings: settings, udp: udp, now: now)
        }
        guard destination.protocolNumber == IPProtocolNumber.tcp else {
            counters.add(.protocolNotRelayed)
            return finish(slot, .refused, now: now)
        }
        let remote = SocketAddress(destination.address, port: port)
        let cpe = connections[slot].peer.address
        let subscriber = settings.subscribers.subscriber(for: cpe)
        let pooled = remote.address.isIPv4 && !settings.preserveIPv4Source && settings.allocator != nil

        var attempts = 0
        while true {
            attempts += 1
            guard let source = chooseSource(block: block, cpe: cpe, subscriber: subscriber, remote: remote, pooled: pooled,
                                            transport: .tcp, settings: settings, now: now)
            else { return finish(slot, .refused, now: now) }
            let upstream: Socket
            do throws(Errno) { upstream = try Socket.transparentStream(boundTo: source) } catch {
                if pooled { releasePooledSource(source, subscriber: subscriber.id, holdUntil: nil) }
                if error == .addressInUse && pooled && attempts < 8 {
                    counters.add(.bindingConflicts)
                    continue  // another socket holds that port (e.g. TIME_WAIT): take the next one
                }
                if error == .tooManyOpenFiles || error == .tooManyOpenFilesInSystem { counters.add(.descriptorExhaustion) }
                logConnectionError("upstream bind to \(source) failed: \(error)")
                return finish(slot, .localError(error), now: now)
            }
            connections[slot].upstream = upstream
            connections[slot].binding = recordBinding(subscriber: subscriber.id, cpe: connections[slot].peer,
                                                      service: connections[slot].local,
                                                      external: source, remote: remote, pooled: pooled,
                                                      settings: settings, now: now)
            break
        }
        startConnect(slot, to: remote, now: now)
    }

    /// Registers the upstream socket and starts the connect; both roles. With `synData` the
    /// connect is a TCP Fast Open one carrying it (the CPE's PM block).
    func startConnect(_ slot: Int, to remote: SocketAddress, synData: [UInt8]? = nil, now: ContinuousClock.Instant) {
        let upstream = connections[slot].upstream
        counters.add(.upstreamConnects)
        do {
            try epoll.add(upstream.rawValue, events: [.readable, .writable, .readHangUp, .edgeTriggered],
                          token: Token.connection(slot: slot, generation: connections[slot].generation, upstream: true))
        } catch {
            return finish(slot, .localError(error), now: now)
        }
        connections[slot].phase = .connecting
        connections[slot].deadline = now + tuning.connectTimeout
        do {
            if let synData {
                connections[slot].toUpstream.pendingSent = try upstream.connectSendingFastOpen(to: remote, synData)
                if connections[slot].toUpstream.pendingSent > 0 { counters.add(.synDataConnections) }
            } else if try upstream.connect(to: remote) {
                finishConnect(slot, now: now)
            }
        } catch {
            connectFailed(slot, error, now: now)
        }
    }

    /// The upstream socket became writable (or failed) while connecting.
    func finishConnect(_ slot: Int, now: ContinuousClock.Instant) {
        if let error = connections[slot].upstream.pendingError() {
            // A fallen-back leg may already carry the far end's refusal (a reset) when the loop sees it.
            if error == .connectionReset, reopenFallenBackLeg(slot, now: now) { return }
            return connectFailed(slot, error, now: now)
        }
        if reopenFallenBackLeg(slot, now: now) { return }
        counters.add(.upstreamConnected)
        if connections[slot].inbound { counters.add(.inboundConnected) }
        // A block sent upstream (the CPE's, the concentrator's inbound one): what the accepted side
        // sent during the handshake joins it if it has not left yet.
        if !multipathIsDownstream(slot), connections[slot].toUpstream.pendingSent == 0, !takeFirstBytes(slot, now: now) { return }
        markEstablished(connections[slot].binding)
        startRelaying(slot, now: now)
    }

    /// A refused or unreachable destination: the downstream leg is aborted (MP_FASTCLOSE).
    func connectFailed(_ slot: Int, _ error: Errno, now: ContinuousClock.Instant) {
        switch error {
        case .connectionRefused: counters.add(.upstreamRefused)
        case .networkUnreachable, .noRouteToHost, .hostIsDown, .networkDown: counters.add(.upstreamUnreachable)
        case .timedOut: counters.add(.upstreamTimeouts)
        default: counters.add(.upstreamErrors)
        }
        if connections[slot].inbound { counters.add(.inboundConnectFailed) }
        logConnectionError("upstream connect for \(connections[slot].peer) failed: \(error)")
        finish(slot, .refused, now: now)
    }

    /// The source towards `remote`: a port of the subscriber's port set (`pooled`) or the
    /// preserved source. nil (counted and logged) when neither is allowed or free.
    func chooseSource(block: PlainModeBlock, cpe: IPAddress, subscriber: Subscriber, remote: SocketAddress, pooled: Bool,
                      transport: TransportProtocol, settings: ConcentratorSettings, now: ContinuousClock.Instant) -> SocketAddress? {
        if pooled {
            switch allocatePooledSource(subscriber: subscriber.id, transport: transport, settings: settings, now: now) {
            case .address(let address): return address
            case .refused(let counter):
                counters.add(counter)
                logConnectionError("no \(transport) port for subscriber \(subscriber.id) (CPE \(cpe)): \(counter.name)")
                return nil
            }
        }
        guard let preserved = preservedSource(block: block, cpe: cpe, subscriber: subscriber, remote: remote,
                                              settings: settings) else {
            counters.add(.sourceNotAllowed)
            logConnectionError("PM source from CPE \(cpe) is outside what it may use")
            return nil
        }
        return preserved
    }

    /// The source to bind when the source is preserved: the PM source option (its port if it
    /// has one), else the CPE's own address; only of the remote's family, and only inside a
    /// named subscriber's prefixes (links and delegated), or for a default subscriber inside the
    /// CPE's own prefix or a `--delegated-prefix` given to it.
    private func preservedSource(block: PlainModeBlock, cpe: IPAddress, subscriber: Subscriber, remote: SocketAddress,
                                 settings: ConcentratorSettings) -> SocketAddress? {
        let address = block.source?.address ?? cpe
        guard address.isIPv4 == remote.address.isIPv4 else { return nil }
        if !subscriber.isDefault {
            guard settings.subscribers.directory.mayUse(source: address, for: subscriber) else { return nil }
            return SocketAddress(address, port: block.source?.port ?? 0)
        }
        let length = address.isIPv4 ? settings.ipv4SourcePrefixLength : settings.ipv6SourcePrefixLength
        let inOwnPrefix = cpe.isIPv4 == address.isIPv4 && address.hasSamePrefix(as: cpe, length: length)
        let delegated = settings.delegations.contains { $0.cpe.contains(cpe) && $0.sources.contains(address) }
        guard inOwnPrefix || delegated else { return nil }
        return SocketAddress(address, port: block.source?.port ?? 0)
    }
}
