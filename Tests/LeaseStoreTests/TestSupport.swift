import BindingState
import Foundation
import GRDB
import LeaseStore
import WireFormat

/// Runs `body` with a fresh directory under /tmp, removed afterwards even when `body` throws.
func withTemporaryDirectory<Result>(_ body: (String) throws -> Result) throws -> Result {
    var template = Array("/tmp/leasestore-tests-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    let directory = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
}

func address(_ text: String) -> IPv4Address {
    guard let address = IPv4Address(text) else { preconditionFailure("bad address in test: \(text)") }
    return address
}

func event(_ kind: LeaseEvent.Kind, _ subscriber: String, _ addressText: String, _ psid: UInt16) -> LeaseEvent {
    LeaseEvent(kind, subscriber: SubscriberID(subscriber), address: address(addressText), psid: psid)
}

func fileBytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}

/// A database at `path` holding `count` allocated leases, closed again (the file then has no WAL).
func makeDatabase(at path: String, leases count: Int) throws {
    let database = try LeaseDatabase(path: path)
    let events = (0..<count).map { index in
        (event(.allocated, "subscriber-\(index)", "198.51.100.\(index / 64)", UInt16(index % 64)), at: Int64(1000 + index))
    }
    try database.apply(events)
    try database.close()
}

/// Runs `body` with a new database in a temporary directory (and its path), closed and removed afterwards.
func withNewDatabase<Result>(busyTimeout: Duration = .seconds(5), _ body: (LeaseDatabase, String) throws -> Result) throws -> Result {
    try withTemporaryDirectory { directory in
        let path = directory + "/leases.db"
        let database = try LeaseDatabase(path: path, busyTimeout: busyTimeout)
        defer { try? database.close() }
        return try body(database, path)
    }
}

/// Writes to the file at `path` the way another program would: plain GRDB, none of our checks.
func executeAsAnotherProgram(_ path: String, sql: String) throws {
    let other = try DatabaseQueue(path: path)
    try other.write { db in try db.execute(sql: sql) }
    try other.close()
}
