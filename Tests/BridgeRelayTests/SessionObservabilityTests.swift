import BridgeRelay
import NIOCore
import Testing

/// Metrics and logs of a session: counters move as documented, one access line per session, never the password.
@Suite struct SessionObservabilityTests {
    static let route = [("route", SessionHarness.route)]

    static func dims(_ direction: String, _ type: String? = nil) -> [(String, String)] {
        var dimensions = [("route", SessionHarness.route), ("direction", direction)]
        if let type { dimensions.append(("type", type)) }
        return dimensions
    }

    @Test func countersMoveForARelayedSession() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        let metrics = harness.metrics
        #expect(metrics.value("mqtt_ws_bridge_sessions_total", Self.route) == 1)
        #expect(metrics.value("mqtt_ws_bridge_sessions_open", Self.route) == 1)

        let publish = MQTTSample.publish(payload: Array(repeating: 1, count: 30))
        try harness.send(.binary(MQTTSample.connect() + MQTTSample.subscribe()), .binary(publish + publish))
        try harness.send(.binary(MQTTSample.pingreq))
        let fromClient = MQTTSample.connect().count + MQTTSample.subscribe().count + 2 * publish.count + MQTTSample.pingreq.count
        let fromBroker = MQTTSample.connackAccepted + MQTTSample.suback + publish + MQTTSample.pingresp
        try harness.brokerSends(fromBroker, chunkSizes: [3])

        #expect(metrics.value("mqtt_ws_bridge_mqtt_bytes_total", Self.dims("client_to_broker")) == Double(fromClient))
        #expect(metrics.value("mqtt_ws_bridge_mqtt_bytes_total", Self.dims("broker_to_client")) == Double(fromBroker.count))
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("client_to_broker", "connect")) == 1)
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("client_to_broker", "subscribe")) == 1)
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("client_to_broker", "publish")) == 2)
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("client_to_broker", "pingreq")) == 1)
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("broker_to_client", "connack")) == 1)
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("broker_to_client", "suback")) == 1)
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("broker_to_client", "publish")) == 1)
        #expect(metrics.value("mqtt_ws_bridge_mqtt_packets_total", Self.dims("broker_to_client", "pingresp")) == 1)
        #expect(metrics.recorded("mqtt_ws_bridge_upstream_connect_seconds").count == 1)
        #expect(metrics.value("mqtt_ws_bridge_upstream_connect_failures_total") == 0)

        harness.brokerCloses()
        try harness.send(.close(1000))
        #expect(!harness.clientIsOpen)
        #expect(metrics.value("mqtt_ws_bridge_sessions_open", Self.route) == 0)
        #expect(metrics.value("mqtt_ws_bridge_closes_total", Self.route + [("code", "1000"), ("initiator", "broker")]) == 1)
        // Nothing counted under another route.
        #expect(metrics.nonZeroValues.keys.allSatisfy { $0.contains("route=\(SessionHarness.route)") || !$0.contains("route=") })
    }

    @Test func countersMoveForAnUnreachableBroker() throws {
        let harness = try SessionHarness(.refuse)
        defer { harness.finish() }
        try harness.connect(level: 5)
        try harness.send(.close(1013))
        #expect(!harness.clientIsOpen)
        let metrics = harness.metrics
        #expect(metrics.value("mqtt_ws_bridge_upstream_connect_failures_total") == 1)
        #expect(metrics.recorded("mqtt_ws_bridge_upstream_connect_seconds").isEmpty)
        #expect(metrics.value("mqtt_ws_bridge_closes_total", Self.route + [("code", "1013"), ("initiator", "bridge")]) == 1)
        #expect(metrics.value("mqtt_ws_bridge_sessions_open", Self.route) == 0)
    }

    @Test func closesAreCountedByCodeAndInitiator() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.pingreq))
        try harness.send(.close(1002))
        #expect(harness.metrics.value("mqtt_ws_bridge_closes_total", Self.route + [("code", "1002"), ("initiator", "bridge")]) == 1)
        let other = try SessionHarness()
        defer { other.finish() }
        other.client.close(promise: nil)
        #expect(other.metrics.value("mqtt_ws_bridge_closes_total", Self.route + [("code", "1006"), ("initiator", "client")]) == 1)
    }

    // MARK: Access log

    @Test(arguments: [(UInt8(4), "3.1.1", String?.none), (5, "5.0", "mqtt"), (3, "3.1", "mqttv3.1")])
    func accessLineHasEveryField(_ level: UInt8, _ version: String, _ subprotocol: String?) throws {
        let harness = try SessionHarness(subprotocol: subprotocol)
        defer { harness.finish() }
        let connect = MQTTSample.connect(level: level, clientID: "wx-42", username: "alice")
        try harness.send(.binary(connect))
        try harness.brokerSends(MQTTSample.connackAccepted)
        harness.brokerCloses()
        try harness.send(.close(1000))
        let line = try #require(harness.accessLine)
        #expect(line.level == .info)
        #expect(line.message == "session")
        #expect(line.metadata["client"] == SessionHarness.clientAddress)
        #expect(line.metadata["listener"] == "wss")
        #expect(line.metadata["route"] == SessionHarness.route)
        #expect(line.metadata["subprotocol"] == (subprotocol ?? "none"))
        #expect(line.metadata["mqtt_version"] == version)
        #expect(line.metadata["client_id"] == "wx-42")
        #expect(line.metadata["username"] == "alice")
        #expect(line.metadata["broker"] == "broker.test:1883")
        #expect(line.metadata["bytes_in"] == String(connect.count))
        #expect(line.metadata["bytes_out"] == String(MQTTSample.connackAccepted.count))
        #expect(line.metadata["closed_by"] == "broker")
        #expect(line.metadata["close_code"] == "1000")
        #expect(line.metadata["reason"] == "broker closed the connection")
        #expect(line.metadata["duration_ms"].flatMap { Int($0) } != nil)
        #expect(line.metadata["auth"] == "-", "a route without auth")
        #expect(line.metadata["sub"] == "-")
        let expectedKeys: Set = [
            "client", "session", "listener", "route", "subprotocol", "mqtt_version", "client_id", "username", "broker", "bytes_in",
            "bytes_out",
            "duration_ms", "closed_by", "close_code", "reason", "auth", "sub",
        ]
        #expect(Set(line.metadata.keys) == expectedKeys)
    }

    @Test func accessLineWithoutConnectUsesDashes() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        harness.client.close(promise: nil)
        let line = try #require(harness.accessLine)
        #expect(line.metadata["mqtt_version"] == "-")
        #expect(line.metadata["client_id"] == "-")
        #expect(line.metadata["username"] == "-")
        #expect(line.metadata["broker"] == "-")
        #expect(line.metadata["bytes_in"] == "0")
        #expect(line.metadata["close_code"] == "1006")
    }

    @Test func accessLineWithoutUsername() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.connect(username: nil, password: nil)))
        harness.client.close(promise: nil)
        #expect(harness.accessLine?.metadata["username"] == "-")
    }

    @Test func exactlyOneAccessLinePerSessionWhateverTheOrderOfEvents() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.brokerCloses()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try harness.send(.close(1000))
        harness.client.close(promise: nil)
        harness.advance(by: .seconds(60))
        #expect(harness.logs.entries(label: "access").count == 1)
    }

    // MARK: The password

    enum Scenario: String, CaseIterable, Sendable {
        case relayed, brokerRefused, brokerTimedOut, malformedAfterConnect, connectSplit, mqtt5
    }

    @Test(arguments: Scenario.allCases)
    func passwordNeverAppearsInAnyLogLine(_ scenario: Scenario) throws {
        let harness = try SessionHarness(scenario == .brokerRefused ? .refuse : scenario == .brokerTimedOut ? .manual : .connect)
        defer { harness.finish() }
        let connect = MQTTSample.connect(level: scenario == .mqtt5 ? 5 : 4)
        switch scenario {
        case .connectSplit:
            try harness.sendBytes(
                encode([.binary(Array(connect.prefix(30)), fin: false), .continuation(Array(connect.dropFirst(30)))]), chunkSizes: [5])
        default:
            try harness.send(.binary(connect))
        }
        switch scenario {
        case .brokerRefused:
            break
        case .brokerTimedOut:
            harness.advance(by: .seconds(5))
        case .malformedAfterConnect:
            try harness.send(.binary([0x30, 0x80, 0x00]))
        default:
            try harness.brokerSends(MQTTSample.connackAccepted)
        }
        harness.client.close(promise: nil)
        harness.finish()

        let entries = harness.logs.entries
        #expect(!entries.isEmpty)
        #expect(entries.contains { $0.description.contains("alice") }, "the user name is logged")
        let password = MQTTSample.password
        for entry in entries {
            #expect(!entry.description.contains(password), "password in: \(entry)")
            #expect(!entry.description.contains(String(password.prefix(8))), "part of the password in: \(entry)")
        }
    }
}
