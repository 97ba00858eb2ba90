import NIOCore
import Testing
import WebSocketTransport

/// The handler behind the codec reacts from inside the codec's callbacks: it closes, writes or asks
/// for a close while the codec is still in the middle of processing a read.
@Suite struct CodecReentrancyTests {
    @Test func handlerClosingOnAProtocolViolationStillLetsTheCloseFrameOut() throws {
        // `WebSocketEvent.protocolViolation` is documented as "sent a close frame … and is closing";
        // closing the channel is the natural reaction to it, and must not cost the peer its close frame.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onEvent = { context, _ in context.close(promise: nil) }
        harness.feed(TestFrame.text([0x41]))

        #expect(harness.recorder.violationCodes == [1003])
        #expect(harness.isClosed)
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.closeCode) == [1003])
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func handlerClosingOnClosedReceivedStillLetsTheAnswerOut() throws {
        // `.closeReceived` is documented as "the codec has answered it and is closing the connection".
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onEvent = { context, _ in context.close(promise: nil) }
        harness.feed(TestFrame.close(code: 1000, reason: Array("bye".utf8)))

        #expect(harness.recorder.events == [.closeReceived(code: .normalClosure, reason: "bye")])
        #expect(harness.isClosed)
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.closeCode) == [1000])
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func handlerClosingMidBurstStopsDeliveryAndOutput() throws {
        let harness = try CodecHarness(.init(inbound: .byteStream(flushThreshold: 10)))
        defer { harness.finish() }
        harness.recorder.onRead = { context, _ in context.close(promise: nil) }
        harness.feed(
            TestFrame.binary([UInt8](repeating: 1, count: 12))
                + TestFrame.ping([2])
                + TestFrame.binary([UInt8](repeating: 3, count: 12))
                + TestFrame.text([0x41])
        )
        #expect(harness.recorder.delivered == [UInt8](repeating: 1, count: 12))
        #expect(harness.recorder.readCount == 1)
        #expect(harness.recorder.events == [])
        #expect(harness.isClosed)
        #expect(try harness.outboundBuffers().isEmpty)
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func handlerClosingAtReadCompleteDeliveryDropsQueuedPongs() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onRead = { context, _ in context.close(promise: nil) }
        harness.feed(TestFrame.ping([1]) + TestFrame.binary([2]))
        #expect(harness.recorder.delivered == [2])
        #expect(harness.isClosed)
        #expect(harness.gate.writesAfterClose == 0)
        #expect(harness.recorder.log.filter { $0 == .readComplete }.count <= 1)
    }

    @Test func handlerClosingWhileBytesBeforeAViolationAreDelivered() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onRead = { context, _ in context.close(promise: nil) }
        harness.feed(TestFrame.binary([1]) + TestFrame.frame(opcode: 0x2, mask: nil, payload: [2]))
        #expect(harness.recorder.delivered == [1])
        #expect(harness.isClosed)
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func handlerClosingWhileBytesBeforeAPeerCloseAreDelivered() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onRead = { context, _ in context.close(promise: nil) }
        harness.feed(TestFrame.binary([1]) + TestFrame.close(code: 1000) + TestFrame.binary([2]))
        #expect(harness.recorder.delivered == [1])
        #expect(harness.isClosed)
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func handlerWritingBeforeAViolationGetsItsDataOutBeforeTheCloseFrame() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onRead = { context, _ in
            context.writeAndFlush(NIOAny(WebSocketOutbound.binary(context.channel.allocator.buffer(bytes: [0xEE]))), promise: nil)
        }
        harness.feed(TestFrame.binary([1]) + TestFrame.text([0x41]))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.first?.payload == [0xEE])
        #expect(frames.last?.closeCode == 1003)
    }

    @Test func handlerRequestingCloseMidBurstStopsDelivery() throws {
        let harness = try CodecHarness(.init(inbound: .byteStream(flushThreshold: 4)))
        defer { harness.finish() }
        harness.recorder.onRead = { context, _ in
            context.writeAndFlush(NIOAny(WebSocketOutbound.close(.goingAway, reason: "")), promise: nil)
        }
        harness.feed(TestFrame.binary([1, 1, 1, 1]) + TestFrame.binary([2, 2, 2, 2]) + TestFrame.ping([3]))
        #expect(harness.recorder.delivered == [1, 1, 1, 1])
        #expect(try harness.outboundFrames().map(\.closeCode) == [1001])
        #expect(!harness.isClosed)

        harness.feed(TestFrame.close(code: 1001))
        #expect(harness.isClosed)
        #expect(try harness.outboundBuffers().isEmpty)
    }

    @Test func handlerClosingOnPongStopsProcessing() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onEvent = { context, _ in context.close(promise: nil) }
        harness.feed(TestFrame.frame(opcode: 0xA, payload: []) + TestFrame.ping([1]) + TestFrame.binary([2]))
        #expect(harness.recorder.events == [.pongReceived])
        #expect(harness.recorder.delivered == [])
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func handlerClosingAfterOurCloseRequestCancelsTheTimeout() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.requestClose(.goingAway)
        harness.channel.close(promise: nil)
        #expect(harness.isClosed)
        // If the timeout had not been cancelled it would fire here and close again.
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(harness.gate.writesAfterClose == 0)
    }
}
