import NIOCore
import SessionRegistry
import Testing

@testable import BridgeRelay

/// What the admin API relies on in a session: it registers at CONNECT and leaves when closed, counts per read burst,
/// and closes on request with the documented frames.
@Suite struct SessionAdminTests {
    @Test func registersAtConnectWithWhatItKnowsAndLeavesWhenItEnds() throws {
        let registry = SessionRegistry()
        let harness = try SessionHarness(subprotocol: "mqtt", registry: registry)
        defer { harness.finish() }
        #expect(registry.count == 0, "nothing before the CONNECT")
        try harness.connect(level: 5)
        let record = try #require(registry.list(.all, limit: 10).entries.first?.record)
        #expect(record.clientID == "wx-client-1" && record.username == "alice" && record.subject == nil)
        #expect(record.clientAddress == SessionHarness.clientAddress && record.clientIP?.description == "203.0.113.7")
        #expect(record.listener == "wss" && record.route == SessionHarness.route && record.subprotocol == "mqtt")
        #expect(record.mqttVersion == "5.0")
        #expect(record.broker == FakeUpstreamConnector.server.description, "set once the broker connection is up")
        try harness.send(.close(1000))
        #expect(registry.count == 0, "gone with the connection")
        #expect(harness.accessLine?.metadata["session"] == String(record.id))
    }

    @Test func countersAddUpBurstsEachWay() throws {
        let harness = try SessionHarness(registry: SessionRegistry())
        defer { harness.finish() }
        try harness.connect()
        let publish = MQTTSample.publish(payload: [1, 2, 3])
        try harness.send(.binary(publish + MQTTSample.pingreq))
        try harness.brokerSends(MQTTSample.connackAccepted + publish)
        let counters = harness.session.adminCounters()
        #expect(counters.packetsFromClient == 3 && counters.packetsToClient == 2)
        #expect(counters.bytesFromClient > MQTTSample.connect().count + publish.count, "WebSocket frames included")
        #expect(counters.bytesToClient == MQTTSample.connackAccepted.count + publish.count)
    }

    @Test func adminCloseOfAnMQTT5SessionSendsDisconnect0x98ThenClose1008() throws {
        let harness = try SessionHarness(registry: SessionRegistry())
        defer { harness.finish() }
        try harness.connect(level: 5)
        try harness.brokerSends([0x20, 0x03, 0x00, 0x00, 0x00])
        _ = try harness.framesToClient()
        #expect(harness.session.closeByAdmin("kicked by ops"))
        let frames = try harness.framesToClient()
        #expect(frames.count == 2, "\(frames)")
        #expect(frames.first == .binary([0xE0, 0x02, 0x98, 0x00]), "DISCONNECT, reason 0x98 administrative action")
        #expect(frames.last?.closeCode == 1008 && frames.last?.closeReason == "kicked by ops")
        #expect(!harness.session.closeByAdmin("again"), "a session already closing is not closed twice")
        try harness.send(.close(1008))
        #expect(!harness.clientIsOpen)
        #expect(harness.accessLine?.metadata["closed_by"] == "admin")
        #expect(harness.accessLine?.metadata["close_code"] == "1008")
        #expect(harness.accessLine?.metadata["reason"] == "kicked by ops")
    }

    @Test func adminCloseOfAnMQTT311SessionIsJustClose1008() throws {
        let harness = try SessionHarness(registry: SessionRegistry())
        defer { harness.finish() }
        try harness.connect()
        try harness.brokerSends(MQTTSample.connackAccepted)
        _ = try harness.framesToClient()
        #expect(harness.session.closeByAdmin("closed by administrator"))
        let frames = try harness.framesToClient()
        #expect(frames.count == 1 && frames.first?.closeCode == 1008, "\(frames)")
        try harness.send(.close(1008))
        #expect(harness.accessLine?.metadata["closed_by"] == "admin")
    }

    @Test func withoutARegistryNothingRegisters() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.close(1000))
        #expect(harness.accessLine?.metadata["session"] == "-")
    }
}
