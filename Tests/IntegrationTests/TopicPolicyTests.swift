import BridgeConfig
import BridgeTestSupport
import MQTTWire
import Testing

/// `routes.<name>.topic_policy`: allow lists for what clients on a route may publish and subscribe to.
@Suite("Topic policy", .timeLimit(.minutes(2)))
struct TopicPolicyTests {
    static func withPolicy(_ body: (BridgeHarness) async throws -> Void) async throws {
        try await BridgeHarness.with(
            configure: { config in
                let index = config.routes.firstIndex { $0.name == "miniprogram" }!
                config.routes[index].topicPolicy = TopicPolicyConfiguration(publish: ["up/+/data"], subscribe: ["push/#"])
            }, body)
    }

    @Test("An allowed publish and an allowed subscribe pass; the broker receives the packets unchanged")
    func allowedPasses() async throws {
        try await Self.withPolicy { bridge in
            let watcher = try await bridge.directClient(clientID: "policy-watch")
            try await watcher.send(MQTTTestPackets.subscribe("up/#", packetID: 1))
            _ = try await watcher.receivePacket()

            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "policy-ok")
            try await ws.sendBinary(MQTTTestPackets.subscribe("push/user/+", qos: 1, packetID: 4))
            #expect(try await ws.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x04, 0x01])
            let publish = MQTTTestPackets.publish("up/dev-7/data", payload: [1, 2, 3])
            try await ws.sendBinary(publish)
            #expect(try await watcher.receivePacket() == publish)

            // Pushes still arrive through the allowed subscription.
            let push = MQTTTestPackets.publish("push/user/42", payload: Array("hi".utf8))
            try await watcher.send(push)
            #expect(try await ws.receiveBinaryMessage() == push)
            await watcher.close()
        }
    }

    @Test("A forbidden subscribe disconnects an MQTT 3.1.1 client with close 1008 and the reason")
    func forbiddenSubscribe311() async throws {
        try await Self.withPolicy { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "policy-sub")
            try await ws.sendBinary(MQTTTestPackets.subscribe("admin/#", packetID: 5))
            let close = try await ws.expectClose()
            #expect(close.code == 1008)
            #expect(close.reason.contains("admin/#"))
            let line = try await bridge.waitForAccessLine(containing: ["client_id=policy-sub"])
            #expect(line.contains("topic policy"))
            #expect(line.contains("close_code=1008"))
        }
    }

    @Test("A forbidden subscribe disconnects an MQTT 5.0 client with DISCONNECT 0x87 Not authorized first")
    func forbiddenSubscribe5() async throws {
        try await Self.withPolicy { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "policy-v5", version: .v5)
            try await ws.sendBinary(MQTTTestPackets.subscribe("push-other/#", packetID: 5, version: .v5))
            #expect(try await ws.receiveBinaryMessage() == [0xE0, 0x02, 0x87, 0x00])
            #expect(try await ws.expectClose().code == 1008)
        }
    }

    @Test("A forbidden publish disconnects the client; nothing reaches subscribers")
    func forbiddenPublish() async throws {
        try await Self.withPolicy { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "policy-pub")
            try await ws.sendBinary(MQTTTestPackets.publish("push/user/42", payload: [6, 6, 6]))
            let close = try await ws.expectClose()
            #expect(close.code == 1008)
            #expect(close.reason.contains("push/user/42"))
        }
    }

    @Test("Routes without a policy are unaffected")
    func otherRouteUnaffected() async throws {
        try await Self.withPolicy { bridge in
            let ws = try await bridge.connectMQTT(path: "/mqtt", subprotocols: ["mqtt"], clientID: "no-policy")
            try await ws.sendBinary(MQTTTestPackets.subscribe("admin/#", packetID: 5))
            #expect(try await ws.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x05, 0x00])
        }
    }
}
