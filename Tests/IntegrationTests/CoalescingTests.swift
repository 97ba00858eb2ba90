import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// `upstream.coalesce_window` with the real bridge and a real Mosquitto: a cold session is never batched.
@Suite("Write coalescing", .timeLimit(.minutes(2)))
struct CoalescingTests {
    @Test("A cold session's message goes out at once: its flush is not deferred, whatever the window")
    func coldSessionIsNotDeferred() async throws {
        let window = Duration.milliseconds(10)  // the largest allowed: any deferral would be plain to see in the counter
        try await BridgeHarness.with(configure: { $0.upstream.coalesceWindow = window }, admin: true) { bridge in
            let subscriber = try await bridge.connectMQTT(path: "/wss", subprotocols: nil, clientID: "cold-sub")
            try await subscriber.sendBinary(MQTTTestPackets.subscribe("cold/#", qos: 0, packetID: 1))
            _ = try await subscriber.receiveBinaryMessage()
            let publisher = try await bridge.directClient(clientID: "cold-pub")

            // The precondition of "cold": nothing went to the subscriber for longer than the window (the SUBACK was
            // flushed before it arrived here). Idling longer only makes the session colder.
            try await Task.sleep(for: window * 2)
            let deferred = ["route": "miniprogram", "direction": "broker_to_client"]
            let before = try await self.scrape(bridge)
            #expect(before.types["mqtt_ws_bridge_deferred_flushes_total"] == "counter")
            let deferredBefore = before.sum("mqtt_ws_bridge_deferred_flushes_total", deferred)

            let message = MQTTTestPackets.publish("cold/1", payload: Array("a push message".utf8))
            try await publisher.send(message)
            #expect(try await subscriber.receiveBinaryMessage() == message)
            let after = try await self.scrape(bridge)
            #expect(after.sum("mqtt_ws_bridge_deferred_flushes_total", deferred) == deferredBefore, "the cold session's flush was deferred")

            // The session goes on normally afterwards: a burst arrives complete and in order.
            for n in 0..<20 { try await publisher.send(MQTTTestPackets.publish("cold/\(n)", payload: [UInt8(n)])) }
            for n in 0..<20 {
                let packet = try MQTTTestPackets.decodePublish(try await subscriber.receiveBinaryMessage())
                #expect(Array(packet.payload.readableBytesView) == [UInt8(n)])
            }
            await publisher.close()
            _ = try await subscriber.close()
        }
    }

    private func scrape(_ bridge: BridgeHarness) async throws -> PrometheusText {
        let response = try await bridge.admin("GET", "/metrics")
        #expect(response.status == 200)
        return try PrometheusText.parse(response.text)
    }
}
