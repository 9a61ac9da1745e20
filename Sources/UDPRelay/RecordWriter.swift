public import Syscalls
public import SystemPackage

/// Writes framed records (len16 || datagram) to one MPTCP connection, each whole or not at
/// all: a half-written record would put the stream out of step for good (draft 5.1).
///
/// The socket may take only part of a record; its tail then waits in a small backlog, and
/// later records queue behind it while they fit. A record that fits neither the socket nor
/// the backlog is dropped (`.dropped`), never cut. A burst of records may also be staged in the
/// same buffer and sent by one `flush()`: one segment train instead of one send per datagram.
/// Not thread-safe: the owner serialises use.
public struct RecordWriter: Sendable {
    /// Invalid (-1) while a pending inbound binding waits for its connection (`attach`).
    public private(set) var socket: Socket
    /// Most bytes the backlog may hold (a tail plus whole records).
    public let backlogLimit: Int
    /// True until the connection is up: records wait in the backlog (the CPE's first datagrams).
    public var isConnecting: Bool
    private var backlog: [UInt8] = []
    private var backlogSent = 0
    /// The socket refused bytes and has not taken everything since: new records must wait.
    private var socketFull = false
    /// Capacity kept when the buffer empties: small flows reuse it, bulk ones give it back.
    private static let keptCapacity = 4096

    public enum Outcome: Equatable {
        case written
        case backlogged
        case dropped
        case failed(Errno)
    }

    public init(socket: Socket, backlogLimit: Int, isConnecting: Bool = false) {
        self.socket = socket
        self.backlogLimit = backlogLimit
        self.isConnecting = isConnecting
    }

    public var backlogCount: Int { backlog.count - backlogSent }

    /// Writes one record for `payload` (at most 65535 bytes).
    public mutating func write(_ payload: UnsafeRawBufferPointer) -> Outcome {
        precondition(payload.count <= 0xFFFF)
        if backlogCount > 0 && !isConnecting, case .failed(let error) = flush() { return .failed(error) }
        if backlogCount > 0 || isConnecting { return enqueue(payload, skipping: 0) ? .backlogged : .dropped }
        let prefix = UInt16(truncatingIfNeeded: payload.count).bigEndian
        let result: Result<Int?, Errno> = withUnsafeBytes(of: prefix) { prefixBytes in
            do throws(Errno) { return .success(try socket.send(prefix: prefixBytes, payload: payload)) } catch { return .failure(error) }
        }
        switch result {
        case .failure(let error):
            return .failed(error)
        case .success(nil):
            socketFull = true
            return enqueue(payload, skipping: 0) ? .backlogged : .dropped
        case .success(let taken?):
            if taken < payload.count + 2 {
                // The socket took part of it: the rest must follow before anything else.
                socketFull = true
                let appended = enqueue(payload, skipping: taken, force: true)
                assert(appended)
            }
            return .written
        }
    }

    /// Appends one record for `payload` (at most 65535 bytes) to be sent by the next `flush()`.
    /// When the buffer would pass the limit it is flushed first. `.written` when nothing older
    /// waits for the socket, `.backlogged` when it does (or the connection is not up yet).
    public mutating func stage(_ payload: UnsafeRawBufferPointer) -> Outcome {
        precondition(payload.count <= 0xFFFF)
        if backlogCount + payload.count + 2 > backlogLimit && !isConnecting, case .failed(let error) = flush() {
            return .failed(error)
        }
        guard enqueue(payload, skipping: 0) else { return .dropped }
        return socketFull || isConnecting ? .backlogged : .written
    }

    /// Adds bytes the stream already owes (what the SYN could not carry) ahead of any record.
    public mutating func owe(_ bytes: ArraySlice<UInt8>) {
        backlog.append(contentsOf: bytes)
    }

    /// Gives a pending writer (made with `isConnecting` and an invalid socket, its records staged
    /// meanwhile) its connection: `open` sends `leading` (the PM block) and the staged records,
    /// in that order, as SYN data and says how many bytes it took; the rest waits in the backlog
    /// until the connection is up (`isConnecting = false`, then `flush`).
    public mutating func attach(_ socket: Socket, leading: [UInt8], open: ([UInt8]) throws(Errno) -> Int) throws(Errno) {
        var opening = leading
        opening.append(contentsOf: backlog[backlogSent...])
        let sent = try open(opening)
        self.socket = socket
        backlog = Array(opening[min(sent, opening.count)...])
        backlogSent = 0
    }

    /// Sends what the backlog holds; `.written` once it is empty (or was).
    @discardableResult
    public mutating func flush() -> Outcome {
        guard backlogCount > 0, !isConnecting else { return .written }
        do throws(Errno) {
            while backlogCount > 0 {
                guard let n = try socket.send(backlog, from: backlogSent), n > 0 else {
                    socketFull = true
                    return .backlogged
                }
                backlogSent += n
            }
        } catch { return .failed(error) }
        backlog.removeAll(keepingCapacity: backlog.capacity <= Self.keptCapacity)
        backlogSent = 0
        socketFull = false
        return .written
    }

    /// Appends the record's bytes after the first `skipping`; refuses whole records over the limit.
    private mutating func enqueue(_ payload: UnsafeRawBufferPointer, skipping: Int, force: Bool = false) -> Bool {
        let recordLength = payload.count + 2
        guard force || backlogCount + recordLength <= backlogLimit else { return false }
        if backlogSent > 0 && backlogSent >= backlog.count / 2 {
            backlog.removeFirst(backlogSent)
            backlogSent = 0
        }
        if skipping < 2 {
            let prefix = [UInt8(truncatingIfNeeded: payload.count >> 8), UInt8(truncatingIfNeeded: payload.count)]
            backlog.append(contentsOf: prefix[skipping...])
            backlog.append(contentsOf: payload)
        } else {
            backlog.append(contentsOf: payload[(skipping - 2)...])
        }
        return true
    }
}
