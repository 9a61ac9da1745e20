public import BindingState
import GRDB
import Glibc
public import WireFormat

/// The durable lease table: one row per pool port set (address, PSID) holding its current or last
/// owner. A file that is not a sound database of ours is refused and never written to, so a
/// mistyped path or a damaged disk cannot cost the operator the only copy of the leases.
public final class LeaseDatabase: Sendable {
    /// The file, as given; every error names it.
    public let path: String
    let queue: DatabaseQueue

    /// Marks the file as plainmode's (PRAGMA application_id, "PMLS"), so another program's
    /// database is told apart from ours even if it has a table called `leases`.
    static let applicationID: Int32 = 0x504D_4C53
    /// The schema this build writes (PRAGMA user_version); a larger one is a newer plainmode's.
    /// Version 1 had leases only; version 2 adds the PCP mappings and the server's epoch.
    static let schemaVersion: Int32 = 2
    static let leaseColumns: Set<String> = ["address", "psid", "subscriber", "start", "last_use", "end"]

    /// Opens the database at `path`, or creates it (not its directory). An existing file is first
    /// checked read-only: SQLite header and size, `PRAGMA quick_check`, and our schema.
    public init(path: String, busyTimeout: Duration = .seconds(5)) throws(LeaseStoreError) {
        self.path = path
        try Self.checkDirectory(of: path)
        if try Self.fileExists(path) {
            try Self.checkHeader(path)
            try Self.checkReadOnly(path)
        }
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(busyTimeout.seconds)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Self.failure(.unreadable, path, "cannot open for writing", error)
        }
        do {
            // Checked again inside the write transaction: another process may have created it.
            try queue.write { db in
                switch try Self.schemaState(db, path: path) {
                case .empty: try Self.createSchema(db)
                case .leasesOnly: try Self.createMappingSchema(db)
                case .current: break
                }
            }
        } catch let error as LeaseStoreError {
            try? queue.close()
            throw error
        } catch {
            try? queue.close()
            throw Self.failure(.ioFailure, path, "cannot create the schema", error)
        }
    }

    /// Closes the file; later calls on this object fail.
    public func close() throws(LeaseStoreError) {
        try access("close") { try queue.close() }
    }

    /// Every lease row, ordered by address and PSID (start-up: the allocator takes them back).
    public func load() throws(LeaseStoreError) -> [LeaseRecord] {
        let rows = try access("read the leases") {
            try queue.read { db in
                try Row.fetchAll(db, sql: #"SELECT address, psid, subscriber, start, last_use, "end" FROM leases"#)
            }
        }
        var records: [LeaseRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            records.append(try record(from: row))
        }
        return records.sorted { ($0.address, $0.psid) < ($1.address, $1.psid) }
    }

    /// Makes a batch of lease events durable in one transaction (one fsync). Each event leaves its
    /// row consistent on its own: if an earlier event was lost, only the start time is approximate.
    public func apply(_ events: [(LeaseEvent, at: Int64)]) throws(LeaseStoreError) {
        try apply(entries: events.map { .lease($0.0, at: $0.at) })
    }

    /// The journal's batch, leases and mappings in their order, in one transaction.
    func apply(entries: [JournalEntry]) throws(LeaseStoreError) {
        guard !entries.isEmpty else { return }
        try access("write \(entries.count) lease and mapping events") {
            try queue.write { db in
                for entry in entries {
                    switch entry {
                    case .lease(let event, let at):
                        let statement = try db.cachedStatement(sql: Self.upsert(event.kind))
                        try statement.execute(arguments: [
                            event.address.description, Int(event.psid), event.subscriber.text, at,
                        ])
                    case .mapping(let event):
                        try Self.apply([event], in: db)
                    }
                }
            }
        }
    }

    /// Deletes the rows of port sets the operator's pool no longer contains; answers how many existed.
    @discardableResult
    public func forget(_ portSets: [(address: IPv4Address, psid: UInt16)]) throws(LeaseStoreError) -> Int {
        guard !portSets.isEmpty else { return 0 }
        return try access("forget \(portSets.count) port sets") {
            try queue.write { db in
                var removed = 0
                let statement = try db.cachedStatement(sql: "DELETE FROM leases WHERE address = ? AND psid = ?")
                for portSet in portSets {
                    try statement.execute(arguments: [portSet.address.description, Int(portSet.psid)])
                    removed += db.changesCount
                }
                return removed
            }
        }
    }

    /// Deletes the row of one port set; answers whether it existed.
    @discardableResult
    public func forget(address: IPv4Address, psid: UInt16) throws(LeaseStoreError) -> Bool {
        try forget([(address: address, psid: psid)]) == 1
    }

    // MARK: - Writing

    /// One upsert per event kind; `?4` is the event's time. A row owned by someone else (its
    /// allocation event was dropped) takes the event's subscriber and starts at the event.
    private static func upsert(_ kind: LeaseEvent.Kind) -> String {
        let insert = #"INSERT INTO leases (address, psid, subscriber, start, last_use, "end") VALUES (?1, ?2, ?3, ?4, ?4, "#
        let keepStart = "start = CASE WHEN subscriber = excluded.subscriber THEN start ELSE excluded.start END"
        switch kind {
        case .allocated:
            return insert + #"NULL) ON CONFLICT (address, psid) DO UPDATE SET subscriber = excluded.subscriber, "#
                + #"start = excluded.start, last_use = excluded.last_use, "end" = NULL"#
        case .renewed:
            return insert + #"NULL) ON CONFLICT (address, psid) DO UPDATE SET \#(keepStart), "#
                + #"subscriber = excluded.subscriber, last_use = excluded.last_use, "end" = NULL"#
        case .released:
            return insert + #"?4) ON CONFLICT (address, psid) DO UPDATE SET \#(keepStart), "#
                + #"subscriber = excluded.subscriber, last_use = excluded.last_use, "end" = excluded."end""#
        }
    }

    private static func createSchema(_ db: Database) throws {
        try db.execute(sql: #"""
            CREATE TABLE leases (
                address TEXT NOT NULL,
                psid INTEGER NOT NULL CHECK (psid BETWEEN 0 AND 65535),
                subscriber TEXT NOT NULL,
                start INTEGER NOT NULL,
                last_use INTEGER NOT NULL,
                "end" INTEGER,
                PRIMARY KEY (address, psid)
            );
            CREATE INDEX leases_by_subscriber ON leases (subscriber);
            PRAGMA application_id = \#(applicationID);
            """#)
        try createMappingSchema(db)
    }

    private func record(from row: Row) throws(LeaseStoreError) -> LeaseRecord {
        func text(_ index: Int) -> String? {
            if case .string(let value) = (row[index] as DatabaseValue).storage { value } else { nil }
        }
        func integer(_ index: Int) -> Int64? {
            if case .int64(let value) = (row[index] as DatabaseValue).storage { value } else { nil }
        }
        let endIsNull = (row[5] as DatabaseValue).isNull
        guard let address = text(0).flatMap({ IPv4Address($0) }),
              let psid = integer(1).flatMap({ UInt16(exactly: $0) }),
              let subscriber = text(2), let start = integer(3), let lastUse = integer(4),
              endIsNull || integer(5) != nil
        else {
            throw LeaseStoreError(kind: .invalidRow, path: path, reason: "a lease row holds values no lease can have: \(row)")
        }
        return LeaseRecord(subscriber: SubscriberID(subscriber), address: address, psid: psid,
                           start: start, lastUse: lastUse, end: endIsNull ? nil : integer(5))
    }

    /// Runs a GRDB call, naming the file and the action in the error it may throw.
    func access<T>(_ action: String, _ body: () throws -> T) throws(LeaseStoreError) -> T {
        do {
            return try body()
        } catch let error as LeaseStoreError {
            throw error
        } catch {
            throw Self.failure(.ioFailure, path, "cannot \(action)", error)
        }
    }

    // MARK: - Checks before anything writes

    /// Whether the file holds nothing yet (new, empty, or a database without tables) or our schema.
    enum SchemaState { case empty, leasesOnly, current }

    private static func checkDirectory(of path: String) throws(LeaseStoreError) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw LeaseStoreError(kind: .missingDirectory, path: path, reason: "directory \(directory): \(errnoText())")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw LeaseStoreError(kind: .missingDirectory, path: path, reason: "\(directory) is not a directory")
        }
    }

    private static func fileExists(_ path: String) throws(LeaseStoreError) -> Bool {
        var status = stat()
        if stat(path, &status) != 0 {
            if errno == ENOENT { return false }
            throw LeaseStoreError(kind: .unreadable, path: path, reason: errnoText())
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw LeaseStoreError(kind: .unreadable, path: path, reason: "not a regular file")
        }
        return true
    }

    /// Reads the 100-byte SQLite header: the magic string, the page size, and (when no WAL file
    /// holds later pages) whether the file is as long as the header says.
    private static func checkHeader(_ path: String) throws(LeaseStoreError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LeaseStoreError(kind: .unreadable, path: path, reason: errnoText()) }
        defer { _ = Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw LeaseStoreError(kind: .unreadable, path: path, reason: errnoText()) }
        let size = Int64(status.st_size)
        if size == 0 { return }  // An empty file is a database without tables (`touch leases.db`).
        guard size >= 100 else {
            throw LeaseStoreError(kind: .corrupt, path: path, reason: "\(size) bytes, shorter than an SQLite header (truncated?)")
        }
        var header = [UInt8](repeating: 0, count: 100)
        let count = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 100, 0) }
        guard count == 100 else {
            throw LeaseStoreError(kind: .unreadable, path: path, reason: count < 0 ? errnoText() : "short read of the header")
        }
        guard header[0..<16].elementsEqual(Array("SQLite format 3".utf8) + [0]) else {
            throw LeaseStoreError(kind: .corrupt, path: path, reason: "not an SQLite database (no SQLite header)")
        }
        func bigEndian(_ offset: Int, _ length: Int) -> Int64 {
            header[offset..<offset + length].reduce(0) { $0 << 8 | Int64($1) }
        }
        let rawPageSize = bigEndian(16, 2)
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw LeaseStoreError(kind: .corrupt, path: path, reason: "SQLite header has an invalid page size \(rawPageSize)")
        }
        let pageCount = bigEndian(28, 4)
        let headerSizeIsValid = pageCount != 0 && bigEndian(24, 4) == bigEndian(92, 4)
        var walStatus = stat()
        let walHoldsPages = stat(path + "-wal", &walStatus) == 0 && walStatus.st_size > 0
        if headerSizeIsValid && !walHoldsPages && size < pageCount * pageSize {
            throw LeaseStoreError(kind: .corrupt, path: path, reason:
                "\(size) bytes, but its header says \(pageCount) pages of \(pageSize) bytes (truncated)")
        }
    }

    /// Opens the file read-only and asks SQLite whether it is sound and ours.
    private static func checkReadOnly(_ path: String) throws(LeaseStoreError) {
        var configuration = Configuration()
        configuration.readonly = true
        let reader: DatabaseQueue
        do {
            reader = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw failure(.unreadable, path, "cannot open read-only", error)
        }
        defer { try? reader.close() }
        do {
            try reader.read { db in
                let answers = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard answers == ["ok"] else {
                    throw LeaseStoreError(kind: .corrupt, path: path, reason:
                        "PRAGMA quick_check: \(answers.prefix(3).joined(separator: "; "))")
                }
                _ = try schemaState(db, path: path)
            }
        } catch let error as LeaseStoreError {
            throw error
        } catch {
            throw failure(.corrupt, path, "cannot read", error)
        }
    }

    /// Tells a database without tables, ours, and anything else (refused) apart.
    private static func schemaState(_ db: Database, path: String) throws -> SchemaState {
        let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        let version = try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        let tables = try String.fetchAll(db, sql:
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        guard applicationID == Self.applicationID else {
            if applicationID == 0 && tables.isEmpty { return .empty }
            let holding = tables.isEmpty ? "no tables" : "tables \(tables.prefix(5).joined(separator: ", "))"
            throw LeaseStoreError(kind: .foreignSchema, path: path, reason:
                "not a plainmode lease database (application_id \(applicationID), \(holding))")
        }
        guard version <= Self.schemaVersion else {
            throw LeaseStoreError(kind: .newerSchema, path: path, reason:
                "schema version \(version) is newer than this plainmode's \(Self.schemaVersion)")
        }
        let columns = try Set(String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('leases')"))
        let mappingColumns = try Set(String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('mappings')"))
        let stateColumns = try Set(String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('server_state')"))
        switch version {
        case 1 where columns == Self.leaseColumns && mappingColumns.isEmpty:
            return .leasesOnly
        case Self.schemaVersion where columns == Self.leaseColumns && mappingColumns == Self.mappingColumns
            && stateColumns == Self.serverStateColumns:
            return .current
        default:
            throw LeaseStoreError(kind: .corrupt, path: path, reason:
                "plainmode's mark but not its schema (version \(version), leases columns \(columns.sorted()), "
                + "mappings columns \(mappingColumns.sorted()))")
        }
    }

    private static func failure(_ kind: LeaseStoreError.Kind, _ path: String, _ action: String, _ error: any Error) -> LeaseStoreError {
        guard let error = error as? DatabaseError else {
            return LeaseStoreError(kind: kind, path: path, reason: "\(action): \(error)")
        }
        let code = error.resultCode
        let kind: LeaseStoreError.Kind = code == .SQLITE_NOTADB || code == .SQLITE_CORRUPT ? .corrupt : kind
        return LeaseStoreError(kind: kind, path: path, reason: "\(action): \(error.message ?? "SQLite error") (SQLite code \(code.rawValue))")
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

extension Duration {
    /// The duration in seconds, as GRDB's busy timeout takes it.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
