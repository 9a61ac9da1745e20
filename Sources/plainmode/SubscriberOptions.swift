import ArgumentParser
import BindingState
import Glibc
import LeaseStore
import Logging
import Syscalls
import SystemPackage

/// The concentrator's subscriber and lease flags: who a connection belongs to, and where leases
/// are kept so a restarted concentrator gives each subscriber its previous port set.
struct SubscriberOptions: ParsableArguments {
    @Option(name: .customLong("subscribers"),
            help: ArgumentHelp("Subscribers file: one line per subscriber, `ID PREFIX... [delegated PREFIX...]`: its id, the prefixes its CPE connects from on every access link (all its links share one port set), then the prefixes it may use as preserved sources. `#` starts a comment. Sources in no line are default subscribers by prefix (--subscriber-prefix-length). SIGHUP reloads it; a bad line is refused with its number and the file in force stays.", valueName: "file"))
    var subscribersFile: String?

    @Option(help: ArgumentHelp("Prefix lengths of default subscribers, IPV4,IPV6: sources in no line of --subscribers that share such a prefix are one subscriber (one port set).", valueName: "v4,v6"))
    var subscriberPrefixLength = "32,56"

    @Option(help: ArgumentHelp("Directory of the lease database (leases.sqlite, SQLite): leases are written at allocation, renewal and release, and read back at start-up, so every subscriber keeps its pool address and PSID across restarts. Made if missing (its parent must exist); an unreadable or corrupt database stops start-up.", valueName: "dir"))
    var stateDir = "/var/lib/plainmode"

    @Flag(help: "Keep leases in memory only (no --state-dir): after a restart every subscriber may get another address and port set. For labs.")
    var ephemeralLeases = false

    func validate() throws {
        _ = try prefixLengths()
    }

    func prefixLengths() throws -> (v4: Int, v6: Int) {
        let parts = subscriberPrefixLength.split(separator: ",")
        guard parts.count == 2, let v4 = Int(parts[0]), let v6 = Int(parts[1]), (0...32).contains(v4), (0...128).contains(v6) else {
            throw ValidationError("--subscriber-prefix-length \(subscriberPrefixLength): expected IPV4,IPV6 lengths such as 32,56")
        }
        return (v4, v6)
    }

    /// The subscribers file read and checked, or only default subscribers without one.
    func loadDirectory() throws -> SubscriberDirectory {
        let (v4, v6) = try prefixLengths()
        guard let path = subscribersFile else {
            do { return try SubscriberDirectory([], defaultIPv4PrefixLength: v4, defaultIPv6PrefixLength: v6) } catch {
                throw StartupRefusal("\(error)")
            }
        }
        let text: String
        do { text = try FileContents.text(atPath: path, limit: 256 << 20) } catch {
            throw StartupRefusal("--subscribers \(path): \(error)")
        }
        do {
            return try SubscriberDirectory.parse(text, defaultIPv4PrefixLength: v4, defaultIPv6PrefixLength: v6)
        } catch {
            throw StartupRefusal("--subscribers \(path): \(error)")
        }
    }

    /// The lease database under --state-dir, opened and checked; nil with --ephemeral-leases.
    func openDatabase() throws -> LeaseDatabase? {
        guard !ephemeralLeases else { return nil }
        if mkdir(stateDir, 0o700) != 0 && errno != EEXIST {
            throw StartupRefusal("--state-dir \(stateDir): cannot make it: \(Errno(rawValue: errno))")
        }
        do { return try LeaseDatabase(path: stateDir + "/leases.sqlite") } catch {
            throw StartupRefusal("\(error); it was left as it is: move it away to start with no leases, or restore it from a backup")
        }
    }
}
