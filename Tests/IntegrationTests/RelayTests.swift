import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// End-to-end relay behaviour: real bridge, real Mosquitto, real WebSocket/TLS clients.
@Suite("Relay through a real Mosquitto", .timeLimit(.minutes(2)))
struct RelayTests {
    @Test("WeChat-style client: no subprotocol offered, none answered; receives what a TCP client publishes, byte-exact")
    func weChatClientReceivesPublish() async throws {
        try await BridgeHarness.with { bridge in
            let (response, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            #expect(response.status == 101)
            #expect(response.values("Sec-WebSocket-Protocol").isEmpty, "WeChat rejects a 101 with a subprotocol it did not ask for")
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "wechat-1"))
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            try await ws.sendBinary(MQTTTestPackets.subscribe("push/#", qos: 0, packetID: 7))
            #expect(try await ws.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x07, 0x00])

            let publisher = try await bridge.directClient(clientID: "backend")
            let payload = Array("你好, mini-program \u{1F600}".utf8) + [0x00, 0xFF, 0x80]
            let publish = MQTTTestPackets.publish("push/user/42", payload: payload)
            try await publisher.send(publish)
            let received = try await ws.receiveBinaryMessage()
            #expect(received == publish, "one MQTT packet per binary frame, unchanged")
            await publisher.close()
            try await ws.close()
        }
    }

    @Test("WeChat-style client publishes; a TCP subscriber receives it byte-exact")
    func weChatClientPublishes() async throws {
        try await BridgeHarness.with { bridge in
            let subscriber = try await bridge.directClient(clientID: "backend-sub")
            try await subscriber.send(MQTTTestPackets.subscribe("up/#", qos: 1, packetID: 3))
            #expect(try await subscriber.receivePacket() == [0x90, 0x03, 0x00, 0x03, 0x01])

            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "wechat-pub")
            let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
            try await ws.sendBinary(MQTTTestPackets.publish("up/sensor", payload: payload))
            let received = try await subscriber.receivePacket()
            let publish = try MQTTTestPackets.decodePublish(received)
            #expect(publish.info.topic == "up/sensor")
            #expect(Array(publish.payload.readableBytesView) == payload)
            await subscriber.close()
        }
    }

    @Test("Browser-style client on /mqtt: the offered subprotocol is echoed", arguments: [["mqtt"], ["mqttv3.1"], ["mqtt", "mqttv3.1"]])
    func browserSubprotocolEchoed(offer: [String]) async throws {
        try await BridgeHarness.with { bridge in
            let (response, client) = try await bridge.connect(path: "/mqtt", subprotocols: offer)
            #expect(response.status == 101)
            #expect(response.values("Sec-WebSocket-Protocol") == [offer[0]])
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "browser-\(offer.count)"))
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
        }
    }

    @Test("Mini-program route echoes mqtt when a client does offer it (RFC 6455, browsers)")
    func miniprogramEchoesOffer() async throws {
        try await BridgeHarness.with { bridge in
            let (response, _) = try await bridge.connect(path: "/wss", subprotocols: ["mqtt"])
            #expect(response.status == 101)
            #expect(response.values("Sec-WebSocket-Protocol") == ["mqtt"])
        }
    }

    @Test("Browser route refuses a client that offers no subprotocol, with a one-line reason")
    func browserRouteRequiresSubprotocol() async throws {
        try await BridgeHarness.with { bridge in
            let (response, client) = try await bridge.connect(path: "/mqtt", subprotocols: nil)
            #expect(response.status == 400)
            #expect(client == nil)
            #expect(response.body.contains("Sec-WebSocket-Protocol"))
        }
    }

    @Test("Plain ws listener relays too")
    func plainListener() async throws {
        try await BridgeHarness.with { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "plain", tls: false)
            try await ws.sendBinary(MQTTTestPackets.pingreq)
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.pingresp)
        }
    }
}
