import BridgeConfig
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// `upstream.kind: ws`: the bridge relays to Mosquitto's websockets listener.
@Suite("WebSocket upstream", .timeLimit(.minutes(2)))
struct WebSocketUpstreamTests {
    /// The bridge in front of a Mosquitto with a websockets listener, as its `ws` upstream; `configure` adds to that.
    static func withWebSocketUpstream(
        configure: (inout BridgeConfiguration) -> Void = { _ in }, admin: Bool = false, _ body: (BridgeHarness) async throws -> Void
    ) async throws {
        let broker = try await MosquittoProcess.start(websockets: true)
        try await BridgeHarness.with(
            configure: { config in
                config.upstream.kind = .ws
                config.upstream.port = broker.websocketsPort!
                config.upstream.path = "/mqtt"
                config.admin.brokerPort = broker.port
                configure(&config)
            }, broker: broker, admin: admin, body)
        await broker.stop()
    }

    @Test("Mini-program route: no subprotocol from the client, mqtt towards Mosquitto, none in the 101; relays both ways")
    func miniprogramRoute() async throws {
        try await Self.withWebSocketUpstream { bridge in
            let (response, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            #expect(response.status == 101)
            #expect(response.values("Sec-WebSocket-Protocol").isEmpty)
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "ws-up-1"))
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            try await ws.sendBinary(MQTTTestPackets.subscribe("wsup/#", qos: 1, packetID: 3))
            #expect(try await ws.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x03, 0x01])

            let direct = try await bridge.directClient(clientID: "ws-up-direct")
            let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let publish = MQTTTestPackets.publish("wsup/big", payload: payload)
            try await direct.send(publish)
            #expect(try await ws.receiveBinaryMessage(timeout: .seconds(20)) == publish, "one packet per frame, unchanged")

            try await direct.send(MQTTTestPackets.subscribe("wsdown/#", packetID: 1))
            _ = try await direct.receivePacket()
            let upward = MQTTTestPackets.publish("wsdown/x", payload: Array("from the client".utf8))
            try await ws.sendBinary(upward)
            #expect(try await direct.receivePacket() == upward)
            await direct.close()
        }
    }

    @Test("Passthrough route: the client's offer goes to Mosquitto and its answer comes back unchanged")
    func passthroughRoute() async throws {
        try await Self.withWebSocketUpstream { bridge in
            let (response, client) = try await bridge.connect(path: "/mqtt", subprotocols: ["mqtt"])
            #expect(response.status == 101)
            #expect(response.values("Sec-WebSocket-Protocol") == ["mqtt"])
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "ws-up-2", version: .v5))
            let connack = try await ws.receiveBinaryMessage()
            #expect(connack.first == 0x20)
            try await ws.close()
            let line = try await bridge.waitForAccessLine(containing: ["client_id=ws-up-2"])
            #expect(line.contains("broker=127.0.0.1:\(bridge.configuration.upstream.port)"), "the broker the session went to: \(line)")
            #expect(line.contains("subprotocol=mqtt"), "the broker's answer, as the client got it")
        }
    }

    @Test("Broker's WebSocket listener down: HTTP 502 before any upgrade")
    func brokerDown() async throws {
        let broker = try await MosquittoProcess.start(websockets: true)
        try await BridgeHarness.with(
            configure: { config in
                config.upstream.kind = .ws
                config.upstream.port = broker.websocketsPort!
                config.admin.brokerPort = broker.port
            }, broker: broker
        ) { bridge in
            await broker.stop()
            let (response, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            #expect(response.status == 502)
            #expect(client == nil)
            #expect(response.body.contains("broker unavailable"))
        }
    }

    @Test("Mosquitto closes: the client gets close 1000")
    func brokerCloses() async throws {
        let broker = try await MosquittoProcess.start(websockets: true)
        try await BridgeHarness.with(
            configure: { config in
                config.upstream.kind = .ws
                config.upstream.port = broker.websocketsPort!
                config.admin.brokerPort = broker.port
            }, broker: broker
        ) { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "ws-up-closed")
            await broker.stop()
            #expect(try await ws.expectClose().code == 1000)
        }
    }
}
