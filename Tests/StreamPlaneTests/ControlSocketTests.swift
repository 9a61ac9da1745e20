import ControlSocket
import Testing
import Glibc

@Suite struct ControlSocketTests {
    @Test func answersOneRequestPerConnectionAndRefusesASecondServer() throws {
        let path = "/tmp/plainmode-ctl-test-\(getpid())/daemon.sock"
        let server = try ControlServer(path: path) { request in "you said \(request)\n" }
        defer { server.stop() }
        #expect(try ControlClient.request("stats json", path: path) == "you said stats json\n")
        #expect(try ControlClient.request("bindings text", path: path) == "you said bindings text\n")
        #expect(throws: ControlSocketError.self) { try ControlServer(path: path) { _ in "" } }
    }

    @Test func aMissingDaemonIsAClearError() {
        do {
            _ = try ControlClient.request("stats", path: "/tmp/plainmode-no-such-daemon.sock")
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("is it running?"))
        }
    }
}
