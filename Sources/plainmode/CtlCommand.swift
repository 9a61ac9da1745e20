import ArgumentParser
import ControlSocket

/// `plainmode ctl`: asks a running daemon over its control socket.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Query a running concentrator or CPE over its control socket.",
        subcommands: [Stats.self, Bindings.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "The daemon's control socket (as given to it with --control-socket).")
        var controlSocket = ConcentratorCommand.defaultControlSocket

        @Flag(help: "Print JSON for scripts instead of text.")
        var json = false

        func ask(_ what: String) throws {
            do {
                print(try ControlClient.request("\(what) \(json ? "json" : "text")", path: controlSocket), terminator: "")
            } catch {
                throw StartupRefusal(error.description)
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every counter of the daemon (drops, errors, bytes, connections); the concentrator adds the kernel's TFO and MP_CAPABLE counters of its namespace.")
        @OptionGroup var connection: Connection
        func run() throws { try connection.ask("stats") }
    }

    struct Bindings: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every binding: CPE side, external (pool) side, remote, state; and the port-set leases.")
        @OptionGroup var connection: Connection
        func run() throws { try connection.ask("bindings") }
    }
}
