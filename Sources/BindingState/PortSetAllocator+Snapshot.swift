public import WireFormat

extension PortSetAllocator {
    /// Every lease with its port counts, ordered by external address then PSID, for the CLI.
    /// Copied shard by shard, so it is not one atomic picture of a busy allocator.
    public func snapshot() -> [PortSetLeaseSnapshot] {
        var leases: [PortSetLeaseSnapshot] = []
        for shard in shards.shards {
            shard.mutex.withLock { state in
                for entry in state.subscribers.values {
                    leases.append(PortSetLeaseSnapshot(
                        subscriber: entry.lease.subscriber, externalAddress: entry.lease.address, psid: entry.lease.psid,
                        usablePortCount: entry.usablePortCount, tcpPortsInUse: entry.tcp.inUse,
                        udpPortsInUse: entry.udp.inUse, portsHeld: entry.heldCount))
                }
            }
        }
        return leases.sorted { ($0.externalAddress, $0.psid) < ($1.externalAddress, $1.psid) }
    }

    /// Lease and port totals (summed shard by shard) and the exhaustion counters.
    public var statistics: PortSetAllocatorStatistics {
        var result = PortSetAllocatorStatistics(
            portSetCapacity: portSetCapacity, leases: 0, tcpPortsInUse: 0, udpPortsInUse: 0, portsHeld: 0,
            poolExhaustions: poolExhaustions.load(ordering: .relaxed),
            tcpPortSetExhaustions: tcpPortSetExhaustions.load(ordering: .relaxed),
            udpPortSetExhaustions: udpPortSetExhaustions.load(ordering: .relaxed))
        for shard in shards.shards {
            shard.mutex.withLock { state in
                result.leases += state.subscribers.count
                result.tcpPortsInUse += state.tcpInUse
                result.udpPortsInUse += state.udpInUse
                result.portsHeld += state.held
            }
        }
        return result
    }

    /// Per pool prefix, in `pool` order: leases held on its addresses and the port sets it can lease.
    /// Counted shard by shard, for metrics.
    public func leasesPerPool() -> [(pool: IPPrefix, leases: Int, capacity: Int)] {
        var leases = [Int](repeating: 0, count: pool.count)
        for shard in shards.shards {
            shard.mutex.withLock { state in
                for entry in state.subscribers.values {
                    if let index = pool.firstIndex(where: { $0.contains(.v4(entry.lease.address)) }) { leases[index] += 1 }
                }
            }
        }
        return pool.enumerated().map { index, prefix in
            (prefix, leases[index], Int(prefix.addressCount ?? 0) * allocatablePSIDs.count)
        }
    }
}
