import NIOCore
import Testing
import WebSocketTransport

/// What RFC 6455 forbids (and text, which MQTT does not use) is refused with the matching close code:
/// the close frame goes out, the channel closes after it, the handler behind learns why, and nothing
/// after the offending frame is delivered.
@Suite struct CodecProtocolViolationTests {
    /// Feeds `good` then `bad` then more good data in one read, and checks the whole refusal.
    private func expectRefusal(
        _ bad: [UInt8],
        code: UInt16,
        alsoDelivered: [UInt8] = [],
        configuration: WebSocketMessageCodec.Configuration = .init(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let harness = try CodecHarness(configuration)
        defer { harness.finish() }
        let before: [UInt8] = [1, 2, 3, 4, 5]
        harness.feed(TestFrame.binary(before) + bad + TestFrame.binary([6, 6, 6]))
        harness.feed(TestFrame.binary([7, 7, 7]))

        // Earlier bytes first, then the event; nothing after it.
        #expect(harness.recorder.delivered == before + alsoDelivered, sourceLocation: sourceLocation)
        #expect(harness.recorder.violationCodes == [code], sourceLocation: sourceLocation)
        #expect(!harness.recorder.deliveredAfterFirstEvent, sourceLocation: sourceLocation)
        #expect(harness.recorder.terminalEventPrecedesInactive, sourceLocation: sourceLocation)

        let frames = try harness.outboundFrames()
        #expect(frames.count == 1, "\(frames)", sourceLocation: sourceLocation)
        let close = try #require(frames.last, sourceLocation: sourceLocation)
        #expect(close.opcode == 0x8 && close.fin && !close.masked && close.rsv == 0, sourceLocation: sourceLocation)
        #expect(close.closeCode == code, sourceLocation: sourceLocation)
        #expect(close.payload.count <= 125, sourceLocation: sourceLocation)
        #expect(String(validating: close.closeReason, as: UTF8.self) != nil, sourceLocation: sourceLocation)
        #expect(harness.isClosed, sourceLocation: sourceLocation)
        #expect(harness.gate.writesAfterClose == 0, sourceLocation: sourceLocation)
    }

    @Test func textFrameIsRefusedWith1003() throws {
        try expectRefusal(TestFrame.text(Array("hello".utf8)), code: 1003)
    }

    @Test func textFrameLogOrderIsBytesThenEventThenClose() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1]) + TestFrame.binary([2]) + TestFrame.text([0x41]))
        let event = try #require(harness.recorder.events.first)
        #expect(harness.recorder.log.prefix(2) == [.read([1, 2]), .event(event)])
        #expect(harness.recorder.log.contains(.inactive))
        #expect(try harness.outboundFrames().map(\.closeCode) == [1003])
    }

    @Test func unmaskedClientFrameIsRefusedWith1002() throws {
        try expectRefusal(TestFrame.frame(opcode: 0x2, mask: nil, payload: [1, 2]), code: 1002)
    }

    @Test func unmaskedPingIsRefusedWith1002() throws {
        try expectRefusal(TestFrame.frame(opcode: 0x9, mask: nil, payload: []), code: 1002)
    }

    @Test(arguments: [UInt8(1), 2, 3, 4, 5, 6, 7])
    func reservedBitsAreRefusedWith1002(rsv: UInt8) throws {
        // Autobahn 3.x: no extension is negotiated, so any RSV bit is a protocol error, on data and control frames.
        try expectRefusal(TestFrame.frame(rsv: rsv, opcode: 0x2, payload: [1]), code: 1002)
        try expectRefusal(TestFrame.frame(rsv: rsv, opcode: 0x9, payload: []), code: 1002)
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
    func reservedOpcodesAreRefusedWith1002(opcode: UInt8) throws {
        // Autobahn 4.x, with and without payload.
        try expectRefusal(TestFrame.frame(opcode: opcode, payload: []), code: 1002)
        try expectRefusal(TestFrame.frame(opcode: opcode, payload: [1, 2, 3]), code: 1002)
    }

    @Test func fragmentedPingIsRefusedWith1002() throws {
        try expectRefusal(TestFrame.frame(fin: false, opcode: 0x9, payload: [1]), code: 1002)
    }

    @Test func fragmentedPongAndCloseAreRefusedWith1002() throws {
        try expectRefusal(TestFrame.frame(fin: false, opcode: 0xA, payload: []), code: 1002)
        try expectRefusal(TestFrame.frame(fin: false, opcode: 0x8, payload: [0x03, 0xE8]), code: 1002)
    }

    @Test func controlFrameOver125BytesIsRefusedWith1002() throws {
        // Autobahn 2.5 (ping) and 7.3.6 (close with a 124-byte reason, 126 bytes in all).
        try expectRefusal(TestFrame.ping([UInt8](repeating: 0x2A, count: 126)), code: 1002)
        try expectRefusal(TestFrame.close(code: 1000, reason: [UInt8](repeating: 0x2A, count: 124)), code: 1002)
        try expectRefusal(TestFrame.frame(opcode: 0xA, payload: [UInt8](repeating: 0, count: 126)), code: 1002)
    }

    @Test func oversizedControlFrameIsRefusedFromItsHeaderAlone() throws {
        // The header announces 65536 bytes; the codec must not wait for (or buffer) them.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.header(opcode: 0x9, mask: TestFrame.exampleKey, length: 65536))
        #expect(harness.recorder.violationCodes == [1002])
        #expect(harness.isClosed)
    }

    @Test func continuationWithoutAStartIsRefusedWith1002() throws {
        try expectRefusal(TestFrame.continuation([1, 2]), code: 1002)
        try expectRefusal(TestFrame.continuation([], fin: false), code: 1002)
    }

    @Test func continuationAfterAFinishedMessageIsRefusedWith1002() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1], fin: false) + TestFrame.continuation([2]) + TestFrame.continuation([3]))
        #expect(harness.recorder.delivered == [1, 2])
        #expect(harness.recorder.violationCodes == [1002])
    }

    @Test func newMessageWhileAFragmentedOneIsOpenIsRefusedWith1002() throws {
        try expectRefusal(TestFrame.binary([8], fin: false) + TestFrame.binary([9]), code: 1002, alsoDelivered: [8])
    }

    @Test func textWhileAFragmentedBinaryMessageIsOpenIsRefused() throws {
        // RFC 6455 §5.4 makes this a protocol error (1002); refusing it as unsupported text (1003) also
        // fails the connection. Either code is acceptable, but it must be refused.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1], fin: false) + TestFrame.text([0x41]))
        #expect(harness.recorder.delivered == [1])
        #expect(harness.recorder.violationCodes.count == 1)
        #expect([1002, 1003].contains(harness.recorder.violationCodes.first ?? 0))
        #expect(harness.isClosed)
    }

    @Test func frameOverTheMaximumSizeIsRefusedWith1009() throws {
        let configuration = WebSocketMessageCodec.Configuration(maximumFrameSize: 1000)
        try expectRefusal(TestFrame.binary([UInt8](repeating: 1, count: 1001)), code: 1009, configuration: configuration)
        try expectRefusal(
            TestFrame.binary([UInt8](repeating: 8, count: 5), fin: false) + TestFrame.continuation([UInt8](repeating: 1, count: 1001)),
            code: 1009,
            alsoDelivered: [UInt8](repeating: 8, count: 5),
            configuration: configuration
        )
    }

    @Test func frameOfExactlyTheMaximumSizeIsAccepted() throws {
        let harness = try CodecHarness(.init(maximumFrameSize: 1000))
        defer { harness.finish() }
        let payload = [UInt8](repeating: 3, count: 1000)
        harness.feed(TestFrame.binary(payload))
        expectSameBytes(harness.recorder.delivered, payload)
        #expect(!harness.isClosed)
    }

    @Test func hugeAnnouncedLengthIsRefusedWith1009FromTheHeaderAlone() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([4, 4]) + TestFrame.header(opcode: 0x2, mask: TestFrame.exampleKey, length: 1 << 40))
        #expect(harness.recorder.delivered == [4, 4])
        #expect(harness.recorder.violationCodes == [1009])
        #expect(try harness.outboundFrames().map(\.closeCode) == [1009])
        #expect(harness.isClosed)
    }

    @Test func nonMinimalLengthIsRefusedWith1002() throws {
        try expectRefusal(TestFrame.frame(opcode: 0x2, payload: [1, 2, 3], lengthForm: .forced16), code: 1002)
        try expectRefusal(TestFrame.frame(opcode: 0x2, payload: [1, 2, 3], lengthForm: .forced64), code: 1002)
    }

    @Test func lengthWithTheMostSignificantBitSetIsRefusedWith1002() throws {
        try expectRefusal(TestFrame.header(opcode: 0x2, mask: TestFrame.exampleKey, length: 1 << 63, lengthForm: .forced64), code: 1002)
    }

    @Test func violationSplitAcrossReadsIsStillRefused() throws {
        // The bad header arrives one byte at a time, after a partial header was buffered.
        let bad = TestFrame.frame(rsv: 4, opcode: 0x2, payload: [1, 2, 3])
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([5]))
        for byte in bad + TestFrame.binary([6]) { harness.feed([byte]) }
        #expect(harness.recorder.delivered == [5])
        #expect(harness.recorder.violationCodes == [1002])
        #expect(try harness.outboundFrames().map(\.closeCode) == [1002])
    }

    @Test func pongsQueuedBeforeAViolationGoOutBeforeTheCloseFrame() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.ping([1]) + TestFrame.text([0x41]) + TestFrame.ping([2]))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0xA, 0x8])
        #expect(frames.first?.payload == [1])
        #expect(frames.last?.closeCode == 1003)
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func partialFrameBeforeAViolationIsDeliveredAndNothingElse() throws {
        // The payload of a fragmented message cut short by a violation: the relay passes on what it
        // received (MQTT frames are a byte stream), and nothing after.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1, 2], fin: false) + TestFrame.frame(opcode: 0x3, payload: []) + TestFrame.continuation([3]))
        #expect(harness.recorder.delivered == [1, 2])
        #expect(!harness.recorder.deliveredAfterFirstEvent)
    }
}
