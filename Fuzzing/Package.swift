// swift-tools-version: 6.1
//
// Coverage-guided fuzz targets (libFuzzer) for the bridge's parsers of untrusted input: issue 12 §2.
// A separate package, so that `swift build` and `make test` of the bridge never compile them; `Scripts/fuzz` builds
// them with `--sanitize fuzzer --sanitize address` into `.build-fuzz` and runs them. docs/RELIABILITY.md says how.
//
// Each fuzz target is an executable whose only entry point is `LLVMFuzzerTestOneInput` (libFuzzer supplies `main`),
// in Targets/<name>/, with its seed corpus in Seeds/<name>/ and, optionally, a dictionary in Dictionaries/<name>.dict.
// Adding one: that directory and one `fuzzTarget` line below; Scripts/fuzz finds it by its directory.
import Foundation
import PackageDescription

// A path dependency is known by its directory's name, which is whatever the clone was called. (This directory is
// not called Fuzz because a clone called fuzz would then have the same identity as this package.)
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let bridge = root.lastPathComponent.lowercased()

/// A fuzz target named `name` (its directory under Targets/) that tests the bridge's `modules`.
func fuzzTarget(_ name: String, _ modules: [String], _ other: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + modules.map { .product(name: $0, package: bridge) } + other,
        path: "Targets/\(name)"
    )
}

let package = Package(
    name: "mqtt-ws-bridge-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // Shared by the targets: invariant checks that stop the run with a message, reading the input in parts.
        .target(name: "FuzzSupport", path: "Support"),
        // Real MQTT packets for the seeds of the MQTT targets.
        .target(
            name: "SamplePackets",
            dependencies: [.product(name: "MQTTWire", package: bridge), .product(name: "NIOCore", package: "swift-nio")],
            path: "Samples"
        ),
        fuzzTarget("mqtt-stream", ["MQTTWire"], ["SamplePackets", .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("mqtt-packets", ["MQTTWire"], ["SamplePackets", .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("proxy-protocol", ["ClientAddress"], [.product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("configuration", ["BridgeConfig"]),
        fuzzTarget(
            "http-upgrade", ["BridgeFrontEnd", "BridgeConfig", "BridgeServer"],
            [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
            ]),
        fuzzTarget("admin-publish", ["BridgeAdmin", "MosquittoClient"]),
        fuzzTarget(
            "jwt", ["EdgeAuth"],
            [
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        fuzzTarget(
            "websocket-frame", ["WebSocketTransport"],
            [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]),
    ]
)
