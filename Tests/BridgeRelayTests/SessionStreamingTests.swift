import BridgeRelay
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
}
