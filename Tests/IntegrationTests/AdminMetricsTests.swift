import BridgeAdmin
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// `/metrics`: valid Prometheus text whose counters follow what the bridge does.
@Suite("Admin listener: /metrics", .timeLimit(.minutes(2)))
struct AdminMetricsTests {
    @Test("/metrics parses as Prometheus text and its counters move as a session opens, relays and closes")
    func sessionCounters() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            try await bridge.waitForReadyz("is 200") { $0.status == 200 }
            let before = try await scrape(bridge)
            let route = ["route": "miniprogram"]
            #expect(before.value("mqtt_ws_bridge_ready") == 1)
            #expect(before.types["mqtt_ws_bridge_sessions_total"] == "counter")
            #expect(before.types["mqtt_ws_bridge_upstream_connect_seconds"] == "histogram")
            // The bridge's upstream connect histogram has buckets below Prometheus' 5 ms default.
            #expect(before.samples.contains { $0.name == "mqtt_ws_bridge_upstream_connect_seconds_bucket" && $0.labels["le"] == "0.0005" })

            // Open a session, relay a round trip, close it.
            let client = try await bridge.connectMQTT(path: "/wss", subprotocols: nil, clientID: "metrics-1")
            try await bridge.waitFor("the session to be counted as open") {
                try await scrape(bridge).value("mqtt_ws_bridge_sessions_open", route) == 1
            }
            try await client.sendBinary(MQTTTestPackets.subscribe("m/#", qos: 0, packetID: 1))
            _ = try await client.receiveBinaryMessage()
            let publish = MQTTTestPackets.publish("m/x", payload: Array(repeating: 7, count: 100))
            try await client.sendBinary(publish)
            #expect(try await client.receiveBinaryMessage() == publish)
            _ = try await client.close()

            try await bridge.waitFor("the session to be counted as closed") {
                try await scrape(bridge).value("mqtt_ws_bridge_sessions_open", route) == 0
            }
            let after = try await scrape(bridge)
            func grew(_ name: String, _ labels: [String: String], by amount: Double) {
                #expect(after.sum(name, labels) - before.sum(name, labels) == amount, "\(name) \(labels)")
            }
            grew("mqtt_ws_bridge_sessions_total", route, by: 1)
            grew("mqtt_ws_bridge_handshakes_total", ["route": "miniprogram", "result": "accepted"], by: 1)
            grew("mqtt_ws_bridge_mqtt_packets_total", ["route": "miniprogram", "direction": "client_to_broker", "type": "connect"], by: 1)
            grew("mqtt_ws_bridge_mqtt_packets_total", ["route": "miniprogram", "direction": "client_to_broker", "type": "publish"], by: 1)
            grew("mqtt_ws_bridge_mqtt_packets_total", ["route": "miniprogram", "direction": "broker_to_client", "type": "publish"], by: 1)
            grew("mqtt_ws_bridge_mqtt_packets_total", ["route": "miniprogram", "direction": "broker_to_client", "type": "suback"], by: 1)
            grew("mqtt_ws_bridge_closes_total", ["route": "miniprogram"], by: 1)
            grew("mqtt_ws_bridge_upstream_connect_seconds_count", [:], by: 1)
            #expect(
                after.sum("mqtt_ws_bridge_mqtt_bytes_total", ["route": "miniprogram", "direction": "client_to_broker"])
                    - before.sum("mqtt_ws_bridge_mqtt_bytes_total", ["route": "miniprogram", "direction": "client_to_broker"])
                    >= Double(publish.count))
        }
    }

    @Test("The admin listener's own metrics: readiness, probes, publish calls by result, publisher connections")
    func adminCounters() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            try await bridge.waitForPublishers(atLeast: 2)
            try await bridge.waitForReadyz("is 200") { $0.status == 200 }
            let before = try await scrape(bridge)
            #expect(before.value("mqtt_ws_bridge_publisher_connections") == 2)
            #expect(before.value("mqtt_ws_bridge_readiness_probes_total", ["result": "ready"]).map { $0 >= 1 } == true)
            #expect(before.value("mqtt_ws_bridge_readiness_probe_duration_seconds_count").map { $0 >= 1 } == true)
            // Every result is there from the start, at 0 until it happens.
            #expect(before.value("mqtt_ws_bridge_publish_requests_total", ["result": "too_large"]) == 0)

            #expect(try await bridge.publish(#"{"topic": "m/ok", "payload": "x", "qos": 1}"#).status == 200)
            #expect(try await bridge.publish(#"{"topic": "m/+", "payload": "x"}"#).status == 400)
            #expect(try await bridge.publish(#"{"topic": "m/ok", "qos": 9, "payload": "x"}"#).status == 400)
            let after = try await scrape(bridge)
            func grew(_ result: String, by amount: Double) {
                let name = "mqtt_ws_bridge_publish_requests_total"
                #expect(
                    (after.value(name, ["result": result]) ?? -1) - (before.value(name, ["result": result]) ?? 0) == amount, "\(result)")
            }
            grew("published", by: 1)
            grew("invalid_topic", by: 1)
            grew("bad_request", by: 1)
            #expect(after.value("mqtt_ws_bridge_publish_duration_seconds_count").map { $0 >= 1 } == true)

            await bridge.broker.stop()
            try await bridge.waitFor("mqtt_ws_bridge_ready to drop to 0") {
                try await scrape(bridge).value("mqtt_ws_bridge_ready") == 0
            }
            // (A probe caught mid-way by the stop counts as connection_lost; the next ones as unreachable.)
            try await bridge.waitFor("a probe counted as unreachable") {
                try await scrape(bridge).value("mqtt_ws_bridge_readiness_probes_total", ["result": "unreachable"]).map { $0 >= 1 } == true
            }
        }
    }

    private func scrape(_ bridge: BridgeHarness) async throws -> PrometheusText {
        let response = try await bridge.admin("GET", "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return try PrometheusText.parse(response.text)
    }
}
