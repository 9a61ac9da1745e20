/// ControlSocket: the daemon's local operator interface. A Unix stream socket (mode 0600) that
/// answers one request line ("stats json", "bindings text", ...) per connection, on its own
/// thread, and the client that `plainmode ctl` uses.
import Syscalls
public import SystemPackage
import Glibc

public enum ControlSocketError: Error, CustomStringConvertible, Sendable {
    case alreadyServed(String)
    case cannotServe(String, Errno)
    case cannotConnect(String, Errno)
    case io(Errno)

    public var description: String {
        switch self {
        case .alreadyServed(let path): "another daemon answers on \(path); stop it or pass a different --control-socket"
        case let .cannotServe(path, error): "cannot create the control socket \(path): \(error) (does its directory exist and is it writable?)"
        case let .cannotConnect(path, error):
            "cannot reach the daemon at \(path): \(error) (is it running? pass --control-socket as given to the daemon)"
        case .io(let error): "control socket I/O failed: \(error)"
        }
    }
}

/// Serves requests until `stop`.
public final class ControlServer: Sendable {
    public let path: String
    private let socket: Socket
    private let stopping = StopFlag()
    private let thread: OSThread

    public init(path: String, handler: @escaping @Sendable (String) -> String) throws(ControlSocketError) {
        self.path = path
        if let probe = try? Socket.unixStream() {
            defer { probe.close() }
            if (try? probe.connectUnix(path: path)) != nil { throw .alreadyServed(path) }
        }
        _ = unlink(path)  // a stale socket file from a daemon that died
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            _ = mkdir(String(path[..<slash]), 0o755)  // e.g. /run/plainmode, gone after a reboot
        }
        let socket: Socket
        do {
            socket = try Socket.unixStream()
            do {
                try socket.bindUnix(path: path)
                _ = chmod(path, 0o600)
                try socket.listen(backlog: 16)
            } catch {
                socket.close()
                throw error
            }
        } catch let error as Errno { throw .cannotServe(path, error) } catch { throw .cannotServe(path, .ioError) }
        self.socket = socket
        let stopping = self.stopping
        thread = OSThread.start(name: "control") {
            while !stopping.isSet {
                guard let client = try? socket.acceptBlocking() else { continue }
                Self.serve(client, handler: handler)
                client.close()
            }
        }
    }

    private static func serve(_ client: Socket, handler: (String) -> String) {
        guard let request = try? client.receiveAll(limit: 1024, until: { $0.contains(UInt8(ascii: "\n")) }) else { return }
        let line = String(decoding: request.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        try? client.sendAll(Array(handler(line).utf8))
    }

    public func stop() {
        stopping.set()
        // Wake the blocking accept with a connection of our own.
        if let poke = try? Socket.unixStream() {
            _ = try? poke.connectUnix(path: path)
            poke.close()
        }
        thread.join()
        socket.close()
        _ = unlink(path)
    }
}

/// `plainmode ctl`: sends one request line, returns the whole reply.
public enum ControlClient {
    public static func request(_ line: String, path: String) throws(ControlSocketError) -> String {
        let socket: Socket
        do { socket = try Socket.unixStream() } catch { throw .io(error) }
        defer { socket.close() }
        do { try socket.connectUnix(path: path) } catch { throw .cannotConnect(path, error) }
        do {
            try socket.sendAll(Array((line + "\n").utf8))
            let reply = try socket.receiveAll(limit: 64 << 20)
            return String(decoding: reply, as: UTF8.self)
        } catch { throw .io(error) }
    }
}

