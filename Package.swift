// swift-tools-version: 6.1
//
// mqtt-ws-bridge: MQTT over WebSocket (wss) in front of Mosquitto.
// Module map and the reasons behind it: docs/ARCHITECTURE.md.
// Imports point one way: executable → BridgeServer → BridgeFrontEnd → BridgeRelay → {MQTTWire, WebSocketTransport, BridgeTLS}.
// Only BridgeServer (its Assembly/ maps the file's schema onto each module's settings) and the executable import
// BridgeConfig; the runtime modules take their own settings structs.
//
// Access: what only this package's modules, executables, benchmarks and tests use is `package`. `public` is exactly
// what a separate package uses, plus what Swift then demands (the types in those signatures and default arguments, the
// witnesses of public conformances). The separate packages, and what they use:
//   Fuzzing/             MQTTWire, WebSocketTransport (codec and its configuration), ClientAddress (PROXY protocol),
//                        BridgeConfig (loader, routes), BridgeFrontEnd (UpgradeDecision), BridgeServer
//                        (FrontEndSettings(_:)), BridgeAdmin (PublishRequest), MosquittoClient (MosquittoMessage), EdgeAuth
//   Benchmarks/Micro     MQTTWire (framer), RelayRig (the session on EmbeddedChannels, shared with relay-cost)
//   Benchmarks/Pool      UpstreamPool (pool, view, plan), BridgeRelay (PooledUpstreamServers)
//   Benchmarks/EdgeAuth  EdgeAuth (TokenVerifier)
// (Benchmarks/Admission, Benchmarks/RelayCost and Benchmarks/RelayRig are targets of this package.) Scripts/check-outside-access
// type-checks them all against the debug build as an outside package sees it.

import PackageDescription

/// The relay's hot path (frames, packets, glue) in release builds: no runtime exclusivity checks. With them on, a
/// relayed message costs 23% (broker → client) and 59% (client → broker) more instructions (swift_beginAccess on every
/// frame, packet and buffer access; Benchmarks/RelayCost, docs/PERFORMANCE.md "Relay cost per message"); debug
/// builds — and so every test — keep them on, so a violation is still caught there.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
]

/// The one lock type of the package (`NIOLockedValueBox`): a pthread mutex, which ThreadSanitizer sees. The standard
/// library's `Synchronization.Mutex` is not used: on Linux a contended lock is taken in the kernel (a PI futex) where
/// ThreadSanitizer cannot see it, so every access it guards would be reported as a race (docs/RELIABILITY.md,
/// Sanitizers).
let lockedValueBox: Target.Dependency = .product(name: "NIOConcurrencyHelpers", package: "swift-nio")

let package = Package(
    name: "mqtt-ws-bridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mqtt-ws-bridge", targets: ["mqtt-ws-bridge"]),
        .executable(name: "mqtt-ws-bench", targets: ["mqtt-ws-bench"]),
        // The client side of Benchmarks/soak (persistent sessions through bridge and broker restarts).
        .executable(name: "mqtt-ws-soak", targets: ["mqtt-ws-soak"]),
        // For the microbenchmarks in Benchmarks/Micro (a separate package, so ordinary builds stay lean): the relay
        // rig (the session on EmbeddedChannels) and MQTTWire's framer, which the fuzz targets use too.
        .library(name: "RelayRig", targets: ["RelayRig"]),
        .library(name: "MQTTWire", targets: ["MQTTWire"]),
        // For the websocket-frame fuzz target in Fuzzing (a separate package too).
        .library(name: "WebSocketTransport", targets: ["WebSocketTransport"]),
        // For Benchmarks/Pool (the cost of one upstream choice).
        .library(name: "BridgeRelay", targets: ["BridgeRelay"]),
        .library(name: "UpstreamPool", targets: ["UpstreamPool"]),
        // For the verification cost measurement in Benchmarks/EdgeAuth.
        .library(name: "EdgeAuth", targets: ["EdgeAuth"]),
        // For the fuzz targets in Fuzzing (a separate package too).
        .library(name: "ClientAddress", targets: ["ClientAddress"]),
        .library(name: "BridgeConfig", targets: ["BridgeConfig"]),
        .library(name: "BridgeFrontEnd", targets: ["BridgeFrontEnd"]),
        .library(name: "BridgeAdmin", targets: ["BridgeAdmin"]),
        // The assembly (configuration → each module's settings), for the http-upgrade fuzz target's route tables.
        .library(name: "BridgeServer", targets: ["BridgeServer"]),
        .library(name: "MosquittoClient", targets: ["MosquittoClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Configuration layering (file, environment, --set). No traits: its YAML and command-line providers do not
        // fit (BridgeConfig's ConfigurationFile and ConfigurationLayers say why), and JSON is not used.
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: []),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Trimming ASCII whitespace from protocol text, for the modules that stay free of Foundation.
        .target(name: "TextTrimming"),
        // What configuration checking and the modules that take settings must agree on: `host:port` text, loopback
        // addresses, SNI server-name patterns, "did you mean" suggestions.
        .target(name: "SettingsSupport"),
        // MQTT wire format: fixed header, variable byte integers, framing, CONNECT inspection.
        .target(name: "MQTTWire", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: hotPath),
        // The OS CSPRNG in batches (getrandom), for WebSocket masking keys.
        .target(name: "CSystemRandom"),
        // Foundation's JSON with what its results hide (where a syntax error is, member order, repeated names), for
        // the publish API's bodies and the JWT verifier's strict reading of tokens.
        .target(name: "JSONInspection"),
        // RFC 6455 frames, masking, handshake key, and the relay-oriented message codec.
        .target(
            name: "WebSocketTransport",
            dependencies: [
                "CSystemRandom", "TextTrimming",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: hotPath
        ),
        // What every listening socket needs: a cap on open connections (and their count), accept errors logged.
        .target(
            name: "ListenerSupport",
            dependencies: [
                lockedValueBox,
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The real client address: trusted-proxy CIDRs, PROXY protocol v1/v2 (parse, encode, handler), X-Forwarded-For.
        .target(name: "ClientAddress", dependencies: ["TextTrimming", .product(name: "NIOCore", package: "swift-nio"), lockedValueBox]),
        // The open sessions for the admin API (who is connected, a way to reach each one); touched per session, never per message.
        .target(name: "SessionRegistry", dependencies: ["ClientAddress", lockedValueBox]),
        // The upstream broker pool: server list, rendezvous/least-sessions/round-robin choice, passive and active
        // health, session counts, readiness. No dependencies but the lock: the relay consults it on every loop for every
        // session.
        .target(name: "UpstreamPool", dependencies: [lockedValueBox]),
        // Edge authentication: JWT verification (jwt-kit), token sources, identity → topic templates, HTTP auth callout.
        // Takes its own settings structs (mapped from BridgeConfig by the server), so it does not import the YAML schema.
        .target(
            name: "EdgeAuth",
            dependencies: [
                lockedValueBox,
                "MQTTWire", "JSONInspection",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Log lines (logfmt or JSON) written by a thread of their own: event loops only queue them (bounded, drops counted).
        .target(
            name: "BridgeLogging",
            dependencies: [
                lockedValueBox,
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Configuration structs; file, environment and --set layers (swift-configuration) with located errors; validation.
        .target(
            name: "BridgeConfig",
            dependencies: [
                lockedValueBox,
                // upstream.servers are parsed and checked by the pool's own rules (one parser, one validation).
                "UpstreamPool", "SettingsSupport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // TLS policy and certificates: listener contexts (certificate store, SNI, reload, expiry), the upstream TLS
        // client context, the development CA.
        .target(
            name: "BridgeTLS",
            dependencies: [
                lockedValueBox,
                "SettingsSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The WebSocket ⇄ MQTT ⇄ upstream relay: session state machine, glue, upstream connector.
        .target(
            name: "BridgeRelay",
            dependencies: nio + [
                "MQTTWire", "WebSocketTransport", "BridgeTLS", "SettingsSupport", "TextTrimming", "UpstreamPool", "SessionRegistry",
                "EdgeAuth",
                lockedValueBox,
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: hotPath
        ),
        // HTTP/1.1 upgrade: routes, subprotocol policy, refusals.
        .target(
            name: "BridgeFrontEnd",
            dependencies: nio + [
                lockedValueBox,
                "BridgeRelay", "WebSocketTransport", "SettingsSupport", "ClientAddress", "TextTrimming", "SessionRegistry", "EdgeAuth",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Listeners (plain, TLS, auto; PROXY protocol), lifecycle (start, drain, stop), logging setup.
        .target(
            name: "BridgeServer",
            dependencies: nio + [
                lockedValueBox,
                "BridgeFrontEnd", "BridgeRelay", "BridgeTLS", "BridgeConfig", "BridgeAdmin", "MosquittoClient", "ClientAddress",
                "ListenerSupport", "EdgeAuth", "UpstreamPool", "SessionRegistry", "SettingsSupport", "WebSocketTransport",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // libmosquitto, wrapped once: only MosquittoClient imports CMosquitto.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .target(
            name: "MosquittoClient",
            dependencies: [
                lockedValueBox,
                "CMosquitto",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The admin listener: /healthz, /readyz (libmosquitto probe), /metrics (Prometheus), POST /api/v1/publish, the
        // sessions API over SessionRegistry.
        // Learns the bridge's state through a closure, so it does not import BridgeServer. Foundation for JSON and base64.
        .target(
            name: "BridgeAdmin",
            dependencies: nio + [
                lockedValueBox,
                "MosquittoClient", "SettingsSupport", "BridgeLogging", "ListenerSupport", "TextTrimming", "UpstreamPool", "SessionRegistry",
                "ClientAddress", "JSONInspection",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "mqtt-ws-bridge",
            dependencies: [
                "BridgeServer", "BridgeTLS", "BridgeConfig", "BridgeAdmin", "BridgeRelay", "MosquittoClient", "BridgeLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The load generator's engine (mqtt://, ws://, wss:// clients; throughput, latency, connect, hold scenarios).
        .target(
            name: "BenchCore",
            dependencies: nio + [
                "MQTTWire", "WebSocketTransport",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // mqtt-ws-bench: the load generator users run against their own deployment (docs/PERFORMANCE.md).
        .executableTarget(
            name: "mqtt-ws-bench",
            dependencies: ["BenchCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // mqtt-ws-soak: numbered QoS 2 messages through faults, lost and duplicated counted (Benchmarks/soak).
        .executableTarget(
            name: "mqtt-ws-soak",
            dependencies: nio + [
                "BenchCore", "MQTTWire",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Per-address admission at 50,000 addresses (issue 12 §6): `swift build -c release --product admission-bench`.
        .executableTarget(name: "admission-bench", dependencies: ["BridgeFrontEnd"], path: "Benchmarks/Admission"),
        // The relay's hot path per message, for callgrind (issue 10): `swift build -c release --product relay-cost`.
        .executableTarget(
            name: "relay-cost",
            dependencies: ["RelayRig", .product(name: "NIOCore", package: "swift-nio")],
            path: "Benchmarks/RelayCost"
        ),
        // The session on EmbeddedChannels that relay-cost and Benchmarks/Micro both measure (one rig, one pipeline).
        .target(
            name: "RelayRig",
            dependencies: [
                "BridgeRelay", "MQTTWire", "WebSocketTransport",
                // The TLS pipeline rig: the wss listener's TLS context and front end, as the bridge builds them.
                "BridgeConfig", "BridgeFrontEnd", "BridgeServer", "BridgeTLS", .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Benchmarks/RelayRig"
        ),
        // Shared by the test targets: a Mosquitto process on an ephemeral port, raw WebSocket/MQTT clients.
        .target(
            name: "BridgeTestSupport",
            dependencies: nio + [
                lockedValueBox,
                "MQTTWire",
                // ES256 tokens signed in the test (TestTokenIssuer).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // A WebSocket echo server on the transport, for the Autobahn testsuite (Scripts/autobahn). Test-only: not a
        // product, shipped nowhere.
        .executableTarget(
            name: "autobahn-echo-server",
            dependencies: nio + ["WebSocketTransport", .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tests/AutobahnEchoServer",
            swiftSettings: hotPath
        ),
        .testTarget(name: "MQTTWireTests", dependencies: ["MQTTWire", "BridgeTestSupport"]),
        .testTarget(name: "TextTrimmingTests", dependencies: ["TextTrimming"]),
        .testTarget(
            name: "WebSocketTransportTests",
            dependencies: ["WebSocketTransport", "BridgeTestSupport", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(name: "BridgeConfigTests", dependencies: ["BridgeConfig", "UpstreamPool"]),
        .testTarget(name: "UpstreamPoolTests", dependencies: ["UpstreamPool", lockedValueBox]),
        .testTarget(name: "SessionRegistryTests", dependencies: ["SessionRegistry", "ClientAddress", lockedValueBox]),
        .testTarget(
            name: "BridgeTLSTests",
            dependencies: ["BridgeTLS", .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        .testTarget(
            name: "BridgeLoggingTests",
            dependencies: [
                "BridgeLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "EdgeAuthTests",
            dependencies: [
                "EdgeAuth", "MQTTWire", "BridgeTestSupport",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .testTarget(
            name: "ClientAddressTests",
            dependencies: ["ClientAddress", "BridgeTestSupport", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "BridgeRelayTests",
            dependencies: [
                lockedValueBox,
                "BridgeRelay", "BridgeFrontEnd", "BridgeConfig", "BridgeServer", "MQTTWire", "WebSocketTransport", "BridgeTestSupport",
                "SessionRegistry", "EdgeAuth",
                // relay-cost's TLS pipeline rig, kept working (TLSPipelineRigTests).
                "RelayRig",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "MosquittoClientTests", dependencies: ["MosquittoClient", "BridgeTestSupport", lockedValueBox]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                lockedValueBox,
                "BridgeServer", "BridgeTLS", "BridgeConfig", "BridgeTestSupport", "MQTTWire", "BridgeAdmin", "BridgeRelay",
                "MosquittoClient", "ClientAddress", "WebSocketTransport", "BenchCore", "BridgeLogging", "BridgeFrontEnd", "EdgeAuth",
                "UpstreamPool", "SessionRegistry", "SettingsSupport",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BenchCoreTests",
            dependencies: [
                "BenchCore", "MQTTWire", "WebSocketTransport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ]
)
