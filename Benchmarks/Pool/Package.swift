// swift-tools-version: 6.1
//
// The cost of choosing an upstream server for a new session (UpstreamPool), in isolation: a tight loop of
// `view.plan(clientID:).next()` over realistic client ids, per balancing rule and pool size; and a new session's
// whole use of the pool through the relay (`PooledUpstreamServers`: dialPlan, next, sessionOpened, sessionClosed).
// A separate package so that the main build stays lean.
//
//   cd Benchmarks/Pool && swift build -c release
//   .build/release/PoolChoice                          # ns per choice (wall clock: noisy on a shared machine)
//   Benchmarks/Pool/run                                # also instructions and allocations per choice (valgrind)
import Foundation
import PackageDescription

// A path dependency is known by its directory's name, which is whatever the clone was called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let bridge = root.lastPathComponent.lowercased()

let package = Package(
    name: "mqtt-ws-bridge-pool-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "PoolChoice",
            dependencies: [
                .product(name: "UpstreamPool", package: bridge),
                .product(name: "BridgeRelay", package: bridge),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        )
    ]
)
