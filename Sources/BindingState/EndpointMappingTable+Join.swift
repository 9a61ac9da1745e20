extension EndpointMappingTable {
    /// One more user of the key's mapping, only if it still has `external` (an inbound binding of
    /// a new remote under endpoint-independent filtering joins the mapping it was admitted by,
    /// never a newer one); false when it ended or changed meanwhile.
    public func join(_ key: EndpointMappingKey, external: Endpoint) -> Bool {
        shards.shard(for: key).mutex.withLock { mappings in
            guard let index = mappings.index(forKey: key), mappings.values[index].external == external else { return false }
            mappings.values[index].users += 1
            return true
        }
    }
}
