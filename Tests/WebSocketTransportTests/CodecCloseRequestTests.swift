import NIOCore
import Testing
import WebSocketTransport

/// The closing handshake started by our side with `WebSocketOutbound.close` (RFC 6455 §7.1.2).
@Suite struct CodecCloseRequestTests {
    @Test func earlierDataThenTheCloseFrameGoOut() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let data = harness.write([1, 2, 3])
        let request = harness.requestClose(.goingAway, reason: "draining")

        #expect(request.succeeded)
        #expect(data.succeeded)
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.first?.payload == [1, 2, 3])
        #expect(frames.last?.closeCode == 1001)
        #expect(frames.last?.closeReason == Array("draining".utf8))
        #expect(frames.allSatisfy { !$0.masked && $0.fin })
        #expect(!harness.isClosed, "waits for the peer's close")
    }

    @Test func writesAfterTheCloseRequestFail() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.requestClose(.goingAway)
        _ = try harness.outboundBuffers()
        let late = harness.write([9])
        harness.flush()
        #expect(late.failed)
        #expect(try harness.outboundBuffers().isEmpty)
    }

    @Test func thePeersAnswerClosesTheChannel() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.requestClose(.goingAway)
        _ = try harness.outboundBuffers()

        harness.feed(TestFrame.close(code: 1001))
        #expect(harness.isClosed)
        #expect(harness.recorder.events == [.closeReceived(code: .goingAway, reason: "")])
        #expect(harness.recorder.terminalEventPrecedesInactive)
        #expect(try harness.outboundBuffers().isEmpty, "the answer is not answered")
        // The timeout was cancelled: advancing time does nothing more.
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func thePeersEmptyAnswerClosesTheChannel() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.requestClose(.normalClosure)
        harness.feed(TestFrame.close(rawPayload: []))
        #expect(harness.isClosed)
        #expect(harness.recorder.events == [.closeReceived(code: nil, reason: "")])
    }

    @Test func withoutAnAnswerTheChannelClosesAfterTheTimeout() throws {
        let harness = try CodecHarness(.init(closeTimeout: .seconds(3)))
        defer { harness.finish() }
        harness.requestClose(.goingAway)
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(2999))
        #expect(!harness.isClosed)
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(harness.isClosed)
    }

    @Test func dataArrivingAfterOurCloseIsNotDelivered() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1]))
        harness.requestClose(.goingAway)
        _ = try harness.outboundBuffers()

        harness.feed(TestFrame.binary([2, 2]) + TestFrame.binary([3], fin: false) + TestFrame.ping([4]) + TestFrame.continuation([5]))
        #expect(harness.recorder.delivered == [1])
        #expect(try harness.outboundBuffers().isEmpty, "no pong while closing")
        #expect(!harness.isClosed)

        harness.feed(TestFrame.binary([6]) + TestFrame.close(code: 1000) + TestFrame.binary([7]))
        #expect(harness.recorder.delivered == [1])
        #expect(harness.isClosed)
    }

    /// A drain asks for this: acknowledgements the peer sent before it saw our close frame still count.
    @Test func dataArrivingAfterOurCloseIsDeliveredWhenAsked() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1]))
        harness.requestClose(.goingAway, keepsReceiving: true)
        _ = try harness.outboundBuffers()

        harness.feed(TestFrame.binary([2, 2]) + TestFrame.binary([3], fin: false) + TestFrame.ping([4]) + TestFrame.continuation([5]))
        #expect(harness.recorder.delivered == [1, 2, 2, 3, 5])
        #expect(try harness.outboundBuffers().isEmpty, "no pong while closing")
        #expect(!harness.isClosed)

        harness.feed(TestFrame.binary([6]) + TestFrame.close(code: 1000) + TestFrame.binary([7]))
        #expect(harness.recorder.delivered == [1, 2, 2, 3, 5, 6], "nothing after the peer's close frame")
        #expect(harness.isClosed)
    }

    @Test func violationWhileWaitingForTheAnswerClosesWithoutASecondCloseFrame() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.requestClose(.goingAway)
        _ = try harness.outboundBuffers()
        harness.feed(TestFrame.frame(opcode: 0x2, mask: nil, payload: [1]))
        #expect(harness.isClosed)
        #expect(try harness.outboundBuffers().isEmpty)
    }

    @Test func secondCloseRequestSendsNothing() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.requestClose(.goingAway)
        let second = harness.requestClose(.normalClosure)
        #expect(second.succeeded)
        #expect(try harness.outboundFrames().map(\.closeCode) == [1001])
    }

    @Test func longReasonIsCutOnACharacterBoundary() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        // 2-byte characters after one ASCII byte: 123 bytes would cut a character in half.
        harness.requestClose(.goingAway, reason: "x" + String(repeating: "é", count: 100))
        let close = try #require(try harness.outboundFrames().first)
        #expect(close.payload.count <= 125)
        #expect(close.payload.count >= 120)
        #expect(close.closeCode == 1001)
        let reason = try #require(String(validating: close.closeReason, as: UTF8.self))
        #expect(reason.hasPrefix("xéé"))
    }

    @Test func otherOutboundEventsPassThrough() throws {
        struct OtherEvent: Sendable {}
        let harness = try CodecHarness()
        defer { harness.finish() }
        let promise = harness.channel.eventLoop.makePromise(of: Void.self)
        let outcome = PromiseOutcome(promise.futureResult)
        harness.channel.triggerUserOutboundEvent(OtherEvent(), promise: promise)
        // EmbeddedChannel's head fails unknown outbound events: proof that the codec passed it on.
        #expect(outcome.failed)
        #expect(try harness.outboundBuffers().isEmpty)
        #expect(!harness.isClosed)
    }
}
