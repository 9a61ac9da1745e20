/// NamespaceSupport: network namespaces for the tests that need the kernel (NFQUEUE, raw
/// sockets), made per test and always deleted, and a small blocking UDP socket for their traffic.
import Foundation
import Glibc
import Syscalls
import Testing

/// A network namespace made for one test (`ip netns add`), with its loopback up. `onThread` runs
/// code on a fresh OS thread moved into it (setns changes only the calling thread), so sockets
/// and NFQUEUE bindings made there live in the namespace. `with` always deletes it.
public struct Namespace {
    public let name: String

    public static func with(_ label: String, _ body: (Namespace) throws -> Void) throws {
        try #require(geteuid() == 0, "NFQUEUE tests need root (network namespaces); run them as .ci/run does")
        let namespace = Namespace(name: "pmnfq-\(label)-\(getpid())")
        _ = try? run(["ip", "netns", "del", namespace.name])
        try run(["ip", "netns", "add", namespace.name])
        defer { _ = try? run(["ip", "netns", "del", namespace.name]) }
        try run(["ip", "-n", namespace.name, "link", "set", "lo", "up"])
        try body(namespace)
    }

    /// Queues UDP to 127.0.0.1:`port` on OUTPUT to `queue`, with --queue-bypass.
    public func queueUDP(port: UInt16, queue: UInt16) throws {
        try Self.run(["ip", "netns", "exec", name, "iptables", "-w", "5", "-A", "OUTPUT", "-o", "lo", "-p", "udp",
                      "--dport", "\(port)", "-j", "NFQUEUE", "--queue-num", "\(queue)", "--queue-bypass"])
    }

    /// Runs `body` on a new thread inside the namespace and returns its result.
    public func onThread<R>(_ body: @escaping @Sendable () throws -> R) throws -> R {
        let box = ResultBox<R>()
        let path = "/var/run/netns/\(name)"
        let thread = OSThread.start(name: "pm-netns") {
            box.result = Result {
                try NetworkNamespace.enter(path: path)
                return try body()
            }
        }
        thread.join()
        return try box.result!.get()
    }

    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Foundation.Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw NamespaceError.commandFailed(arguments.joined(separator: " "), output) }
        return output
    }
}

public enum NamespaceError: Error {
    case cannotEnter(String, Int32)
    case commandFailed(String, String)
}

/// Carries one thread's result back to the test; written once before `join`, read after.
final class ResultBox<R>: @unchecked Sendable {
    var result: Result<R, any Error>?
}

/// A blocking UDP socket on 127.0.0.1 for the tests' traffic.
public struct UDPSocket {
    public let fd: Int32

    public init(bindingLoopbackPort port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NamespaceError.cannotEnter("socket", errno) }
        var address = Self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(fd)
            throw NamespaceError.cannotEnter("bind", code)
        }
    }

    public func send(_ bytes: [UInt8], toLoopbackPort port: UInt16) throws {
        var address = Self.loopback(port: port)
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == bytes.count else { throw NamespaceError.cannotEnter("sendto", errno) }
    }

    /// One datagram, or nil after `timeoutMilliseconds` without one.
    public func receive(timeoutMilliseconds: Int32) -> [UInt8]? {
        receiveWithSource(timeoutMilliseconds: timeoutMilliseconds)?.bytes
    }

    /// One datagram and its source IPv4 address and port, or nil after `timeoutMilliseconds`.
    public func receiveWithSource(timeoutMilliseconds: Int32) -> (bytes: [UInt8], address: UInt32, port: UInt16)? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var source = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &length) }
            }
        }
        guard count >= 0 else { return nil }
        return (Array(buffer[0..<count]), UInt32(bigEndian: source.sin_addr.s_addr), UInt16(bigEndian: source.sin_port))
    }

    public func close() { Glibc.close(fd) }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
