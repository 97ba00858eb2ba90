import NIOCore
import Testing
import WebSocketTransport

/// `.messages` mode with text accepted: what the Autobahn echo server runs (the same codec as the relay, configured
/// to pass on whole messages and to read text).
@Suite struct CodecMessageModeTests {
    static let configuration = WebSocketMessageCodec.Configuration(maximumFrameSize: 1 << 16, inbound: .messages, acceptsText: true)

    @Test func wholeMessagesArePassedOnWithTheirKind() throws {
        let harness = try CodecHarness(Self.configuration)
        defer { harness.finish() }
        harness.feed(
            TestFrame.text(Array("hé".utf8), fin: false), TestFrame.ping([1]), TestFrame.continuation(Array("llo".utf8)),
            TestFrame.binary([]), TestFrame.binary([1, 2], fin: false))
        harness.feed(TestFrame.continuation([3]))
        #expect(
            harness.recorder.log.filter { if case .message = $0 { true } else { false } } == [
                .message(.text, Array("héllo".utf8)), .message(.binary, []), .message(.binary, [1, 2, 3]),
            ])
        #expect(try harness.outboundFrames().map(\.opcode) == [0xA])
    }

    @Test func aMessageSplitAcrossReadsIsPassedOnOnceComplete() throws {
        let harness = try CodecHarness(Self.configuration)
        defer { harness.finish() }
        let frame = TestFrame.binary([UInt8](repeating: 7, count: 1000))
        harness.feed(Array(frame[..<500]))
        #expect(harness.recorder.messages.isEmpty)
        harness.feed(Array(frame[500...]))
        #expect(harness.recorder.messages == [WebSocketMessage(kind: .binary, data: ByteBuffer(repeating: 7, count: 1000))])
    }

    @Test func invalidUTF8FailsFastWith1007() throws {
        // Autobahn 6.4.x: the connection must fail on the first invalid byte, not at the end of the message.
        let harness = try CodecHarness(Self.configuration)
        defer { harness.finish() }
        harness.feed(TestFrame.text([0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xF4, 0x90], fin: false))
        #expect(harness.recorder.violationCodes == [1007])
        #expect(try harness.outboundFrames().map(\.closeCode) == [1007])
        #expect(harness.isClosed)
        #expect(harness.recorder.messages.isEmpty)
    }

    @Test func aTextMessageEndingInsideACharacterIsRefused() throws {
        let harness = try CodecHarness(Self.configuration)
        defer { harness.finish() }
        harness.feed(TestFrame.text([0x61, 0xE2, 0x82], fin: false))
        #expect(harness.recorder.violationCodes == [], "still valid so far")
        harness.feed(TestFrame.continuation([]))
        #expect(harness.recorder.violationCodes == [1007])
    }

    @Test func aMessageOverTheLimitIsRefusedWith1009() throws {
        let harness = try CodecHarness(.init(maximumFrameSize: 100, maximumMessageSize: 150, inbound: .messages))
        defer { harness.finish() }
        harness.feed(
            TestFrame.binary([UInt8](repeating: 1, count: 100), fin: false) + TestFrame.continuation([UInt8](repeating: 2, count: 51)))
        #expect(harness.recorder.violationCodes == [1009])
        #expect(harness.recorder.messages.isEmpty)
    }

    @Test func textIsSentAsTextFrames() throws {
        let harness = try CodecHarness(Self.configuration)
        defer { harness.finish() }
        harness.write(.text(ByteBuffer(string: "κόσμε")))
        harness.flush()
        #expect(try harness.outboundFrames() == [ServerFrame(fin: true, rsv: 0, opcode: 0x1, masked: false, payload: Array("κόσμε".utf8))])
    }

    @Test func textInTheByteStreamModeIsCheckedToo() throws {
        let harness = try CodecHarness(.init(acceptsText: true))
        defer { harness.finish() }
        harness.feed(TestFrame.text(Array("ok".utf8)) + TestFrame.binary([1]))
        #expect(harness.recorder.delivered == Array("ok".utf8) + [1])
        harness.feed(TestFrame.text([0xFF]))
        #expect(harness.recorder.violationCodes == [1007])
    }
}
