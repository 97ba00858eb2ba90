import BridgeConfig
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// Production hardening: ws+wss on one port, keepalive pings, per-address limits, Origin, connection cap.
@Suite("Hardening", .timeLimit(.minutes(2)))
struct HardeningTests {
    static func withAutoListener(
        _ configure: @escaping (inout BridgeConfiguration) -> Void = { _ in }, _ body: (BridgeHarness, Int) async throws -> Void
    ) async throws {
        try await BridgeHarness.with(configure: { config in
            var auto = config.listeners.first { $0.name == "wss" }!
            auto.name = "auto"
            auto.mode = .auto
            config.listeners.append(auto)
            configure(&config)
        }) { bridge in
            let port = try #require(try await bridge.server.listeners().first { $0.name == "auto" }?.port)
            try await body(bridge, port)
        }
    }

    @Test("An auto listener serves a ws and a wss client on the same port")
    func autoListener() async throws {
        try await Self.withAutoListener { bridge, port in
            let (plainResponse, plainClient) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: port, path: "/wss", subprotocols: nil)
            #expect(plainResponse.status == 101)
            let (tlsResponse, tlsClient) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: port, path: "/wss", tls: try BridgeHarness.tls, subprotocols: nil)
            #expect(tlsResponse.status == 101)
            for (client, id) in [(try #require(plainClient), "auto-ws"), (try #require(tlsClient), "auto-wss")] {
                try await client.sendBinary(MQTTTestPackets.connect(clientID: id))
                #expect(try await client.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            }
        }
    }

    @Test("An auto listener closes a connection that sends nothing within the handshake timeout")
    func autoListenerSilentClient() async throws {
        try await Self.withAutoListener({ $0.timeouts.handshake = .milliseconds(300) }) { _, port in
            let client = try await TestTCPClient.connect(host: "127.0.0.1", port: port)
            try await client.expectClosed(timeout: .seconds(5))
        }
    }

    @Test("A client that does not answer pings is closed with 1001; one that answers stays")
    func keepalivePings() async throws {
        try await BridgeHarness.with(configure: { config in
            for index in config.routes.indices {
                config.routes[index].pingInterval = .milliseconds(200)
                config.routes[index].pingTimeout = .milliseconds(300)
            }
        }) { bridge in
            let (_, silentClient) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: bridge.wssPort, path: "/wss", tls: try BridgeHarness.tls, subprotocols: nil,
                options: .init(answerPings: false))
            let silent = try #require(silentClient)
            try await silent.sendBinary(MQTTTestPackets.connect(clientID: "deaf"))
            #expect(try await silent.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)

            let lively = try await bridge.connectMQTT(path: "/wss", clientID: "lively")

            let close = try await silent.expectClose(timeout: .seconds(5))
            #expect(close.code == 1001)
            #expect(!silent.receivedPings.isEmpty)
            let line = try await bridge.waitForAccessLine(containing: ["client_id=deaf"])
            #expect(line.contains("no answer to ping"))

            // The answering client was pinged too and is still relaying.
            #expect(!lively.receivedPings.isEmpty)
            try await lively.sendBinary(MQTTTestPackets.pingreq)
            #expect(try await lively.receiveBinaryMessage() == MQTTTestPackets.pingresp)
        }
    }

    @Test("Per-address session cap: the session over the limit gets 429")
    func perAddressSessionCap() async throws {
        try await BridgeHarness.with(configure: {
            $0.limits.maxSessionsPerIP = 2; $0.limits.connectionRatePerIP = 0
        }) { bridge in
            let first = try await bridge.connectMQTT(path: "/wss", clientID: "cap-1")
            let second = try await bridge.connectMQTT(path: "/wss", clientID: "cap-2")
            let (third, _) = try await bridge.connect(path: "/wss", subprotocols: nil)
            #expect(third.status == 429)
            #expect(third.body.contains("too many sessions"))
            // A slot frees up when a session ends.
            try await first.close()
            try await bridge.waitUntil { (try? await bridge.connect(path: "/wss", subprotocols: nil).response.status) == 101 }
            withExtendedLifetime(second) {}
        }
    }

    @Test("Per-address connection rate: a burst beyond the bucket gets 429 with Retry-After")
    func perAddressRate() async throws {
        try await BridgeHarness.with(configure: {
            $0.limits.connectionRatePerIP = 0.5; $0.limits.connectionBurstPerIP = 3
        }) { bridge in
            for _ in 0..<3 {
                let (response, _) = try await bridge.connect(path: "/wss", subprotocols: nil)
                #expect(response.status == 101)
            }
            let (limited, _) = try await bridge.connect(path: "/wss", subprotocols: nil)
            #expect(limited.status == 429)
            #expect(Int(limited.values("Retry-After").first ?? "") ?? 0 >= 1)
        }
    }

    @Test("Origin allow list: a listed origin passes, others and (by config) missing ones get 403")
    func originAllowList() async throws {
        try await BridgeHarness.with(configure: { config in
            let index = config.routes.firstIndex { $0.name == "browser" }!
            config.routes[index].allowedOrigins = ["https://app.example.com", "https://*.dashboards.example.com"]
            config.routes[index].allowMissingOrigin = false
        }) { bridge in
            let (allowed, _) = try await bridge.connect(path: "/mqtt", extraHeaders: [("Origin", "https://app.example.com")])
            #expect(allowed.status == 101)
            let (wildcard, _) = try await bridge.connect(path: "/mqtt", extraHeaders: [("Origin", "https://ops.dashboards.example.com")])
            #expect(wildcard.status == 101)
            let (evil, _) = try await bridge.connect(path: "/mqtt", extraHeaders: [("Origin", "https://evil.example.net")])
            #expect(evil.status == 403)
            #expect(evil.body.contains("evil.example.net"))
            let (missing, _) = try await bridge.connect(path: "/mqtt")
            #expect(missing.status == 403)
            // Routes without a list are unaffected.
            let (other, _) = try await bridge.connect(
                path: "/wss", subprotocols: nil, extraHeaders: [("Origin", "https://evil.example.net")])
            #expect(other.status == 101)
        }
    }

    @Test("max_connections: a connection over the cap is closed at accept")
    func connectionCap() async throws {
        try await BridgeHarness.with(configure: { $0.limits.maxConnections = 2 }) { bridge in
            let first = try await bridge.connectMQTT(path: "/wss", clientID: "conn-1", tls: false)
            let second = try await bridge.connectMQTT(path: "/wss", clientID: "conn-2", tls: false)
            let third = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.wsPort)
            try await third.expectClosed(timeout: .seconds(5))
            withExtendedLifetime((first, second)) {}
        }
    }
}

extension BridgeHarness {
    /// Polls `condition` until it holds (bounded).
    func waitUntil(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("condition not met within \(timeout)")
    }
}
