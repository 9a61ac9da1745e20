import ArgumentParser

/// The one binary: operator tools now; the concentrator and CPE roles join as subcommands.
@main
struct Plainmode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plainmode",
        abstract: "MPTCP plain-mode concentrator and CPE (draft-boucadair-mptcp-plain-mode-08).",
        discussion: """
            A CPE with several access links opens MPTCP connections to the concentrator and puts \
            Plain Mode options in the SYN data saying where the traffic goes; the concentrator \
            relays it to the Internet over plain TCP, or UDP with 16-bit length framing.
            """,
        subcommands: [ConcentratorCommand.self, CPECommand.self, CtlCommand.self, DecodeCommand.self, PortsetCommand.self]
    )
}
