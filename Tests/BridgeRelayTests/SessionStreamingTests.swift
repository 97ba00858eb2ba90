import BridgeRelay
import BridgeTestSupport
import NIOCore
import NIOEmbedded
import Testing
import WebSocketTransport

/// Large broker packets are forwarded while they arrive: one frame, its header announcing the whole packet.
@Suite struct SessionStreamingTests {
    static let settings = SessionSettings(maximumPacketSize: 1 << 20, connectPacketTimeout: .seconds(10), upstreamReadyTimeout: .seconds(5))

    @Test func aLargePacketArrivingInPiecesIsOneFrameSentPieceByPiece() throws {
        let harness = try SessionHarness(settings: Self.settings)
        defer { harness.finish() }
        try harness.connect()
        _ = try harness.framesToClient()
        let large = MQTTSample.publish(totalLength: 300_000)
        let small = MQTTSample.publish(payload: [1, 2, 3])

        // The first 100 KB: the client already has the frame header and those bytes, before the rest exists.
        try harness.brokerSends(Array(large[0..<100_000]))
        let partial = try harness.rawBytesToClient()
        #expect(partial.count > 100_000 - 8, "forwarded while arriving, not held until the packet is whole")
        #expect(partial.prefix(10) == [0x82, 127, 0, 0, 0, 0, 0, 0x04, 0x93, 0xE0], "binary frame, FIN, 64-bit length 300000")

        // The rest, then a small packet in the same read: it follows as its own frame.
        try harness.brokerSends(Array(large[100_000...]) + small, chunkSizes: [65_536, 65_536, 65_536, 4_000])
        let all = partial + (try harness.rawBytesToClient())
        var parser = ServerFrameParser()
        let frames = parser.feed(all)
        #expect(frames.map(\.payload) == [large, small])
    }

    @Test func theBrokerClosingMidPacketEndsTheClientConnectionWithoutACloseFrame() throws {
        let harness = try SessionHarness(settings: Self.settings)
        defer { harness.finish() }
        try harness.connect()
        _ = try harness.framesToClient()
        try harness.brokerSends(Array(MQTTSample.publish(totalLength: 200_000)[0..<90_000]))
        _ = try harness.rawBytesToClient()
        harness.brokerCloses()
        harness.loop.run()
        // A close frame now would be read as payload of the unfinished frame: the socket closes instead.
        #expect(try harness.rawBytesToClient().isEmpty)
        #expect(!harness.clientIsOpen)
    }

    @Test func pingsDuringAStreamedPacketAreAnsweredAfterIt() throws {
        let harness = try SessionHarness(settings: Self.settings)
        defer { harness.finish() }
        try harness.connect()
        _ = try harness.framesToClient()
        let large = MQTTSample.publish(totalLength: 80_000)
        try harness.brokerSends(Array(large[0..<70_000]))
        try harness.send(.ping([7]))
        try harness.brokerSends(Array(large[70_000...]))
        var parser = ServerFrameParser()
        let frames = parser.feed(try harness.rawBytesToClient())
        #expect(frames.map(\.opcode) == [0x2, 0xA], "the pong follows the frame it could not interrupt")
        #expect(frames.last?.payload == [7])
    }

    // MARK: Something else to send while a packet is half forwarded

    /// MQTT 5 route with a topic policy that forbids subscribing to `secret/#`.
    static let policySettings = SessionSettings(
        maximumPacketSize: 1 << 20, connectPacketTimeout: .seconds(10), upstreamReadyTimeout: .seconds(5), topicAuthorizer: NoSecrets())

    struct NoSecrets: TopicAuthorizer {
        func mayPublish(to topic: String) -> Bool { true }
        func maySubscribe(to filter: String) -> Bool { !filter.hasPrefix("secret/") }
    }

    /// An MQTT 5 SUBSCRIBE (empty properties) for `filter`.
    static func subscribeV5(_ filter: String) -> [UInt8] {
        HandEncodedMQTT.packet(0x82, [0x00, 0x01, 0x00] + HandEncodedMQTT.string(filter) + [0x01])
    }

    @Test func aPolicyDisconnectWhileAPacketIsStreamedFollowsThatPacketsFrame() throws {
        // Issue 10: the DISCONNECT 0x87 used to be written inside the frame the client was still receiving, and the
        // connection was then cut: the client read garbage and never learnt why.
        let harness = try SessionHarness(settings: Self.policySettings)
        defer { harness.finish() }
        try harness.connect(level: 5)
        #expect(try harness.bytesToBroker() == MQTTSample.connect(level: 5))
        let large = MQTTSample.publish(totalLength: 200_000)
        try harness.brokerSends(Array(large[0..<100_000]))
        try harness.send(.binary(Self.subscribeV5("secret/#")))
        #expect(harness.clientIsOpen, "the frame is not finished yet")
        #expect(harness.upstreamIsOpen, "the rest of the packet still has to come")

        try harness.brokerSends(Array(large[100_000...]), chunkSizes: [60_000, 40_000])
        var parser = ServerFrameParser()
        let frames = parser.feed(try harness.rawBytesToClient())
        #expect(parser.violation == nil)
        #expect(!parser.hasLeftOver, "every frame is complete")
        #expect(frames.map(\.opcode) == [0x2, 0x2, 0x8])
        let whole = frames.first?.payload == large
        #expect(whole, "the streamed packet, whole and alone in its frame")
        #expect(frames.dropFirst().first?.payload == [0xE0, 0x02, 0x87, 0x00], "then DISCONNECT 0x87 Not authorized")
        #expect(frames.last?.closeCode == 1008)
        #expect(!harness.upstreamIsOpen, "the broker connection ends once the packet is through")
        #expect(try harness.bytesToBroker().isEmpty, "the forbidden SUBSCRIBE never reached the broker")

        try harness.send(.close(1008))
        #expect(!harness.clientIsOpen)
        #expect(harness.accessLine?.metadata["close_code"] == "1008")
    }

    @Test func whenTheRestOfTheStreamedPacketDoesNotComeTheConnectionEndsAtTheCloseTimeout() throws {
        let harness = try SessionHarness(settings: Self.policySettings)
        defer { harness.finish() }
        try harness.connect(level: 5)
        let large = MQTTSample.publish(totalLength: 200_000)
        try harness.brokerSends(Array(large[0..<100_000]))
        let announced = try harness.rawBytesToClient()
        try harness.send(.binary(Self.subscribeV5("secret/#")))

        harness.advance(by: .milliseconds(2_999))
        #expect(harness.clientIsOpen)
        harness.advance(by: .milliseconds(1))
        #expect(!harness.clientIsOpen, "the codec's close timeout bounds the wait")
        #expect(!harness.upstreamIsOpen)
        // Nothing after the part of the frame already sent: a close frame there would be read as payload.
        #expect(announced.count == 10 + 100_000, "the frame header (64-bit length) and the first 100 000 bytes")
        #expect(try harness.rawBytesToClient().isEmpty)
    }

    /// A drain while a broker packet is half forwarded: the packet finishes, then the 1001 follows it, and the client's
    /// acknowledgements still reach the broker until its answering close (main's drain and the typed close together).
    @Test func aDrainWhileAPacketIsStreamedClosesAfterItAndKeepsRelayingTheClient() throws {
        let harness = try SessionHarness(settings: Self.settings)
        defer { harness.finish() }
        try harness.connect()
        _ = try harness.bytesToBroker()
        let large = MQTTSample.publish(totalLength: 100_000)
        try harness.brokerSends(Array(large[0..<70_000]))
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try harness.send(.binary(MQTTSample.puback))
        #expect(try harness.bytesToBroker() == MQTTSample.puback, "relayed while the close waits for the packet")

        try harness.brokerSends(Array(large[70_000...]))
        var parser = ServerFrameParser()
        let frames = parser.feed(try harness.rawBytesToClient())
        #expect(!parser.hasLeftOver)
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.first?.payload.count == large.count)
        #expect(frames.last?.closeCode == 1001)

        try harness.send(.binary(MQTTSample.puback))
        #expect(try harness.bytesToBroker() == MQTTSample.puback, "and after the close frame, until the client's close")
        try harness.send(.close(1001))
        #expect(!harness.clientIsOpen)
        #expect(!harness.upstreamIsOpen)
    }

    @Test func theClientsCloseWhileAPacketIsStreamedIsAnsweredAfterThatPacket() throws {
        let harness = try SessionHarness(settings: Self.settings)
        defer { harness.finish() }
        try harness.connect()
        let large = MQTTSample.publish(totalLength: 100_000)
        try harness.brokerSends(Array(large[0..<70_000]))
        try harness.send(.close(1000))
        #expect(harness.clientIsOpen)
        try harness.brokerSends(Array(large[70_000...]))
        var parser = ServerFrameParser()
        let frames = parser.feed(try harness.rawBytesToClient())
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.first?.payload.count == large.count)
        #expect(frames.last?.closeCode == 1000, "the client's code, echoed")
        #expect(!harness.clientIsOpen)
        #expect(!harness.upstreamIsOpen)
    }
}
