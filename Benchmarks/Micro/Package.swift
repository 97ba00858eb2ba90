// swift-tools-version: 6.1
//
// Microbenchmarks of the relay's hot path (issue 5): the MQTT framer and both relay directions through the real
// codec and session handlers on EmbeddedChannels — no sockets, no TLS — so they measure the bridge's own code.
// A separate package so that the main build and `make test` do not pull in the benchmark tooling.
//
//   cd Benchmarks/Micro && swift package benchmark            # all
//   swift package benchmark --filter "broker→client"          # one
import Foundation
import PackageDescription

// A path dependency is known by its directory's name, which is whatever the clone was called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let bridge = root.lastPathComponent.lowercased()

let package = Package(
    name: "mqtt-ws-bridge-micro-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "Relay",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MQTTWire", package: bridge),
                .product(name: "RelayRig", package: bridge),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/Relay",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
