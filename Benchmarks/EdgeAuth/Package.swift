// swift-tools-version: 6.1
//
// What one token verification costs on a connection (issue 13): ES256 and RS256 through EdgeAuth's synchronous
// verifier (the way a channel handler calls it), and through jwt-kit's own async actor API for comparison.
// A separate package so that the main build does not carry it; results in docs/PERFORMANCE.md.
//
//   cd Benchmarks/EdgeAuth && swift run -c release edge-auth-cost        # wall and CPU time per token, three paths
//   .build/release/edge-auth-cost count es256 1000                       # only the verifications, for a profiler
import Foundation
import PackageDescription

// A path dependency is known by its directory's name, which is whatever the clone was called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let bridge = root.lastPathComponent.lowercased()

let package = Package(
    name: "mqtt-ws-bridge-edge-auth-cost",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "edge-auth-cost",
            dependencies: [
                .product(name: "EdgeAuth", package: bridge),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/EdgeAuthCost"
        )
    ]
)
