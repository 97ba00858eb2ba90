import NIOCore
import Testing

@testable import WebSocketTransport

/// permessage-deflate through the codec: inflated inbound, compressed outbound, bounded.
@Suite struct CodecCompressionTests {
    static let settings = PerMessageDeflate.Settings(threshold: 16)

    static func compression() throws -> WebSocketMessageCodec.Configuration.Compression {
        let agreement = try #require(PerMessageDeflate.negotiate(offers: ["permessage-deflate"], settings: Self.settings))
        return .init(agreement: agreement, settings: Self.settings)
    }

    /// What a client would send: the raw deflate stream without its sync-flush tail (the bridge's compressor is the
    /// same algorithm, so it stands in for the client's).
    static func deflated(_ bytes: [UInt8]) throws -> [UInt8] {
        let agreement = try #require(PerMessageDeflate.negotiate(offers: ["permessage-deflate"], settings: Self.settings))
        let compressor = PerMessageDeflateCompressor(agreement: agreement, settings: Self.settings)
        let result = compressor.compress(ByteBuffer(bytes: bytes), allocator: ByteBufferAllocator())
        let compressed = try #require(result)
        return Array(compressed.readableBytesView)
    }

    @Test func compressedMessagesAreInflatedAcrossFrames() throws {
        let harness = try CodecHarness(.init(compression: Self.compression()))
        defer { harness.finish() }
        let text = Array(String(repeating: "temperature 21.5 C; ", count: 100).utf8)
        let wire = try Self.deflated(text)
        let half = wire.count / 2
        harness.feed(
            TestFrame.frame(fin: false, rsv: 4, opcode: 0x2, payload: Array(wire[..<half])) + TestFrame.continuation(Array(wire[half...])))
        #expect(harness.recorder.delivered == text)
        #expect(harness.recorder.events == [])
    }

    @Test func aDecompressionBombIsRefusedWith1009() throws {
        let harness = try CodecHarness(.init(maximumFrameSize: 1 << 20, compression: Self.compression()))
        defer { harness.finish() }
        let bomb = try Self.deflated([UInt8](repeating: 0, count: 4 << 20))
        #expect(bomb.count < 16 << 10)
        // A valid message first, in the same read burst: its bytes still go on, none of the bomb's.
        let before = try Self.deflated(Array(repeating: 7, count: 100))
        harness.feed(TestFrame.frame(rsv: 4, opcode: 0x2, payload: before) + TestFrame.frame(rsv: 4, opcode: 0x2, payload: bomb))
        #expect(harness.recorder.delivered == Array(repeating: 7, count: 100), "the bomb's inflated bytes are no message")
        #expect(harness.recorder.violationCodes == [1009])
        #expect(try harness.outboundFrames().last?.closeCode == 1009)
        #expect(harness.isClosed)
    }

    /// `.messages` mode holds each message whole, so its message limit bounds an inflated message as well as one sent
    /// uncompressed, even when the frame limit (the bound of the byte stream's decompressed messages) is larger.
    @Test func anInflatedMessageIsHeldToTheMessageLimit() throws {
        let harness = try CodecHarness(
            .init(maximumFrameSize: 16 << 10, maximumMessageSize: 4000, inbound: .messages, compression: Self.compression()))
        defer { harness.finish() }
        let fits = try Self.deflated(Array(repeating: 7, count: 4000))
        let tooLarge = try Self.deflated(Array(repeating: 7, count: 4001))
        harness.feed(TestFrame.frame(rsv: 4, opcode: 0x2, payload: fits) + TestFrame.frame(rsv: 4, opcode: 0x2, payload: tooLarge))
        #expect(harness.recorder.messages == [WebSocketMessage(kind: .binary, data: ByteBuffer(repeating: 7, count: 4000))])
        #expect(harness.recorder.violationCodes == [1009])
        #expect(try harness.outboundFrames().last?.closeCode == 1009)
    }
}
