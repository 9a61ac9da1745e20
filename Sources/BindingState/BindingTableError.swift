/// Why a `BindingTable` cannot be built or a binding cannot be inserted.
public enum BindingTableError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The shard count is not a power of two in 1...1024.
    case invalidShardCount(Int)
    /// A binding with this CPE-side key exists already (its id is `existingID`).
    case duplicateCPESideKey(FlowKey, existingID: UInt64)
    /// A binding already joins this external endpoint to the same remote for this protocol (its id is `existingID`).
    case duplicateExternalKey(Endpoint, TransportProtocol, existingID: UInt64)

    /// What was wrong and what to do instead.
    public var description: String {
        switch self {
        case .invalidShardCount(let count):
            "shard count \(count) is not a power of two between 1 and 1024: use 1, 2, 4, ... or 1024 (16 is the default)."
        case let .duplicateCPESideKey(key, id):
            "a binding for \(key) exists already (id \(id)): look it up with binding(cpeSide:), "
                + "or remove it before inserting a new one."
        case let .duplicateExternalKey(endpoint, transport, id):
            "external \(transport) \(endpoint) is already used towards the same remote by binding \(id): take a fresh port "
                + "from PortSetAllocator.allocatePort (or one endpoint-independent mapping per remote), and release it only after removing its binding."
        }
    }
}
