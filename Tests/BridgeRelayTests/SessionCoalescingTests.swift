import BridgeRelay
import NIOCore
import NIOEmbedded
import Testing

/// A session with a coalescing window: a busy direction's flushes wait for the window's end (and broker reads with
/// them), an idle one's go out at once; closes and drains carry what is pending.
@Suite struct SessionCoalescingTests {
    static let window = TimeAmount.milliseconds(1)

    /// A relaying session whose CONNACK went out at once (the session was idle); virtual time has not moved since.
    func harness(window: TimeAmount = Self.window) throws -> (SessionHarness, FlushCounter) {
        let harness = try SessionHarness(
            settings: SessionSettings(maximumPacketSize: 1 << 20, connectPacketTimeout: .seconds(10), coalesceWindow: window))
        let flushes = FlushCounter()
        try harness.client.pipeline.syncOperations.addHandler(flushes, position: .first)
        try harness.connect()
        try harness.brokerSends(MQTTSample.connackAccepted)
        #expect(try harness.framesToClient() == [.binary(MQTTSample.connackAccepted)], "an idle session flushes at once")
        return (harness, flushes)
    }

    func publish(_ n: UInt8) -> [UInt8] { MQTTSample.publish(payload: [n]) }

    @Test func brokerPacketsInSuccessiveReadsWithinTheWindowGoOutInOneFlush() throws {
        let (harness, flushes) = try self.harness()
        defer { harness.finish() }
        let upstream = try #require(harness.upstream)
        let flushesBefore = flushes.count

        try harness.brokerSends(self.publish(1))
        try harness.brokerSends(self.publish(2))
        try harness.brokerSends(self.publish(3))
        #expect(try harness.framesToClient() == [], "a busy session's flush waits for the window's end")
        #expect(flushes.count == flushesBefore)

        harness.advance(by: Self.window)
        #expect(try harness.framesToClient() == [.binary(self.publish(1)), .binary(self.publish(2)), .binary(self.publish(3))])
        #expect(flushes.count == flushesBefore + 1, "one flush for the three reads")
        #expect(upstream.channel.isActive)
    }

    @Test func aColdSessionsPacketIsFlushedAtOnce() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        harness.advance(by: .seconds(30))  // a push session: the next message comes much later
        try harness.brokerSends(self.publish(1))
        #expect(try harness.framesToClient() == [.binary(self.publish(1))])
    }

    @Test func brokerReadsWaitForTheDeferredFlushAndResumeAfterIt() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        let upstream = try #require(harness.upstream)
        upstream.channel.read()
        #expect(upstream.reads.count == 1, "reads pass while nothing is deferred")

        try harness.brokerSends(self.publish(1))
        upstream.channel.read()
        #expect(upstream.reads.count == 1, "the broker's packets gather in the socket while a flush is deferred")
        harness.advance(by: Self.window)
        #expect(upstream.reads.count == 2, "the held read is replayed with the deferred flush")
        #expect(try harness.framesToClient() == [.binary(self.publish(1))])
    }

    @Test func aReadHeldForAFullClientStaysHeldAfterTheDeferredFlush() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        let upstream = try #require(harness.upstream)
        try harness.brokerSends(self.publish(1))
        harness.client.isWritable = false
        harness.client.pipeline.fireChannelWritabilityChanged()
        upstream.channel.read()
        harness.advance(by: Self.window)
        #expect(upstream.reads.count == 0, "backpressure still holds the read")
        harness.client.isWritable = true
        harness.client.pipeline.fireChannelWritabilityChanged()
        #expect(upstream.reads.count == 1)
    }

    @Test func aStreamedLargePacketIsNeverDeferred() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        let upstream = try #require(harness.upstream)
        let large = MQTTSample.publish(totalLength: 100_000)
        try harness.brokerSends(Array(large[..<1_000]))  // small, but the start of a streamed packet
        #expect(try harness.rawBytesToClient().count > 1_000 - 10, "the frame's start goes out at once")
        upstream.channel.read()
        #expect(upstream.reads.count == 1, "reads go on while streaming")
        try harness.brokerSends(Array(large[1_000...]))
        #expect(try harness.rawBytesToClient().count >= 99_000, "the rest, a large burst, at once too")
    }

    @Test func windowZeroFlushesEveryReadBurstAtOnce() throws {
        let (harness, flushes) = try self.harness(window: .zero)
        defer { harness.finish() }
        let upstream = try #require(harness.upstream)
        for n in 1...3 {
            let before = flushes.count
            try harness.brokerSends(self.publish(UInt8(n)))
            #expect(try harness.framesToClient() == [.binary(self.publish(UInt8(n)))])
            #expect(flushes.count == before + 1)
            upstream.channel.read()
            #expect(upstream.reads.count == n)
        }
        try harness.send(.binary(MQTTSample.pingreq))
        #expect(try harness.bytesToBroker() == MQTTSample.connect() + MQTTSample.pingreq)
    }

    @Test func clientPacketsWithinTheWindowReachTheBrokerInOneFlush() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        #expect(try harness.bytesToBroker() == MQTTSample.connect(), "the CONNECT goes at once")
        try harness.send(.binary(self.publish(1)))
        try harness.send(.binary(self.publish(2)))
        #expect(try harness.bytesToBroker() == [])
        harness.advance(by: Self.window)
        #expect(try harness.bytesToBroker() == self.publish(1) + self.publish(2))
        harness.advance(by: .seconds(1))
        try harness.send(.binary(MQTTSample.pingreq))
        #expect(try harness.bytesToBroker() == MQTTSample.pingreq, "idle again: at once")
    }

    @Test func aDeferredFlushToTheClientGoesOutBeforeTheCloseFrame() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        try harness.brokerSends(self.publish(1))
        harness.brokerCloses()
        let frames = try harness.framesToClient()
        #expect(frames.first == .binary(self.publish(1)))
        #expect(frames.last?.closeCode == 1000)
        harness.advance(by: Self.window)
        #expect(try harness.framesToClient() == [], "the timer was cancelled or is moot")
    }

    @Test func aDeferredFlushToTheClientGoesOutBeforeTheDrainClose() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        try harness.brokerSends(self.publish(1))
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1001])
    }

    @Test func aDeferredFlushToTheBrokerGoesOutBeforeItsEndOfStream() throws {
        let (harness, _) = try self.harness()
        defer { harness.finish() }
        _ = try harness.bytesToBroker()
        try harness.send(.binary(self.publish(1)), .binary(MQTTSample.disconnect))
        #expect(try harness.bytesToBroker() == [])
        try harness.send(.close(1000))
        #expect(try harness.bytesToBroker() == self.publish(1) + MQTTSample.disconnect)
        #expect(harness.upstreamCloseModes.first == .output)
    }

    @Test func theTimerIsCancelledWhenTheClientGoes() throws {
        let (harness, flushes) = try self.harness()
        defer { harness.finish() }
        try harness.brokerSends(self.publish(1))
        harness.client.close(promise: nil)
        let before = flushes.count
        harness.advance(by: Self.window)
        #expect(flushes.count == before, "no flush after the client is gone")
    }
}

/// Counts the flushes that reach the client channel's head.
final class FlushCounter: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    private(set) var count = 0

    func flush(context: ChannelHandlerContext) {
        self.count += 1
        context.flush()
    }
}
