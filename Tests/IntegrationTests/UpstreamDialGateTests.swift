import BridgeTestSupport
import Testing

/// `upstream.max_concurrent_dials` with the real bridge and a real Mosquitto.
@Suite("Upstream dial gate with the real bridge and Mosquitto", .timeLimit(.minutes(2)))
struct UpstreamDialGateBridgeTests {
    @Test("With one connect in flight per event loop, sessions connecting at once all get their CONNACK")
    func sessionsConnectingAtOnceAllGetTheirConnack() async throws {
        try await BridgeHarness.with(configure: { $0.upstream.maxConcurrentDials = 1 }, admin: true) { bridge in
            let sessions = 12
            let clients = try await withThrowingTaskGroup(of: TestWebSocketClient.self) { group in
                for n in 0..<sessions {
                    group.addTask { try await bridge.connectMQTT(clientID: "gated-\(n)") }  // CONNACK accepted, or it throws
                }
                var clients: [TestWebSocketClient] = []
                for try await client in group { clients.append(client) }
                return clients
            }
            #expect(clients.count == sessions)

            // Every session is through: nobody waits any more, and both figures are there for an operator.
            let response = try await bridge.admin("GET", "/metrics")
            #expect(response.status == 200)
            let metrics = try PrometheusText.parse(response.text)
            #expect(metrics.types["mqtt_ws_bridge_upstream_dials_waiting"] == "gauge")
            #expect(metrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 0)
            #expect(metrics.types["mqtt_ws_bridge_upstream_dials_delayed_total"] == "counter")
            let delayed = try #require(metrics.value("mqtt_ws_bridge_upstream_dials_delayed_total"))
            #expect(delayed >= 0 && delayed < Double(sessions), "the first dial on each loop never waits")
            for client in clients { _ = try await client.close() }
        }
    }
}
