public import SystemPackage

/// Why a queue could not be opened or configured; each message names the fix.
public enum NetfilterQueueError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case open(Errno)
    case socketOption(String, Errno)
    /// The kernel answered a bind or configure request with an error.
    case request(String, Errno)
    /// EPERM on bind: another process (or another socket) already holds this queue.
    case queueOwned(UInt16)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason):
            "invalid NFQUEUE configuration: \(reason)"
        case .open(let errno) where errno == .permissionDenied || errno == .notPermitted:
            "cannot open a netfilter netlink socket (\(errno)): run as root or with CAP_NET_ADMIN"
        case .open(let errno):
            "cannot open a netfilter netlink socket: \(errno) (is the nfnetlink_queue module available?)"
        case .socketOption(let name, let errno):
            "cannot set \(name) on the NFQUEUE socket: \(errno)"
        case .request(let kind, let errno) where errno == .notPermitted:
            "NFQUEUE \(kind) refused (\(errno)): run as root or with CAP_NET_ADMIN"
        case .request(let kind, let errno):
            "NFQUEUE \(kind) failed: \(errno)"
        case .queueOwned(let queue):
            "NFQUEUE queue \(queue) is bound by another process: stop it or choose other queues with --queues"
        }
    }
}
