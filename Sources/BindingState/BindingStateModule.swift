/// BindingState owns the state that the stream plane (TCP relay) and the packet plane (UDP) share:
/// which external IPv4 address and PSID port set each CPE leases (`PortSetAllocator`, paired
/// pooling per RFC 4787 / RFC 6888), which external ports are in use or held after a reset
/// (RFC 7857 section 2.1), and the relayed flows themselves (`BindingTable`), keyed both from the
/// CPE side and from the Internet side. `SubscriberDirectory` (read from the subscribers file,
/// immutable, lock-free) says which subscriber a source belongs to, by longest-prefix match over
/// the subscribers' link prefixes or else a default subscriber per source prefix, and which
/// preserved sources that subscriber may use.
///
/// Both are lock-sharded (`Mutex` per shard, never two shard locks at once) and `Sendable`.
/// No Foundation, no syscalls; time comes in as `ContinuousClock.Instant` from the caller, so
/// housekeeping is driven (and tested) from outside.
public enum BindingStateModule {}
