import AllocationLog
import ArgumentParser
import BindingState
import PortSets
import Syscalls
import SystemPackage

/// The concentrator's allocation-log flags (RFC 6888 section 4): where lease, exhaustion and
/// session records go. Nothing is logged unless an output is named.
struct LogOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write the allocation log as JSON lines to FILE (appended; `-` for standard output): every lease allocation, renewal and release with UTC time in ms, subscriber, CPE prefixes, pool address, PSID and its exact port ranges; exhaustion; sessions with --log-sessions.", valueName: "file"))
    var logJson: String?

    @Option(help: ArgumentHelp("Send the allocation log as RFC 5424 syslog messages with structured data [plainmode@32473 ...]: `local` for /dev/log, or udp://HOST:PORT for a collector (RFC 5426).", valueName: "local|udp://host:port"))
    var logSyslog: String?

    @Option(help: ArgumentHelp("Export the allocation log as IPFIX (RFC 7011, UDP) to a collector: RFC 8158 port block allocation/de-allocation (natEvent 16/17, one record per contiguous block of the PSID set, IEs 361-364), addresses exhausted (3), quota exceeded (13), sessions (4/5) with --log-sessions; templates every 60 s.", valueName: "host:port"))
    var logIpfix: String?

    @Flag(help: "Also log the creation and deletion of every relayed TCP connection and UDP binding (subscriber, CPE endpoint, external endpoint, destination). Off by default: lease records with exact port sets already trace every (address, port, time) to a subscriber.")
    var logSessions = false

    @Option(help: "Records the log holds for its thread; when full, records are dropped and counted (log_records_dropped), never waited for.")
    var logQueueSize = 65536

    func validate() throws {
        guard (1...(1 << 22)).contains(logQueueSize) else { throw ValidationError("--log-queue-size must be 1...4194304") }
        if logSessions && logJson == nil && logSyslog == nil && logIpfix == nil {
            throw ValidationError("--log-sessions needs an output: --log-json, --log-syslog or --log-ipfix")
        }
        if let logIpfix, SocketAddress(parsing: logIpfix) == nil {
            throw ValidationError("--log-ipfix \(logIpfix): expected HOST:PORT, e.g. 198.51.100.9:4739")
        }
    }

    /// The logger with its outputs opened, or nil when no output is named.
    func makeLogger(subscribers: SubscriberRegistry, geometry: PSIDGeometry?) throws -> AllocationLogger? {
        var outputs: [any LogOutput] = []
        if let logJson {
            do { outputs.append(try JSONLinesOutput(path: logJson)) } catch {
                throw StartupRefusal("--log-json \(logJson): \(error)")
            }
        }
        if let logSyslog {
            do { outputs.append(try SyslogOutput(target: logSyslog)) } catch {
                throw StartupRefusal("--log-syslog \(logSyslog): \(error) (expected local or udp://HOST:PORT)")
            }
        }
        if let logIpfix, let collector = SocketAddress(parsing: logIpfix) {
            do { outputs.append(try IPFIXOutput(collector: collector, subscribers: subscribers, geometry: geometry)) } catch {
                throw StartupRefusal("--log-ipfix \(logIpfix): \(error)")
            }
        }
        guard !outputs.isEmpty else { return nil }
        return AllocationLogger(formatter: LogFormatter(subscribers: subscribers, geometry: geometry), outputs: outputs,
                                capacity: logQueueSize)
    }
}
