import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// MQTT flows through the bridge: the broker sees the client's own packets, the bridge acks nothing.
@Suite("MQTT flows through the bridge", .timeLimit(.minutes(2)))
struct MQTTFlowTests {
    @Test("QoS 1 and QoS 2 publish flows complete end to end, both directions", arguments: [UInt8(1), UInt8(2)])
    func qosFlows(qos: UInt8) async throws {
        try await BridgeHarness.with { bridge in
            let subscriber = try await bridge.connectMQTT(path: "/wss", clientID: "sub-q\(qos)")
            try await subscriber.sendBinary(MQTTTestPackets.subscribe("q/#", qos: qos, packetID: 1))
            #expect(try await subscriber.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x01, qos])

            let publisher = try await bridge.connectMQTT(path: "/mqtt", subprotocols: ["mqtt"], clientID: "pub-q\(qos)")
            let payload = Array("qos \(qos) message".utf8)
            try await publisher.sendBinary(MQTTTestPackets.publish("q/a", payload: payload, qos: qos, packetID: 42))
            if qos == 1 {
                #expect(try await publisher.receiveBinaryMessage() == MQTTTestPackets.puback(42))
            } else {
                #expect(try await publisher.receiveBinaryMessage() == MQTTTestPackets.pubrec(42))
                try await publisher.sendBinary(MQTTTestPackets.pubrel(42))
                #expect(try await publisher.receiveBinaryMessage() == MQTTTestPackets.pubcomp(42))
            }

            // The subscriber gets the broker's PUBLISH and must acknowledge it itself: the bridge acks nothing.
            let delivered = try await subscriber.receiveBinaryMessage()
            let publish = try MQTTTestPackets.decodePublish(delivered)
            #expect(publish.info.qos == qos)
            #expect(Array(publish.payload.readableBytesView) == payload)
            let id = try #require(publish.info.packetID)
            if qos == 1 {
                try await subscriber.sendBinary(MQTTTestPackets.puback(id))
            } else {
                try await subscriber.sendBinary(MQTTTestPackets.pubrec(id))
                #expect(try await subscriber.receiveBinaryMessage() == MQTTTestPackets.pubrel(id))
                try await subscriber.sendBinary(MQTTTestPackets.pubcomp(id))
            }
            // The session is still healthy afterwards.
            try await subscriber.sendBinary(MQTTTestPackets.pingreq)
            #expect(try await subscriber.receiveBinaryMessage() == MQTTTestPackets.pingresp)
        }
    }

    @Test("The bridge never acknowledges for a client: an unacknowledged QoS 1 message is redelivered by the broker")
    func noAckOnBehalf() async throws {
        try await BridgeHarness.with { bridge in
            // A persistent session that receives a QoS 1 message and disconnects without PUBACK…
            let first = try await bridge.connectMQTTSession(clientID: "persistent-1", cleanStart: false)
            try await first.sendBinary(MQTTTestPackets.subscribe("redeliver/#", qos: 1, packetID: 1))
            _ = try await first.receiveBinaryMessage()
            let publisher = try await bridge.directClient(clientID: "redeliver-pub")
            try await publisher.send(MQTTTestPackets.publish("redeliver/x", payload: [1, 2, 3], qos: 1, packetID: 9))
            #expect(try await publisher.receivePacket() == MQTTTestPackets.puback(9))
            let delivered = try MQTTTestPackets.decodePublish(try await first.receiveBinaryMessage())
            #expect(delivered.info.dup == false)
            await first.closeTCP()

            // …gets it again on reconnect, flagged DUP: the broker never saw an acknowledgement.
            let second = try await bridge.connectMQTTSession(clientID: "persistent-1", cleanStart: false, expectSessionPresent: true)
            let again = try MQTTTestPackets.decodePublish(try await second.receiveBinaryMessage())
            #expect(Array(again.payload.readableBytesView) == [1, 2, 3])
            #expect(again.info.dup == true)
            await publisher.close()
        }
    }

    @Test("A 1 MiB payload is relayed byte-exact in both directions")
    func oneMebibyte() async throws {
        try await BridgeHarness.with { bridge in
            var generator = SeededRandom(seed: 0x1234)
            let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let subscriber = try await bridge.connectMQTT(path: "/wss", clientID: "big-sub")
            try await subscriber.sendBinary(MQTTTestPackets.subscribe("big/#", qos: 1, packetID: 1))
            _ = try await subscriber.receiveBinaryMessage()
            let direct = try await bridge.directClient(clientID: "big-direct")
            try await direct.send(MQTTTestPackets.subscribe("big/#", qos: 1, packetID: 1))
            _ = try await direct.receivePacket()

            // WebSocket client → broker → both subscribers.
            let publisher = try await bridge.connectMQTT(path: "/wss", clientID: "big-pub")
            try await publisher.sendBinary(MQTTTestPackets.publish("big/up", payload: payload, qos: 1, packetID: 5))
            #expect(try await publisher.receiveBinaryMessage(timeout: .seconds(20)) == MQTTTestPackets.puback(5))
            let viaBridge = try MQTTTestPackets.decodePublish(try await subscriber.receiveBinaryMessage(timeout: .seconds(20)))
            #expect(Array(viaBridge.payload.readableBytesView) == payload)
            let viaTCP = try MQTTTestPackets.decodePublish(try await direct.receivePacket(timeout: .seconds(20)))
            #expect(Array(viaTCP.payload.readableBytesView) == payload)
            await direct.close()
        }
    }

    @Test("Several MQTT packets in one frame, and one packet split over three frames")
    func batchingAndSplitting() async throws {
        try await BridgeHarness.with { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "batch")
            let subscribe = MQTTTestPackets.subscribe("b/#", qos: 0, packetID: 2)
            let publish = MQTTTestPackets.publish("b/1", payload: Array("batched".utf8))
            // SUBSCRIBE + PINGREQ + PUBLISH in a single frame.
            try await ws.sendBinary(subscribe + MQTTTestPackets.pingreq + publish)
            #expect(try await ws.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x02, 0x00])
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.pingresp)
            #expect(try await ws.receiveBinaryMessage() == publish)

            // One PUBLISH split over three frames of one fragmented message…
            let split = MQTTTestPackets.publish("b/2", payload: Array(repeating: 0x5A, count: 200))
            try await ws.sendBinary(split, fragmentSize: split.count / 3 + 1)
            #expect(try await ws.receiveBinaryMessage() == split)
            // …and over three separate binary messages (MQTT allows a packet to span messages).
            let thirds = stride(from: 0, to: split.count, by: split.count / 3 + 1).map {
                Array(split[$0..<min($0 + split.count / 3 + 1, split.count)])
            }
            for part in thirds { try await ws.sendBinary(part) }
            #expect(try await ws.receiveBinaryMessage() == split)
        }
    }

    @Test("MQTT 5.0 sessions relay unchanged")
    func mqtt5() async throws {
        try await BridgeHarness.with { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "v5", version: .v5)
            try await ws.sendBinary(MQTTTestPackets.subscribe("v5/#", qos: 1, packetID: 3, version: .v5))
            let suback = try await ws.receiveBinaryMessage()
            #expect(suback.first == 0x90)
            let publish = MQTTTestPackets.publish("v5/t", payload: [9, 8, 7], version: .v5)
            try await ws.sendBinary(publish)
            #expect(try await ws.receiveBinaryMessage() == publish)
        }
    }
}

extension BridgeHarness {
    /// CONNECT with cleanStart as given; checks CONNACK accepted and the session-present flag.
    func connectMQTTSession(clientID: String, cleanStart: Bool, expectSessionPresent: Bool = false) async throws -> TestWebSocketClient {
        let (response, client) = try await self.connect(path: "/wss", subprotocols: nil)
        guard response.status == 101, let client else { throw TestSupportError("no 101: \(response.status)") }
        try await client.sendBinary(MQTTTestPackets.connect(clientID: clientID, cleanStart: cleanStart))
        let connack = try await client.receiveBinaryMessage()
        guard connack == [0x20, 0x02, expectSessionPresent ? 0x01 : 0x00, 0x00] else {
            throw TestSupportError("unexpected CONNACK \(connack)")
        }
        return client
    }
}
