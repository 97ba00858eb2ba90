import BridgeConfig
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// The drain through NIOExtras' `ServerQuiescingHelper`: what each kind of connection sees, the grace period's hard
/// close, and the connection count.
@Suite("Drain", .timeLimit(.minutes(2)))
struct DrainTests {
    @Test(
        "connectionCount counts handshakes and sessions; a handshake in progress is closed at once on drain, not at the handshake timeout")
    func handshakesAndCount() async throws {
        try await BridgeHarness.with(configure: { $0.timeouts.handshake = .seconds(60) }) { bridge in
            let session = try await bridge.connectMQTT(path: "/wss", clientID: "drain-count", tls: false)
            let halfway = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.wsPort)
            try await halfway.send(Array("GET /wss HTTP/1.1\r\nHost: x\r\n".utf8))  // no end of head yet
            try await bridge.waitUntil { bridge.server.connectionCount == 2 }

            async let shutdown: Void = bridge.shutdown()
            try await halfway.expectClosed(timeout: .seconds(5))
            #expect(try await session.expectClose().code == 1001)
            await shutdown
            #expect(bridge.server.connectionCount == 0)
            #expect(!bridge.logs.collected.contains { $0.contains("grace period over") })
        }
    }

    @Test("A session that never answers close 1001 is closed hard when the grace period ends, and the drain says so")
    func gracePeriod() async throws {
        try await BridgeHarness.with(configure: {
            $0.shutdown.gracePeriod = .milliseconds(300)
            $0.timeouts.closeHandshake = .seconds(60)
        }) { bridge in
            let (_, stubborn) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: bridge.wsPort, path: "/wss", subprotocols: nil, options: .init(answerClose: false))
            let client = try #require(stubborn)
            try await client.sendBinary(MQTTTestPackets.connect(clientID: "stubborn"))
            #expect(try await client.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            let polite = try await bridge.connectMQTT(path: "/wss", clientID: "polite", tls: false)

            await bridge.shutdown()  // returns: the grace period bounds it
            #expect(try await polite.expectClose().code == 1001)
            try await bridge.waitUntil { client.isTCPClosed }
            #expect(bridge.server.phase == .stopped)
            #expect(bridge.server.connectionCount == 0)
            let line = try #require(bridge.logs.collected.first { $0.contains("grace period over") })
            #expect(line.contains("connections=1"), "\(line)")
        }
    }
}
