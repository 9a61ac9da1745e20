import ArgumentParser

@main
struct Plainmode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plainmode",
        abstract: "MPTCP plain-mode concentrator and CPE (draft-boucadair-mptcp-plain-mode-08).",
        subcommands: []
    )
}
