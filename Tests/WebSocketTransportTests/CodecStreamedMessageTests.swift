import NIOCore
import Testing

@testable import WebSocketTransport

/// `beginBinaryMessage`/`continueBinaryMessage`: one frame whose header announces the whole length, its
/// payload written in parts as the relay receives them.
@Suite struct CodecStreamedMessageTests {
    static func codec(of harness: CodecHarness) throws -> WebSocketMessageCodec {
        try harness.channel.pipeline.syncOperations.handler(type: WebSocketMessageCodec.self)
    }

    static let payload = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }

    @Test(arguments: [WebSocketMessageCodec.Role.server, .client])
    func partsMakeOneFrame(role: WebSocketMessageCodec.Role) throws {
        let harness = try CodecHarness(.init(role: role))
        defer { harness.finish() }
        let codec = try Self.codec(of: harness)
        #expect(codec.canStreamMessages)
        // Part sizes on both sides of the coalescing limit, and an odd one so the mask offset is not 4-aligned.
        codec.beginBinaryMessage(totalLength: Self.payload.count, firstPart: ByteBuffer(bytes: Self.payload[0..<3]))
        harness.flush()
        let firstBytes = try harness.outboundBuffers().flatMap { Array($0.readableBytesView) }
        #expect(firstBytes.count == 2 + 2 + (role == .client ? 4 : 0) + 3, "header (16-bit length) and first part go out at once")
        codec.continueBinaryMessage(ByteBuffer(bytes: Self.payload[3..<30_000]))
        codec.continueBinaryMessage(ByteBuffer(bytes: Self.payload[30_000...]))
        harness.write([9, 9])
        harness.flush()
        let rest = try harness.outboundBuffers().flatMap { Array($0.readableBytesView) }
        let frames = try ServerFrame.parseAll(firstBytes + rest)
        #expect(frames.map(\.payload) == [Self.payload, [9, 9]])
        #expect(frames.map(\.masked) == [role == .client, role == .client])
        #expect(frames.allSatisfy { $0.fin && $0.opcode == 0x2 })
    }

    @Test func aCloseRequestMidMessageEndsTheConnectionWithoutACloseFrame() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let codec = try Self.codec(of: harness)
        codec.beginBinaryMessage(totalLength: 1_000, firstPart: ByteBuffer(bytes: [UInt8](repeating: 1, count: 400)))
        harness.requestClose(.goingAway)
        let bytes = try harness.outboundBuffers().flatMap { Array($0.readableBytesView) }
        #expect(bytes.count == 4 + 400, "what was queued is written, and no close frame after it")
        #expect(harness.isClosed)
    }

    @Test func aPingMidMessageIsAnsweredRightAfterIt() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let codec = try Self.codec(of: harness)
        codec.beginBinaryMessage(totalLength: 300, firstPart: ByteBuffer(bytes: [UInt8](repeating: 1, count: 100)))
        harness.feed(TestFrame.frame(opcode: 0x9, payload: [5]))
        codec.continueBinaryMessage(ByteBuffer(bytes: [UInt8](repeating: 2, count: 200)))
        harness.flush()
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0xA])
        #expect(frames.last?.payload == [5])
    }

    @Test func compressedConnectionsDoNotStream() throws {
        let settings = PerMessageDeflate.Settings()
        let agreement = try #require(PerMessageDeflate.negotiate(offers: ["permessage-deflate"], settings: settings))
        let compression = WebSocketMessageCodec.Configuration.Compression(agreement: agreement, settings: settings)
        let harness = try CodecHarness(.init(compression: compression))
        defer { harness.finish() }
        #expect(try Self.codec(of: harness).canStreamMessages == false)
    }
}
