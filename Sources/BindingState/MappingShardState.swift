/// The mappings of one `MappingTable` shard, bucketed by lease (pool address, PSID). A bucket
/// holds one subscriber's few mappings (at most its quota), so it is searched linearly.
struct MappingShardState: Sendable {
    var buckets: [MappingLeaseKey: [PortMapping]] = [:]
    var count = 0

    /// Whether two mappings are the same one: same subscriber, protocol, address and first port.
    static func sameIdentity(_ a: PortMapping, _ b: PortMapping) -> Bool {
        a.externalPorts.lowerBound == b.externalPorts.lowerBound && a.transport == b.transport
            && a.externalAddress == b.externalAddress && a.subscriber == b.subscriber
    }

    mutating func insert(_ mapping: PortMapping, key: MappingLeaseKey) {
        buckets[key, default: []].append(mapping)
        count += 1
    }

    mutating func replace(_ mapping: PortMapping, key: MappingLeaseKey) -> Bool {
        guard let index = buckets[key]?.firstIndex(where: { Self.sameIdentity($0, mapping) }) else { return false }
        buckets[key]![index] = mapping
        return true
    }

    mutating func remove(_ mapping: PortMapping, key: MappingLeaseKey) -> PortMapping? {
        guard let index = buckets[key]?.firstIndex(where: { Self.sameIdentity($0, mapping) }) else { return nil }
        let removed = buckets[key]!.remove(at: index)
        if buckets[key]!.isEmpty { buckets[key] = nil }
        count -= 1
        return removed
    }

    mutating func removeExpired(nowMilliseconds: Int64) -> [PortMapping] {
        var expired: [PortMapping] = []
        for key in Array(buckets.keys) {
            let bucket = buckets[key]!
            guard bucket.contains(where: { $0.expires <= nowMilliseconds }) else { continue }
            expired += bucket.filter { $0.expires <= nowMilliseconds }
            let kept = bucket.filter { $0.expires > nowMilliseconds }
            buckets[key] = kept.isEmpty ? nil : kept
        }
        count -= expired.count
        return expired
    }
}
