import NIOCore
import Testing

@testable import WebSocketTransport

/// `.beginBinary`/`.continueBinary`: one frame whose header announces the whole length, its payload written in parts
/// as the relay receives them — and nothing else inside it.
@Suite struct CodecStreamedMessageTests {
    static let payload = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }

    private static func begin(_ total: Int, _ first: ArraySlice<UInt8>) -> WebSocketOutbound {
        .beginBinary(totalLength: total, firstPart: ByteBuffer(bytes: first))
    }

    private static func part(_ bytes: ArraySlice<UInt8>) -> WebSocketOutbound {
        .continueBinary(ByteBuffer(bytes: bytes))
    }

    @Test(arguments: [WebSocketMessageCodec.Role.server, .client])
    func partsMakeOneFrame(role: WebSocketMessageCodec.Role) throws {
        let harness = try CodecHarness(.init(role: role))
        defer { harness.finish() }
        // Part sizes on both sides of the coalescing limit, and an odd one so the mask offset is not 4-aligned.
        harness.write(Self.begin(Self.payload.count, Self.payload[0..<3]))
        harness.flush()
        let firstBytes = try harness.outboundBuffers().flatMap { Array($0.readableBytesView) }
        #expect(firstBytes.count == 2 + 2 + (role == .client ? 4 : 0) + 3, "header (16-bit length) and first part go out at once")
        harness.write(Self.part(Self.payload[3..<30_000]))
        harness.write(Self.part(Self.payload[30_000...]))
        harness.write([9, 9])
        harness.flush()
        let rest = try harness.outboundBuffers().flatMap { Array($0.readableBytesView) }
        let frames = try ServerFrame.parseAll(firstBytes + rest)
        #expect(frames.map(\.payload) == [Self.payload, [9, 9]])
        #expect(frames.map(\.masked) == [role == .client, role == .client])
        #expect(frames.allSatisfy { $0.fin && $0.opcode == 0x2 })
    }

    @Test func messagesWrittenMidStreamFollowTheStreamedFrameInOrder() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let begun = harness.write(Self.begin(1_000, Self.payload[0..<400]))
        let first = harness.write([1])
        let second = harness.write([2, 2])
        harness.flush()
        #expect(first.isPending && second.isPending, "held until the streamed message is complete")
        let last = harness.write(Self.part(Self.payload[400..<1_000]))
        harness.flush()
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.payload) == [Array(Self.payload[0..<1_000]), [1], [2, 2]])
        #expect(begun.succeeded && first.succeeded && second.succeeded && last.succeeded)
    }

    @Test func aStreamStartedMidStreamWaitsForTheFirst() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write(Self.begin(300, Self.payload[0..<100]))
        harness.write(Self.begin(200, Self.payload[1_000..<1_050]))
        harness.write([7])
        harness.write(Self.part(Self.payload[100..<300]))
        harness.write(Self.part(Self.payload[1_050..<1_200]))
        harness.flush()
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.payload) == [Array(Self.payload[0..<300]), Array(Self.payload[1_000..<1_200]), [7]])
    }

    @Test func aCloseRequestMidMessageWaitsForTheMessageThenSendsTheCloseFrame() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write(Self.begin(1_000, Self.payload[0..<400]))
        harness.write([5])
        harness.requestClose(.goingAway)
        let sofar = try harness.outboundBuffers().flatMap { Array($0.readableBytesView) }
        #expect(sofar.count == 4 + 400, "what was queued is written, and nothing after it yet")
        #expect(!harness.isClosed)
        #expect(harness.write([6]).failed, "writes after the close request fail")

        harness.write(Self.part(Self.payload[400..<1_000]))
        let frames = try ServerFrame.parseAll(sofar + harness.outboundBuffers().flatMap { Array($0.readableBytesView) })
        #expect(frames.map(\.opcode) == [0x2, 0x2, 0x8])
        #expect(frames.map(\.payload.count) == [1_000, 1, 2])
        #expect(frames.last?.closeCode == 1001)
        #expect(!harness.isClosed, "now it waits for the peer's answer")
        harness.feed(TestFrame.close(code: 1001))
        #expect(harness.isClosed)
    }

    @Test func aCloseRequestMidMessageEndsTheConnectionWithoutACloseFrameWhenTheRestIsLate() throws {
        let harness = try CodecHarness(.init(closeTimeout: .seconds(3)))
        defer { harness.finish() }
        harness.write(Self.begin(1_000, Self.payload[0..<400]))
        harness.requestClose(.goingAway)
        _ = try harness.outboundBuffers()
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(2_999))
        #expect(!harness.isClosed)
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(harness.isClosed)
        #expect(try harness.outboundBuffers().isEmpty, "a close frame there would be read as payload")
        #expect(harness.write(Self.part(Self.payload[400..<1_000])).failed)
    }

    @Test func thePeersCloseMidMessageIsAnsweredAfterIt() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write(Self.begin(300, Self.payload[0..<100]))
        harness.flush()
        harness.feed(TestFrame.close(code: 1000, reason: Array("bye".utf8)))
        #expect(harness.recorder.events == [.closeReceived(code: .normalClosure, reason: "bye")])
        #expect(!harness.isClosed)
        harness.write(Self.part(Self.payload[100..<300]))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.last?.closeCode == 1000)
        #expect(harness.isClosed)
    }

    @Test func aViolationMidMessageIsRefusedAfterIt() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write(Self.begin(300, Self.payload[0..<100]))
        harness.flush()
        harness.feed(TestFrame.text([0x41]))
        #expect(harness.recorder.violationCodes == [1003])
        #expect(!harness.isClosed)
        harness.write(Self.part(Self.payload[100..<300]))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.last?.closeCode == 1003)
        #expect(harness.isClosed)
    }

    @Test func aPingMidMessageIsAnsweredRightAfterIt() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write(Self.begin(300, Self.payload[0..<100]))
        harness.feed(TestFrame.frame(opcode: 0x9, payload: [5]))
        harness.write(Self.part(Self.payload[100..<300]))
        harness.flush()
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0xA])
        #expect(frames.last?.payload == [5])
    }

    @Test func compressedConnectionsCollectTheStreamAndSendOneCompressedMessage() throws {
        let settings = PerMessageDeflate.Settings()
        let agreement = try #require(PerMessageDeflate.negotiate(offers: ["permessage-deflate"], settings: settings))
        let compression = WebSocketMessageCodec.Configuration.Compression(agreement: agreement, settings: settings)
        let harness = try CodecHarness(.init(compression: compression))
        defer { harness.finish() }
        let text = [UInt8](repeating: 0x61, count: 20_000)
        harness.write(Self.begin(text.count, text[0..<5_000]))
        harness.flush()
        #expect(try harness.outboundBuffers().isEmpty, "compressed only once whole")
        harness.write(Self.part(text[5_000...]))
        harness.flush()
        let frames = try harness.outboundFrames()
        #expect(frames.count == 1)
        #expect(frames.first?.rsv == 0b100, "RSV1: compressed")
        #expect((frames.first?.payload.count ?? .max) < 1_000)
    }

    @Test func breakingTheStreamingContractFailsTheWrite() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        // EmbeddedChannel rethrows the error the codec passes on: catch it from the next operation.
        #expect(harness.write(Self.part(Self.payload[0..<10])).failed, "no stream in progress")
        #expect(throws: WebSocketOutboundError.noStreamInProgress) { try harness.channel.throwIfErrorCaught() }
        harness.write(Self.begin(20, Self.payload[0..<10]))
        #expect(harness.write(Self.part(Self.payload[0..<11])).failed, "more than announced")
        #expect(throws: WebSocketOutboundError.streamOverrun) { try harness.channel.throwIfErrorCaught() }
        let rest = harness.write(Self.part(Self.payload[10..<20]))
        harness.flush()
        #expect(rest.succeeded)
        #expect(try harness.outboundFrames().map(\.payload) == [Array(Self.payload[0..<20])])
    }
}
