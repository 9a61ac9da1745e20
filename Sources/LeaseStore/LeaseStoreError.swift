/// Why the lease database could not be opened, read or written; always names the file, so an
/// operator knows which one to look at.
public struct LeaseStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure, for callers that act on it (refuse to start, count and retry).
    public enum Kind: Hashable, Sendable {
        /// The directory that should hold the file does not exist (it is never created).
        case missingDirectory
        /// The file exists but cannot be opened or read.
        case unreadable
        /// The file is not an SQLite database, or is truncated or damaged.
        case corrupt
        /// The file is a sound SQLite database holding someone else's tables.
        case foreignSchema
        /// The file was written by a newer plainmode whose schema this one does not know.
        case newerSchema
        /// A row holds a value no lease can have (edited by hand, or a bug).
        case invalidRow
        /// A read or write of a sound database failed (disk full, I/O error, locked).
        case ioFailure
    }

    public let kind: Kind
    /// The database file the failure is about.
    public let path: String
    /// What went wrong, in words.
    public let reason: String

    public var description: String { "lease database \(path): \(reason)" }
}
