import BridgeTestSupport
import Testing

/// `upstream.max_concurrent_dials` with the real bridge and a real Mosquitto.
///
/// One slot per event loop, and a dial holds it until the broker's first bytes (the CONNACK for `tcp`, the 101 for
/// `ws`): a slot that such bytes did not release would be held for the whole `upstream.connect_timeout`, and the
/// dials waiting behind it would run out of that same deadline and fail.
@Suite("Upstream dial gate with the real bridge and Mosquitto", .timeLimit(.minutes(2)))
struct UpstreamDialGateBridgeTests {
    static let sessions = 12

    @Test("With one dial in flight per event loop, sessions connecting at once all get their CONNACK")
    func sessionsConnectingAtOnceAllGetTheirConnack() async throws {
        try await BridgeHarness.with(configure: { $0.upstream.maxConcurrentDials = 1 }, admin: true) { bridge in
            try await Self.allConnectAtOnce(through: bridge, prefix: "gated")
        }
    }

    @Test("The same behind the ws upstream: the broker's 101 frees the slot")
    func sessionsConnectingAtOnceThroughTheWebSocketUpstream() async throws {
        try await WebSocketUpstreamTests.withWebSocketUpstream(configure: { $0.upstream.maxConcurrentDials = 1 }, admin: true) { bridge in
            try await Self.allConnectAtOnce(through: bridge, prefix: "gated-ws")
        }
    }

    static func allConnectAtOnce(through bridge: BridgeHarness, prefix: String) async throws {
        let clients = try await withThrowingTaskGroup(of: TestWebSocketClient.self) { group in
            for n in 0..<Self.sessions {
                group.addTask { try await bridge.connectMQTT(clientID: "\(prefix)-\(n)") }  // CONNACK accepted, or it throws
            }
            var clients: [TestWebSocketClient] = []
            for try await client in group { clients.append(client) }
            return clients
        }
        #expect(clients.count == Self.sessions)

        // Every session is through: nobody waits any more, and both figures are there for an operator.
        let response = try await bridge.admin("GET", "/metrics")
        #expect(response.status == 200)
        let metrics = try PrometheusText.parse(response.text)
        #expect(metrics.types["mqtt_ws_bridge_upstream_dials_waiting"] == "gauge")
        #expect(metrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 0)
        #expect(metrics.types["mqtt_ws_bridge_upstream_dials_delayed_total"] == "counter")
        let delayed = try #require(metrics.value("mqtt_ws_bridge_upstream_dials_delayed_total"))
        #expect(delayed >= 0 && delayed < Double(Self.sessions), "the first dial on each loop never waits")
        for client in clients { _ = try await client.close() }
    }
}
