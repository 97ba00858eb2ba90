import BridgeRelay
import NIOCore
import Testing

/// A drain (SIGTERM) tells MQTT 5 clients why before the close 1001: DISCONNECT 0x8B "Server shutting down" (issue 11
/// §4). MQTT 3.1.1 has no server-sent DISCONNECT: those clients get only the close.
@Suite struct SessionDrainDisconnectTests {
    @Test func drainTellsAnAcceptedMQTT5ClientTheServerIsShuttingDownBeforeTheClose() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect(level: 5)
        try harness.brokerSends([0x20, 0x03, 0x00, 0x00, 0x00])
        #expect(try harness.framesToClient().count == 1, "the CONNACK")
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        let frames = try harness.framesToClient()
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.first?.payload == [0xE0, 0x02, 0x8B, 0x00], "DISCONNECT 0x8B Server shutting down")
        #expect(frames.last?.closeCode == 1001)
        #expect(harness.upstreamIsOpen, "the drain still relays the client's last packets")
        try harness.send(.binary(MQTTSample.puback), .close(1001))
        #expect(try harness.bytesToBroker() == MQTTSample.connect(level: 5) + MQTTSample.puback)
        #expect(!harness.clientIsOpen)
    }

    @Test func drainSendsAnMQTT311ClientOnlyTheClose() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try harness.brokerSends(MQTTSample.connackAccepted)
        #expect(try harness.framesToClient().count == 1, "the CONNACK")
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try harness.framesToClient().map(\.closeCode) == [1001], "MQTT 3.1.1 has no server DISCONNECT")
    }
}
