import ArgumentParser
import ControlSocket

/// `plainmode ctl`: asks a running daemon over its control socket.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Query a running concentrator or CPE over its control socket.",
        subcommands: [Stats.self, Bindings.self, Leases.self, Mappings.self, Subscriber.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "The daemon's control socket (as given to it with --control-socket).")
        var controlSocket = ConcentratorCommand.defaultControlSocket

        @Flag(help: "Print JSON for scripts instead of text.")
        var json = false

        func ask(_ what: String, _ argument: String? = nil) throws {
            do {
                let request = "\(what) \(json ? "json" : "text")" + (argument.map { " " + $0 } ?? "")
                print(try ControlClient.request(request, path: controlSocket), terminator: "")
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

    struct Leases: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Concentrator: every port-set lease of the lease database (held and released: subscriber, pool address, PSID, port set, start, last use, end) with the ports in use of the held ones.")
        @OptionGroup var connection: Connection
        func run() throws { try connection.ask("leases") }
    }

    struct Mappings: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Concentrator: every inbound mapping made over PCP (subscriber, protocol, pool address and ports, internal host and port, CPE address, nonce, FILTERs, expiry). CPE: its forwards (external ports, from --forward or granted over PCP, to LAN hosts).")
        @OptionGroup var connection: Connection
        func run() throws { try connection.ask("mappings") }
    }

    struct Subscriber: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Concentrator: one subscriber: its line of the subscribers file (or default prefix), its lease, its previous lease, its bindings.")
        @Argument(help: "The subscriber's id (a line of --subscribers, or a default one such as 198.51.100.2/32).")
        var id: String
        @OptionGroup var connection: Connection
        func validate() throws {
            guard !id.isEmpty, !id.contains(where: \.isWhitespace) else { throw ValidationError("a subscriber id has no spaces") }
        }
        func run() throws { try connection.ask("subscriber", id) }
    }
}
