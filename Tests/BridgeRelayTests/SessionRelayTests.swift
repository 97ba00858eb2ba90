import BridgeRelay
import NIOCore
import Testing

/// Bytes through `WebSocketMessageCodec` + `ClientSessionHandler`, both ways, byte-exact.
@Suite struct SessionRelayTests {
    static let connect = MQTTSample.connect()

    // MARK: Client → broker

    @Test func connectIsHeldUntilTheBrokerIsReadyThenSentWithWhatFollowed() throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        let publish = MQTTSample.publish(payload: Array("hello".utf8))
        let subscribe = MQTTSample.subscribe()
        // CONNECT in two frames, then a PUBLISH in the same burst; a SUBSCRIBE in a later burst (already in flight).
        try harness.send(
            .binary(Array(Self.connect.prefix(9)), fin: false), .continuation(Array(Self.connect.dropFirst(9))), .binary(publish))
        #expect(harness.connector.dials == 1)
        #expect(harness.upstream == nil)
        harness.client.read()
        #expect(harness.clientReads.count == 0, "no client reads while the broker is dialled")
        try harness.send(.binary(subscribe))
        #expect(try harness.framesToClient().isEmpty)

        try harness.connector.completeDial()

        #expect(try harness.bytesToBroker() == Self.connect + publish + subscribe)
        #expect(harness.clientReads.count == 1, "the held read is replayed once relaying starts")
        let more = MQTTSample.pingreq
        try harness.send(.binary(more))
        #expect(try harness.bytesToBroker() == more)
    }

    @Test(arguments: [1, 2, 5, 17])
    func theBrokerIsDialledOnlyOnceTheWholeConnectArrived(_ frameSize: Int) throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        let pieces = chunks(of: Self.connect, sizes: [frameSize])
        for (index, piece) in pieces.enumerated() {
            #expect(harness.connector.dials == 0, "dialled after \(index) of \(pieces.count) pieces")
            try harness.send(index == 0 ? .binary(piece, fin: pieces.count == 1) : .continuation(piece, fin: index == pieces.count - 1))
        }
        #expect(harness.connector.dials == 1)
        try harness.connector.completeDial()
        #expect(try harness.bytesToBroker() == Self.connect)
    }

    struct Split: Sendable, CustomTestStringConvertible {
        /// Payload sizes of consecutive frames (cycled); the message is split over continuation frames.
        var frameSizes: [Int]
        /// Sizes of the TCP reads the frames arrive in (cycled).
        var readSizes: [Int]
        /// Adds a 66 000-byte PUBLISH (frames over 65 535 bytes use the 64-bit length); too slow for tiny reads.
        var large = false
        var testDescription: String { "frames \(self.frameSizes), reads \(self.readSizes)\(self.large ? ", large packet" : "")" }
    }

    static let splits = [
        Split(frameSizes: [100_000], readSizes: [100_000], large: true),
        Split(frameSizes: [1], readSizes: [1]),
        Split(frameSizes: [3, 1, 200], readSizes: [2, 9, 1000]),
        Split(frameSizes: [127], readSizes: [6]),
        Split(frameSizes: [126, 65_536], readSizes: [4096, 1], large: true),
        Split(frameSizes: [65_535, 65_536, 1], readSizes: [70_000], large: true),
    ]

    @Test(arguments: splits)
    func clientBytesAreRelayedByteExactHoweverTheyAreFramed(_ split: Split) throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 70_000))
        defer { harness.finish() }
        try harness.connect()
        _ = try harness.bytesToBroker()
        let stream =
            MQTTSample.publish(payload: Array(repeating: 0xAB, count: 300), packetID: 7) + MQTTSample.pingreq
            + MQTTSample.publish(payload: [])
            + (split.large ? MQTTSample.publish(totalLength: 66_000) : MQTTSample.publish(totalLength: 1000))
            + MQTTSample.subscribe() + MQTTSample.disconnect
        // One binary message cut into frames of the given sizes.
        let pieces = chunks(of: stream, sizes: split.frameSizes)
        let frames = pieces.enumerated().map { index, piece in
            index == 0 ? ClientFrame.binary(piece, fin: pieces.count == 1) : .continuation(piece, fin: index == pieces.count - 1)
        }
        try harness.sendBytes(encode(frames), chunkSizes: split.readSizes)
        #expect(try harness.bytesToBroker() == stream)
        #expect(harness.clientIsOpen)
    }

    @Test func separateMessagesAreOneStream() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        let publish = MQTTSample.publish(payload: Array(0..<40))
        // A packet split over two messages, and two packets in one message: MQTT over WebSocket allows both.
        try harness.send(.binary(Self.connect + Array(publish.prefix(5))), .binary(Array(publish.dropFirst(5)) + MQTTSample.pingreq))
        #expect(try harness.bytesToBroker() == Self.connect + publish + MQTTSample.pingreq)
    }

    @Test func clientPacketOfExactlyTheLimitIsRelayed() throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 4096))
        defer { harness.finish() }
        try harness.connect()
        let publish = MQTTSample.publish(totalLength: 4096)
        try harness.send(.binary(publish))
        #expect(try harness.bytesToBroker() == Self.connect + publish)
        #expect(harness.clientIsOpen)
        #expect(try harness.framesToClient().isEmpty)
    }

    @Test func pingIsAnsweredByTheCodecAndNotRelayed() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        _ = try harness.bytesToBroker()
        try harness.send(.ping([1, 2, 3]))
        #expect(try harness.framesToClient() == [ServerFrame(fin: true, opcode: 0xA, payload: [1, 2, 3])])
        #expect(try harness.bytesToBroker().isEmpty)
    }

    // MARK: Broker → client

    static let brokerPackets: [[UInt8]] = [
        MQTTSample.connackAccepted,
        MQTTSample.suback,
        MQTTSample.publish(topic: "t/1", payload: Array(repeating: 0x11, count: 200), packetID: 3),
        MQTTSample.publish(payload: []),
        MQTTSample.publish(totalLength: 20_000),  // over the codec's coalescing limit: written as its own slice
        MQTTSample.pingresp,
        MQTTSample.publish(totalLength: 16_384),
        MQTTSample.puback,
    ]

    @Test(arguments: [[Int.max], [1, 1, 1, 61], [2, 3, 250], [7, 1000], [16_385], [5, 20_000, 1]])
    func eachBrokerPacketBecomesOneBinaryFrame(_ chunkSizes: [Int]) throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 70_000))
        defer { harness.finish() }
        try harness.connect()
        try harness.brokerSends(Self.brokerPackets.flatMap { $0 }, chunkSizes: chunkSizes.map { min($0, 1 << 20) })
        let frames = try harness.framesToClient()
        #expect(frames == Self.brokerPackets.map { ServerFrame.binary($0) })
        #expect(harness.clientIsOpen)
    }

    @Test func aPartialBrokerPacketIsNotSentUntilItIsComplete() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let publish = MQTTSample.publish(payload: Array(0..<100))
        try harness.brokerSends(MQTTSample.connackAccepted + publish.prefix(50))
        #expect(try harness.framesToClient() == [.binary(MQTTSample.connackAccepted)])
        try harness.brokerSends(Array(publish.dropFirst(50)))
        #expect(try harness.framesToClient() == [.binary(publish)])
    }

    @Test func brokerPacketOfExactlyTheLimitPassesAndOneByteMoreIs1011() throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 4096))
        defer { harness.finish() }
        try harness.connect()
        let atLimit = MQTTSample.publish(totalLength: 4096)
        try harness.brokerSends(atLimit)
        #expect(try harness.framesToClient() == [.binary(atLimit)])
        try harness.brokerSends(MQTTSample.publish(totalLength: 4097))
        let frames = try harness.framesToClient()
        #expect(frames.map(\.closeCode) == [1011])
        #expect(!harness.upstreamIsOpen)
    }
}
