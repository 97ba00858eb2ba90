import BridgeRelay
import NIOCore
import NIOEmbedded
import Testing

/// Each side's `read()` is held back while the other side cannot take more, and replayed when it can.
@Suite struct SessionBackpressureTests {
    func setWritable(_ channel: EmbeddedChannel, _ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    @Test func readsPassWhileBothSidesAreWritable() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)
        harness.client.read()
        upstream.channel.read()
        #expect(harness.clientReads.count == 1)
        #expect(upstream.reads.count == 1)
    }

    @Test func clientReadsAreHeldWhileTheBrokerConnectionIsNotWritable() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)

        self.setWritable(upstream.channel, false)
        harness.client.read()
        harness.client.read()
        #expect(harness.clientReads.count == 0, "no client read while the broker side is full")
        // Bytes already read still go through (nothing is dropped or buffered without bound).
        try harness.send(.binary(MQTTSample.pingreq))
        #expect(try harness.bytesToBroker() == MQTTSample.connect() + MQTTSample.pingreq)

        self.setWritable(upstream.channel, true)
        #expect(harness.clientReads.count == 1, "the held read is replayed once")
        harness.client.read()
        #expect(harness.clientReads.count == 2)
        // Writability changes without a held read replay nothing.
        self.setWritable(upstream.channel, false)
        self.setWritable(upstream.channel, true)
        #expect(harness.clientReads.count == 2)
    }

    @Test func brokerReadsAreHeldWhileTheClientIsNotWritable() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)

        self.setWritable(harness.client, false)
        upstream.channel.read()
        #expect(upstream.reads.count == 0, "no broker read while the client side is full")
        try harness.brokerSends(MQTTSample.connackAccepted)
        #expect(try harness.framesToClient() == [.binary(MQTTSample.connackAccepted)])

        self.setWritable(harness.client, true)
        #expect(upstream.reads.count == 1, "the held read is replayed once")
        self.setWritable(harness.client, false)
        self.setWritable(harness.client, true)
        #expect(upstream.reads.count == 1)
    }

    @Test func aBrokerReadHeldForAFullClientIsReleasedWhenTheClientLeaves() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)
        self.setWritable(harness.client, false)
        upstream.channel.read()
        #expect(upstream.reads.count == 0)
        // The client closes: the broker connection is half-closed and must read on to see the broker's end.
        try harness.send(.close(1000))
        #expect(upstream.reads.count == 1, "the held read is replayed once the session has let go")
    }

    @Test func clientReadsAreHeldWhileTheBrokerIsDialled() throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        harness.client.read()
        #expect(harness.clientReads.count == 1, "reads pass while waiting for the CONNECT")
        try harness.connect()
        harness.client.read()
        #expect(harness.clientReads.count == 1)
        try harness.connector.completeDial()
        #expect(harness.clientReads.count == 2)
    }

    @Test func aReadHeldWhileDiallingIsReplayedWhenTheBrokerIsUnavailable() throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        try harness.connect()
        harness.client.read()
        #expect(harness.clientReads.count == 0)
        try harness.connector.failDial()
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1013])
        // Without a read the client's answer to the close frame is never read, and the socket only goes when
        // the close handshake times out.
        #expect(harness.clientReads.count == 1)
    }

    @Test func aReadHeldForBackpressureIsReplayedWhenTheSessionIsDrained() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)
        self.setWritable(upstream.channel, false)
        harness.client.read()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try harness.framesToClient().map(\.closeCode) == [1001])
        #expect(harness.clientReads.count == 1)
        // Reads issued after the close began do pass.
        harness.client.read()
        #expect(harness.clientReads.count >= 1)
    }

    /// While draining, the bridge waits for the client's last packets only as long as the broker takes them: a broker
    /// side that backs up ends the relaying, so nothing is buffered without bound and the client's close is read.
    @Test func aBrokerSideThatBacksUpWhileDrainingEndsTheRelaying() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(harness.upstreamIsOpen)
        self.setWritable(upstream.channel, false)
        harness.client.read()
        #expect(harness.clientReads.count == 1)
        #expect(harness.upstreamCloseModes.first == .output)
        try harness.send(.binary(MQTTSample.pingreq))
        #expect(try harness.bytesToBroker() == MQTTSample.connect(), "nothing more is written to a closed broker side")
    }

    @Test func readsPassWhileClosing() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.brokerCloses()
        #expect(try harness.framesToClient().map(\.closeCode) == [1000])
        harness.client.read()
        #expect(harness.clientReads.count == 1, "the client's close frame must be readable")
    }
}
