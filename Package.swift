// swift-tools-version:6.1
// plainmode: an MPTCP plain-mode concentrator (draft-boucadair-mptcp-plain-mode-08).
// Modules are split by dependency weight: the wire-format modules (WireFormat, PlainMode,
// PortSets, PCP) are pure Swift with no syscalls and no Foundation; heavier layers sit on top.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "plainmode",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plainmode", targets: ["plainmode"]),
        .library(name: "WireFormat", targets: ["WireFormat"]),
        .library(name: "PlainMode", targets: ["PlainMode"]),
        .library(name: "PortSets", targets: ["PortSets"]),
        .library(name: "PCP", targets: ["PCP"]),
        .library(name: "BindingState", targets: ["BindingState"]),
        // For Bench's logger throughput benchmark (LogBenchmarks).
        .library(name: "AllocationLog", targets: ["AllocationLog"]),
        .library(name: "IPFIX", targets: ["IPFIX"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure wire formats: addresses, IPv4/IPv6/TCP/UDP headers, checksums.
        .target(name: "WireFormat", swiftSettings: strict),
        // Plain Mode option codec, PM-block parser, UDP length framing.
        .target(name: "PlainMode", dependencies: ["WireFormat"], swiftSettings: strict),
        // PSID port sets (RFC 7597/7618) and contiguous port ranges (RFC 7753).
        .target(name: "PortSets", swiftSettings: strict),
        // PCP messages (RFC 6887) with the PORT_SET option (RFC 7753).
        .target(name: "PCP", dependencies: ["WireFormat"], swiftSettings: strict),
        // The CPE's PCP client state (RFC 6887 retransmission, renewal, epoch; PORT_SET): pure logic.
        .target(name: "PCPClient", dependencies: ["PCP", "WireFormat"], swiftSettings: strict),
        // IPFIX messages (RFC 7011) carrying RFC 8158 NAT events; PSID port sets as port blocks.
        .target(name: "IPFIX", dependencies: ["WireFormat", "PortSets"], swiftSettings: strict),
        // Per-thread event counters (relaxed atomics) that the control socket sums.
        .target(name: "Counters", swiftSettings: strict),
        // Port-set leases and binding tables shared by the stream and packet planes.
        .target(name: "BindingState", dependencies: ["WireFormat", "PortSets"], swiftSettings: strict),
        // The PCP server's request handling (RFC 6887 MAP/ANNOUNCE, RFC 7753 PORT_SET) over the mapping table; no syscalls.
        .target(name: "PCPServer", dependencies: ["PCP", "BindingState", "WireFormat", "PortSets", "Counters"], swiftSettings: strict),
        // Port-set leases kept durably in SQLite: the database and the writer thread that feeds it.
        .target(
            name: "LeaseStore",
            dependencies: ["BindingState", "WireFormat", "Syscalls", "Counters", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The allocation log: lease, exhaustion and session records through one queue and thread to its outputs.
        .target(
            name: "AllocationLog",
            dependencies: ["BindingState", "WireFormat", "PortSets", "Syscalls", "Counters", "IPFIX", "ExportLog",
                           .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // Linux calls Swift's Glibc module hides behind _GNU_SOURCE (splice, accept4, pipe2).
        .target(name: "CSyscalls"),
        // Typed syscall wrappers: sockets, epoll, pipes, splice, threads, privileges.
        .target(
            name: "Syscalls",
            dependencies: ["CSyscalls", "WireFormat", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // The NAT event log sent off the box: the IPFIX exporter's UDP socket, template timer and counts.
        .target(
            name: "ExportLog",
            dependencies: ["IPFIX", "Syscalls", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // The TCP relay of both roles: listeners, PM block, upstream connect, splice loops.
        .target(
            name: "StreamPlane",
            dependencies: ["Syscalls", "PlainMode", "WireFormat", "BindingState", "Counters", "UDPRelay",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // The daemon's local control socket and the `plainmode ctl` client.
        // UDP over MPTCP shared by both roles and planes: records, raw datagrams, the UDP bindings.
        .target(
            name: "UDPRelay",
            dependencies: ["Syscalls", "WireFormat", "BindingState", "Counters",
                           .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        .target(
            name: "ControlSocket",
            dependencies: ["Syscalls", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // `--metrics-listen`: Prometheus text exposition over swift-nio's HTTP/1.1, rendered at scrape time.
        .target(
            name: "MetricsEndpoint",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: strict
        ),
        // libnetfilter_queue + libmnl, for the packet plane.
        .systemLibrary(
            name: "CNetfilterQueue",
            pkgConfig: "libnetfilter_queue",
            providers: [.apt(["libnetfilter-queue-dev", "libmnl-dev"])]
        ),
        // The NFQUEUE engine: one netlink socket per queue, packets read in place, batched verdicts.
        .target(
            name: "NetfilterQueue",
            dependencies: ["CNetfilterQueue", "CSyscalls", "Counters", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // What the packet plane does with queued packets: the read-only SYN gate and its workers.
        .target(
            name: "PacketPlane",
            dependencies: ["WireFormat", "PlainMode", "BindingState", "Counters", "NetfilterQueue", "Syscalls", "UDPRelay",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // Operator-facing renderings (text and JSON) of the codecs, shared by the CLI and tests.
        .target(
            name: "PlainModeTools",
            dependencies: ["WireFormat", "PlainMode", "PortSets", "PCP"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "plainmode",
            dependencies: [
                "PlainModeTools", "WireFormat", "PlainMode", "PortSets", "PCP", "PCPClient", "CNetfilterQueue",
                "BindingState", "StreamPlane", "ControlSocket", "Syscalls", "NetfilterQueue", "PacketPlane", "LeaseStore", "AllocationLog",
                "MetricsEndpoint", "Counters", "PCPServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // The testbed's one-way delay (this kernel has no netem): holds an NFQUEUE queue's packets.
        // Sends a fixed set of NAT events for two subscribers to an IPFIX collector (the collector tests).
        .executableTarget(name: "ipfix-send", dependencies: ["ExportLog", "IPFIX", "PortSets", "WireFormat", "Syscalls"],
                          path: "Tests/Tools/ipfix-send", swiftSettings: strict),
        .executableTarget(name: "delay-line", dependencies: ["NetfilterQueue"], path: "Tests/Tools/delay-line", swiftSettings: strict),

        .target(name: "FuzzSupport", path: "Tests/Fuzz/FuzzSupport"),
        // libFuzzer targets: build with `swift build --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING`.
        .executableTarget(name: "fuzz-packet", dependencies: ["WireFormat", "FuzzSupport", "TestSupport"], path: "Tests/Fuzz/fuzz-packet"),
        .executableTarget(name: "fuzz-pm-block", dependencies: ["PlainMode", "FuzzSupport", "TestSupport"], path: "Tests/Fuzz/fuzz-pm-block"),
        .executableTarget(name: "fuzz-udp-framing", dependencies: ["PlainMode", "FuzzSupport", "TestSupport"], path: "Tests/Fuzz/fuzz-udp-framing"),
        .executableTarget(name: "fuzz-pcp", dependencies: ["PCP", "FuzzSupport", "TestSupport"], path: "Tests/Fuzz/fuzz-pcp"),
        .executableTarget(name: "fuzz-cpe-pcp", dependencies: ["PCPClient", "PCP", "WireFormat", "FuzzSupport"],
                          path: "Tests/Fuzz/fuzz-cpe-pcp"),
        .executableTarget(name: "fuzz-pcp-server", dependencies: ["PCPServer", "PCP", "BindingState", "PortSets", "WireFormat", "FuzzSupport", "TestSupport"],
                          path: "Tests/Fuzz/fuzz-pcp-server"),

        // Shared by the test and fuzz targets: seeded generator, hex fixtures.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "WireFormatTests", dependencies: ["WireFormat", "TestSupport"]),
        .testTarget(name: "PlainModeTests", dependencies: ["PlainMode", "WireFormat", "TestSupport"]),
        .testTarget(name: "PortSetsTests", dependencies: ["PortSets", "TestSupport"]),
        .testTarget(name: "PCPTests", dependencies: ["PCP", "WireFormat", "TestSupport"]),
        .testTarget(name: "PCPClientTests", dependencies: ["PCPClient", "PCP", "WireFormat"]),
        .testTarget(name: "IPFIXTests", dependencies: ["IPFIX", "PortSets", "WireFormat"]),
        // Real collectors (Debian's nfcapd/nfdump and tshark) in a network namespace; needs root.
        .testTarget(name: "ExportLogTests", dependencies: ["ExportLog", "IPFIX", "Syscalls", "WireFormat", "ipfix-send"]),
        .testTarget(name: "PCPServerTests", dependencies: ["PCPServer", "PCP", "BindingState", "WireFormat", "PortSets", "Counters", "TestSupport"]),
        .testTarget(name: "BindingStateTests", dependencies: ["BindingState", "WireFormat", "PortSets", "TestSupport"]),
        .testTarget(name: "AllocationLogFormatTests", dependencies: ["AllocationLog", "BindingState", "PortSets", "Syscalls", "WireFormat"]),
        .testTarget(name: "LeaseStoreTests", dependencies: ["LeaseStore", "BindingState", "WireFormat", "Syscalls",
                                                            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "CNetfilterQueueTests", dependencies: ["CNetfilterQueue"]),
        .testTarget(name: "PacketPlaneTests", dependencies: ["PacketPlane", "PlainMode", "WireFormat", "TestSupport", "UDPRelay",
                                                            "BindingState", "Counters", "Syscalls", .product(name: "SystemPackage", package: "swift-system")]),
        // Real NFQUEUE in a network namespace the test makes; needs root.
        .target(name: "NamespaceSupport", dependencies: ["Syscalls"], path: "Tests/NamespaceSupport"),
        .testTarget(name: "UDPRelayTests", dependencies: ["UDPRelay", "Syscalls", "PlainMode", "WireFormat", "BindingState", "Counters",
                                                         "NamespaceSupport", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "NetfilterQueueTests", dependencies: ["NetfilterQueue", "Syscalls", "NamespaceSupport", "WireFormat"]),
        .testTarget(name: "MetricsEndpointTests", dependencies: ["MetricsEndpoint"]),
        .testTarget(name: "PlainModeToolsTests", dependencies: ["PlainModeTools", "plainmode"]),
        // The daemon's own code, no namespaces: metric HELP texts of every ctl stats total.
        .testTarget(name: "DaemonMetricsTests", dependencies: ["plainmode", "Counters", "StreamPlane", "UDPRelay", "PacketPlane",
                                                               "NetfilterQueue", "PCPServer", "LeaseStore", "AllocationLog",
                                                               "MetricsEndpoint", "BindingState"]),
        .testTarget(name: "StreamPlaneTests", dependencies: ["StreamPlane", "Syscalls", "ControlSocket", "WireFormat", "TestSupport",
                                                             .product(name: "SystemPackage", package: "swift-system")]),
        // Real kernels: network namespaces, MPTCP, TPROXY; needs root (run by .ci/run).
        // StreamPlane and its state: ConcentratorInboundTests runs a concentrator's stream plane in
        // the testbed with a fixed mapping lookup, before the PCP server exists.
        .testTarget(name: "IntegrationTests", dependencies: ["plainmode", "delay-line", "StreamPlane", "BindingState",
                                                             "PlainMode", "Syscalls", "WireFormat",
                                                             .product(name: "Logging", package: "swift-log")],
                    exclude: ["tools"]),
    ]
)
