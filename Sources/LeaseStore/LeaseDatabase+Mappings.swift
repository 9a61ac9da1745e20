public import BindingState
import GRDB
public import WireFormat

/// The PCP mappings (RFC 6887 section 11) and the PCP server's epoch, kept with the leases so a
/// restart keeps both: mappings made before it still reach their LAN hosts, and the epoch goes
/// on counting (RFC 6887 section 8.5: it is reset only when mappings are lost).
extension LeaseDatabase {
    static let mappingColumns: Set<String> = [
        "protocol", "address", "first_port", "last_port", "subscriber", "internal_address", "internal_port",
        "cpe_address", "nonce", "filters", "created", "expires",
    ]
    static let serverStateColumns: Set<String> = ["name", "value"]

    static func createMappingSchema(_ db: Database) throws {
        try db.execute(sql: #"""
            CREATE TABLE mappings (
                protocol INTEGER NOT NULL CHECK (protocol IN (6, 17)),
                address TEXT NOT NULL,
                first_port INTEGER NOT NULL CHECK (first_port BETWEEN 0 AND 65535),
                last_port INTEGER NOT NULL CHECK (last_port BETWEEN first_port AND 65535),
                subscriber TEXT NOT NULL,
                internal_address TEXT NOT NULL,
                internal_port INTEGER NOT NULL CHECK (internal_port BETWEEN 0 AND 65535),
                cpe_address TEXT NOT NULL,
                nonce TEXT NOT NULL,
                filters TEXT NOT NULL,
                created INTEGER NOT NULL,
                expires INTEGER NOT NULL,
                PRIMARY KEY (protocol, address, first_port)
            );
            CREATE INDEX mappings_by_subscriber ON mappings (subscriber);
            CREATE TABLE server_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            PRAGMA user_version = \#(schemaVersion);
            """#)
    }

    /// Every stored mapping, lapsed ones included (the caller drops those and records why).
    public func loadMappings() throws(LeaseStoreError) -> [PortMapping] {
        let rows = try access("read the mappings") {
            try queue.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT protocol, address, first_port, last_port, subscriber, internal_address, internal_port,
                           cpe_address, nonce, filters, created, expires FROM mappings ORDER BY address, protocol, first_port
                    """)
            }
        }
        var mappings: [PortMapping] = []
        mappings.reserveCapacity(rows.count)
        for row in rows { mappings.append(try mapping(from: row)) }
        return mappings
    }

    /// Makes mapping events durable in one transaction: made or renewed -> the row as it is now,
    /// deleted or lapsed -> no row.
    public func apply(_ events: [MappingEvent]) throws(LeaseStoreError) {
        guard !events.isEmpty else { return }
        try access("write \(events.count) mapping events") {
            try queue.write { db in try Self.apply(events, in: db) }
        }
    }

    static func apply(_ events: [MappingEvent], in db: Database) throws {
        for event in events {
            let mapping = event.mapping
            let key: [any DatabaseValueConvertible] = [
                Int(mapping.transport.rawValue), mapping.externalAddress.description, Int(mapping.externalPorts.lowerBound),
            ]
            switch event.kind {
            case .created, .renewed:
                let statement = try db.cachedStatement(sql: """
                    INSERT INTO mappings (protocol, address, first_port, last_port, subscriber, internal_address,
                                          internal_port, cpe_address, nonce, filters, created, expires)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (protocol, address, first_port) DO UPDATE SET
                        last_port = excluded.last_port, subscriber = excluded.subscriber,
                        internal_address = excluded.internal_address, internal_port = excluded.internal_port,
                        cpe_address = excluded.cpe_address, nonce = excluded.nonce, filters = excluded.filters,
                        created = excluded.created, expires = excluded.expires
                    """)
                let values: [any DatabaseValueConvertible] = [
                    Int(mapping.externalPorts.upperBound), mapping.subscriber.text, mapping.internalAddress.description,
                    Int(mapping.internalPort), mapping.cpeAddress.description, mapping.nonce.description,
                    Self.filterText(mapping.filters), mapping.created, mapping.expires,
                ]
                try statement.execute(arguments: StatementArguments(key + values))
            case .deleted, .expired:
                let statement = try db.cachedStatement(sql: "DELETE FROM mappings WHERE protocol = ? AND address = ? AND first_port = ?")
                try statement.execute(arguments: StatementArguments(key))
            }
        }
    }

    /// When the PCP server's state began (UTC ms): the stored instant while mappings were kept,
    /// else `now`, stored for the next start. `keptMappings` false (they were lost or dropped)
    /// restarts the epoch, as RFC 6887 section 8.5 requires.
    public func pcpEpochStart(now: Int64, keptMappings: Bool) throws(LeaseStoreError) -> Int64 {
        try access("read the PCP epoch") {
            try queue.write { db in
                if keptMappings, let stored = try Int64.fetchOne(db, sql: "SELECT value FROM server_state WHERE name = 'pcp_epoch_start'"),
                   stored <= now {
                    return stored
                }
                try db.execute(sql: "INSERT OR REPLACE INTO server_state (name, value) VALUES ('pcp_epoch_start', ?)", arguments: [now])
                return now
            }
        }
    }

    /// "198.51.100.0/24 80,2001:db8::/32 0": each filter's prefix and port (0: any).
    static func filterText(_ filters: [MappingFilter]) -> String {
        filters.map { "\($0.prefix) \($0.port)" }.joined(separator: ",")
    }

    private func mapping(from row: Row) throws(LeaseStoreError) -> PortMapping {
        func text(_ index: Int) -> String? {
            if case .string(let value) = (row[index] as DatabaseValue).storage { value } else { nil }
        }
        func integer(_ index: Int) -> Int64? {
            if case .int64(let value) = (row[index] as DatabaseValue).storage { value } else { nil }
        }
        func port(_ index: Int) -> UInt16? { integer(index).flatMap { UInt16(exactly: $0) } }
        guard let transport = integer(0).flatMap({ UInt8(exactly: $0) }).flatMap(TransportProtocol.init(rawValue:)),
              let address = text(1).flatMap({ IPv4Address($0) }),
              let first = port(2), let last = port(3), first <= last,
              let subscriber = text(4),
              let internalAddress = text(5).flatMap({ IPAddress($0) }), let internalPort = port(6),
              let cpeAddress = text(7).flatMap({ IPAddress($0) }),
              let nonce = text(8).flatMap(Self.nonce(hex:)),
              let filters = text(9).flatMap(Self.filters(text:)),
              let created = integer(10), let expires = integer(11)
        else {
            throw LeaseStoreError(kind: .invalidRow, path: path, reason: "a mapping row holds values no mapping can have: \(row)")
        }
        return PortMapping(subscriber: SubscriberID(subscriber), transport: transport, externalAddress: address,
                           externalPorts: first...last, internalAddress: internalAddress, internalPort: internalPort,
                           cpeAddress: cpeAddress, nonce: nonce, filters: filters, created: created, expires: expires)
    }

    private static func nonce(hex: String) -> MappingNonce? {
        guard hex.utf8.count == 24, let high = UInt64(hex.prefix(16), radix: 16), let low = UInt32(hex.suffix(8), radix: 16)
        else { return nil }
        return MappingNonce(high: high, low: low)
    }

    private static func filters(text: String) -> [MappingFilter]? {
        guard !text.isEmpty else { return [] }
        var filters: [MappingFilter] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: " ")
            guard parts.count == 2, let prefix = try? IPPrefix(String(parts[0])), let port = UInt16(parts[1]) else { return nil }
            filters.append(MappingFilter(prefix: prefix, port: port))
        }
        return filters
    }
}
