import BindingState
import Syscalls
import WireFormat

/// Where the relay meets the shared state: port-set leases and the binding table.
extension RelayLoop {
    enum SourceChoice {
        case address(SocketAddress)
        case refused(StreamCounter)
    }

    /// A free (pool address, port) from the subscriber's port set.
    func allocatePooledSource(subscriber: SubscriberID, transport: TransportProtocol = .tcp, settings: ConcentratorSettings,
                              now: ContinuousClock.Instant) -> SourceChoice {
        guard let allocator = settings.allocator else { return .refused(.poolExhausted) }
        do {
            let endpoint = try allocator.allocatePort(for: subscriber, protocol: transport, now: now)
            return .address(SocketAddress(endpoint.address, port: endpoint.port))
        } catch {
            return .refused(Self.counter(for: error))
        }
    }

    static func counter(for error: AllocationError) -> StreamCounter {
        switch error {
        case .poolExhausted: .poolExhausted
        case .portSetExhausted: .portSetExhausted
        }
    }

    func releasePooledSource(_ source: SocketAddress, subscriber: SubscriberID, transport: TransportProtocol = .tcp,
                             holdUntil: ContinuousClock.Instant?) {
        guard case .concentrator(let settings) = role else { return }
        settings.allocator?.releasePort(Endpoint(address: source.address, port: source.port), protocol: transport,
                                       subscriber: subscriber, holdUntil: holdUntil)
    }

    func recordBinding(subscriber: SubscriberID, cpe: SocketAddress, service: SocketAddress, external: SocketAddress, remote: SocketAddress,
                       pooled: Bool, transport: TransportProtocol = .tcp, settings: ConcentratorSettings,
                       now: ContinuousClock.Instant) -> BindingHandle? {
        let binding = Binding(
            protocol: transport,
            cpe: Endpoint(address: cpe.address, port: cpe.port),
            service: Endpoint(address: service.address, port: service.port),
            external: Endpoint(address: external.address, port: external.port),
            remote: Endpoint(address: remote.address, port: remote.port),
            created: now
        )
        var session: SessionEvent?
        if let sessions = settings.sessions {
            let created = SessionEvent(.created, transport: transport, subscriber: subscriber, cpe: binding.cpe,
                                       external: binding.external, remote: binding.remote)
            sessions.record(created)
            session = created
        }
        do {
            let stored = try settings.bindings.insert(binding)
            return BindingHandle(id: stored.id, subscriber: subscriber, transport: transport, session: session,
                                 pooledSource: pooled ? external : nil)
        } catch {
            // A duplicate key means the table already tracks this flow; the relay still works.
            counters.add(.bindingConflicts)
            return BindingHandle(id: 0, subscriber: subscriber, transport: transport, session: session,
                                 pooledSource: pooled ? external : nil)
        }
    }

    func markEstablished(_ handle: BindingHandle?) {
        guard let handle, handle.id != 0, case .concentrator(let settings) = role else { return }
        _ = settings.bindings.update(id: handle.id) { $0.state = .established }
    }

    /// Drops the binding; after an RST its port stays held (RFC 7857 section 2.1).
    func releaseBinding(_ handle: BindingHandle, hold: Bool, now: ContinuousClock.Instant) {
        guard case .concentrator(let settings) = role else { return }
        let until = hold ? now + tuning.resetHold : nil
        if handle.id != 0 {
            if let until {
                _ = settings.bindings.update(id: handle.id) { $0.state = .closing(until: until) }
            } else {
                _ = settings.bindings.remove(id: handle.id)
            }
        }
        if let source = handle.pooledSource {
            if let key = handle.mapping {
                releaseMappedSource(source, key: key, holdUntil: until)
            } else {
                releasePooledSource(source, subscriber: handle.subscriber, transport: handle.transport, holdUntil: until)
            }
        }
        if var session = handle.session {
            session.kind = .deleted
            settings.sessions?.record(session)
        }
    }

    /// Loop 0 only: expired holds and leases, closing bindings whose time has come.
    func expireState(now: ContinuousClock.Instant) {
        guard case .concentrator(let settings) = role else { return }
        settings.allocator?.expire(now: now)
        _ = settings.bindings.expired(now: now)
    }
}
