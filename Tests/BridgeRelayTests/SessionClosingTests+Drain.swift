import BridgeRelay
import NIOCore
import Testing

/// How a drain ends a session (the bridge is shutting down): close 1001, and the client's last packets still reach
/// the broker until the client's close or EOF.
extension SessionClosingTests {
    /// Issue 12 §6: on a drain the client's acknowledgements already on their way must still reach the broker, or a
    /// restart makes the broker deliver QoS 1 messages twice.
    @Test func drainSends1001AndRelaysTheClientsLastPacketsUntilItsClose() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try harness.brokerSends(MQTTSample.connackAccepted + MQTTSample.publish(payload: [1], packetID: 7))
        #expect(try harness.framesToClient().count == 2)
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(harness.upstreamIsOpen, "the client may still be acknowledging")
        #expect(harness.upstreamCloseModes.isEmpty)

        // Acknowledged by a client that had not seen the close frame yet; then its answer to the close frame.
        try harness.send(.binary(MQTTSample.puback))
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.puback)
        try self.expectBridgeClose(harness, code: 1001)
        #expect(!harness.upstreamIsOpen)
        #expect(harness.upstreamCloseModes.first == .output, "an orderly end of stream after the acknowledgement")
        let line = try #require(harness.accessLine)
        #expect(line.metadata["closed_by"] == "bridge")
        #expect(line.metadata["close_code"] == "1001")
        #expect(line.metadata["reason"] == "server shutting down")
    }

    @Test func drainPassesTheClientsPacketsInTheSameReadAsItsClose() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try harness.send(.binary(MQTTSample.puback), .close(1001))
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.puback)
        #expect(!harness.clientIsOpen)
        #expect(harness.upstreamCloseModes.first == .output)
    }

    @Test func drainSendsTheClientNothingMoreFromTheBroker() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try harness.framesToClient().map(\.closeCode) == [1001])
        try harness.brokerSends(MQTTSample.publish(payload: [2], packetID: 8))
        #expect(try harness.framesToClient().isEmpty, "no data frame after the close frame")
    }

    @Test func drainEndsWithTheClientsEOF() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try harness.send(.binary(MQTTSample.puback))
        harness.client.pipeline.fireChannelInactive()
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.puback)
        #expect(harness.upstreamCloseModes.first == .output)
        #expect(harness.accessLine?.metadata["close_code"] == "1001", "the drain stays the first cause")
    }

    @Test func drainWithoutAnAnswerClosesBothSidesAfterTheCloseTimeout() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        harness.advance(by: .milliseconds(2999))
        #expect(harness.clientIsOpen && harness.upstreamIsOpen)
        harness.advance(by: .milliseconds(1))
        #expect(!harness.clientIsOpen)
        #expect(!harness.upstreamIsOpen)
    }

    @Test func drainBeforeTheConnectSends1001() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try self.expectBridgeClose(harness, code: 1001)
        #expect(harness.connector.dials == 0)
    }
}
