import WireFormat

extension MappingTable {
    /// The route of an inbound flow from `remote` to the pool endpoint `external`: the mapping
    /// covering that port, if its FILTERs admit the remote (RFC 6887 section 13.3: a FILTER is a
    /// firewall instruction, so a refused remote gets no route at all). One shard lock, no allocation.
    public func inboundRoute(_ transport: TransportProtocol, to external: Endpoint, from remote: Endpoint) -> InboundRoute? {
        guard case .v4(let address) = external.address, let psid = allocator.geometry.psid(ofPort: external.port) else { return nil }
        let key = key(address: address, psid: psid)
        return shards.shard(for: key).mutex.withLock { state -> InboundRoute? in
            guard let bucket = state.buckets[key],
                  let mapping = bucket.first(where: { $0.transport == transport && $0.externalPorts.contains(external.port) }),
                  mapping.admits(remote),
                  let target = mapping.internalEndpoint(forExternalPort: external.port)
            else { return nil }
            return InboundRoute(subscriber: mapping.subscriber, cpeAddress: mapping.cpeAddress, external: external, internal: target)
        }
    }
}
