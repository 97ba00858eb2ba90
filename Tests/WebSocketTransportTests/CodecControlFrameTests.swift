import BridgeTestSupport
import NIOCore
import Testing
import WebSocketTransport

/// Ping, pong and the peer-initiated closing handshake (RFC 6455 §5.5, §7; Autobahn 2.x and 7.x).
@Suite struct CodecControlFrameTests {
    private func pong(_ payload: [UInt8]) -> ServerFrame {
        ServerFrame(fin: true, rsv: 0, opcode: 0xA, masked: false, payload: payload)
    }

    // MARK: Ping and pong

    @Test(arguments: [0, 1, 4, 5, 8, 9, 17, 125])
    func pingIsAnsweredWithAnIdenticalUnmaskedPongAtReadComplete(length: Int) throws {
        var random = SeededRandom(seed: 0x5EED_0200 &+ UInt64(length))
        let payload = random.bytes(length)
        let harness = try CodecHarness()
        defer { harness.finish() }

        harness.read(TestFrame.ping(payload, mask: random.key()))
        #expect(try harness.outboundBuffers().isEmpty, "the pong waits for the end of the read burst")
        harness.readComplete()
        #expect(try harness.outboundFrames() == [pong(payload)])
        #expect(harness.recorder.events == [])
        #expect(harness.recorder.delivered == [])
        #expect(!harness.isClosed)
    }

    @Test func pingSplitAtEveryByteIsAnswered() throws {
        let payload = Array("ping payload".utf8)
        let frame = TestFrame.ping(payload, mask: [9, 8, 7, 6])
        for split in 1..<frame.count {
            let harness = try CodecHarness()
            defer { harness.finish() }
            harness.feed(Array(frame[..<split]))
            harness.feed(Array(frame[split...]))
            #expect(try harness.outboundFrames() == [pong(payload)], "split at \(split)")
        }
        // Byte by byte, each its own burst.
        let harness = try CodecHarness()
        defer { harness.finish() }
        for byte in frame { harness.feed([byte]) }
        #expect(try harness.outboundFrames() == [pong(payload)])
    }

    @Test func severalPingsInOneBurstAreAnsweredInOrderInOneWrite() throws {
        // Autobahn 2.10/2.11.
        let harness = try CodecHarness()
        defer { harness.finish() }
        let payloads = (0..<10).map { Array("payload-\($0)".utf8) }
        harness.feed(chunks: payloads.map { TestFrame.ping($0) })
        let buffers = try harness.outboundBuffers()
        #expect(buffers.count == 1)
        #expect(try ServerFrame.parseAll(buffers.flatMap { Array($0.readableBytesView) }) == payloads.map(pong))
    }

    @Test func pongIsReportedAndNotAnswered() throws {
        // Autobahn 2.7/2.8: unsolicited pongs are fine.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.frame(opcode: 0xA, payload: []), TestFrame.frame(opcode: 0xA, payload: [1, 2, 3]))
        #expect(harness.recorder.events == [.pongReceived, .pongReceived])
        #expect(try harness.outboundBuffers().isEmpty)
        #expect(!harness.isClosed)
    }

    @Test func pingBetweenDataFramesDoesNotDisturbTheStream() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1, 2, 3]) + TestFrame.ping([7]) + TestFrame.binary([4]))
        #expect(harness.recorder.delivered == [1, 2, 3, 4])
        #expect(try harness.outboundFrames() == [pong([7])])
    }

    @Test func pongFollowsDataTheHandlerWroteEarlier() throws {
        // Data written (not yet flushed) by the handler behind goes first; the pong is appended after it.
        let harness = try CodecHarness()
        defer { harness.finish() }
        let written = harness.write([0x30, 0x00])
        harness.feed(TestFrame.ping([5]))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0xA])
        #expect(frames.first?.payload == [0x30, 0x00])
        #expect(written.succeeded)
    }

    // MARK: Close from the peer

    @Test func closeWithCodeAndReasonIsReportedAnsweredAndClosed() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1, 2]) + TestFrame.close(code: 1000, reason: Array("bye".utf8)) + TestFrame.binary([3]))

        #expect(harness.recorder.delivered == [1, 2])
        #expect(harness.recorder.events == [.closeReceived(code: .normalClosure, reason: "bye")])
        #expect(!harness.recorder.deliveredAfterFirstEvent)
        #expect(harness.recorder.terminalEventPrecedesInactive)
        let frames = try harness.outboundFrames()
        #expect(frames.count == 1)
        #expect(frames.first?.opcode == 0x8)
        #expect(frames.first?.closeCode == 1000)
        #expect(frames.first?.masked == false)
        #expect(harness.isClosed)
        #expect(harness.gate.writesAfterClose == 0)
    }

    @Test func closeWithEmptyPayloadIsAnsweredWithAnEmptyClose() throws {
        // Autobahn 7.3.1; RFC 6455 §7.1.5: no code received means 1005 locally, nothing on the wire.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(rawPayload: []))
        #expect(harness.recorder.events == [.closeReceived(code: nil, reason: "")])
        #expect(try harness.outboundFrames() == [ServerFrame(fin: true, rsv: 0, opcode: 0x8, masked: false, payload: [])])
        #expect(harness.isClosed)
    }

    @Test func closeWithCodeOnly() throws {
        // Autobahn 7.3.3.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(code: 1001))
        #expect(harness.recorder.events == [.closeReceived(code: .goingAway, reason: "")])
        #expect(try harness.outboundFrames().map(\.closeCode) == [1001])
    }

    @Test func closeWithMaximumReasonLength() throws {
        // Autobahn 7.3.5: 123 bytes of reason is the most a control frame allows.
        let reason = String(repeating: "*", count: 123)
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(code: 1000, reason: Array(reason.utf8)))
        #expect(harness.recorder.events == [.closeReceived(code: .normalClosure, reason: reason)])
        #expect(harness.isClosed)
    }

    @Test func closeSplitAcrossReads() throws {
        let frame = TestFrame.close(code: 4000, reason: Array("split".utf8))
        for split in 1..<frame.count {
            let harness = try CodecHarness()
            defer { harness.finish() }
            harness.feed(Array(frame[..<split]))
            #expect(!harness.isClosed)
            harness.feed(Array(frame[split...]))
            #expect(
                harness.recorder.events == [.closeReceived(code: WebSocketCloseCode(rawValue: 4000), reason: "split")], "split at \(split)")
            #expect(harness.isClosed)
        }
    }

    @Test func oneBytePayloadCloseIsRefusedWith1002() throws {
        // Autobahn 7.3.2.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(rawPayload: [0x03]))
        #expect(harness.recorder.violationCodes == [1002])
        #expect(try harness.outboundFrames().map(\.closeCode) == [1002])
        #expect(harness.isClosed)
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
    func invalidCloseCodesAreRefusedWith1002(code: UInt16) throws {
        // Autobahn 7.9.x and 7.13.x.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(code: code))
        #expect(harness.recorder.violationCodes == [1002])
        #expect(!harness.recorder.events.contains { if case .closeReceived = $0 { true } else { false } })
        #expect(try harness.outboundFrames().map(\.closeCode) == [1002])
        #expect(harness.isClosed)
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])
    func validCloseCodesAreAcceptedAndEchoed(code: UInt16) throws {
        // Autobahn 7.7.x.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(code: code, reason: Array("ok".utf8)))
        #expect(harness.recorder.events == [.closeReceived(code: WebSocketCloseCode(rawValue: code), reason: "ok")])
        #expect(try harness.outboundFrames().map(\.closeCode) == [code])
        #expect(harness.isClosed)
    }

    @Test(arguments: [
        [UInt8(0xFF)],
        [0xC0, 0x80],  // overlong NUL
        [0xE0, 0x80, 0xAF],  // overlong "/"
        [0xED, 0xA0, 0x80],  // UTF-16 surrogate
        [0xE2, 0x82],  // truncated
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0x61, 0x62, 0x80],  // stray continuation byte
        // Autobahn 7.5.1's payload: "κόσμε" then a surrogate then "edited".
        [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64],
    ])
    func invalidUTF8ReasonIsRefusedWith1007(reason: [UInt8]) throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(code: 1000, reason: reason))
        #expect(harness.recorder.violationCodes == [1007])
        #expect(try harness.outboundFrames().map(\.closeCode) == [1007])
        #expect(harness.isClosed)
    }

    @Test func multiByteUTF8ReasonIsAccepted() throws {
        let reason = "κόσμε 👋"
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(code: 1000, reason: Array(reason.utf8)))
        #expect(harness.recorder.events == [.closeReceived(code: .normalClosure, reason: reason)])
    }

    @Test func framesAfterThePeersCloseAreIgnored() throws {
        // Autobahn 7.1.2–7.1.4: close, then a ping, a text frame, a second close: none may cause output.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(
            TestFrame.close(code: 1000) + TestFrame.ping([1]) + TestFrame.text([0x41]) + TestFrame.close(code: 1000) + TestFrame.binary([2])
        )
        #expect(harness.recorder.events == [.closeReceived(code: .normalClosure, reason: "")])
        #expect(try harness.outboundFrames().map(\.opcode) == [0x8])
        #expect(harness.recorder.delivered == [])
    }

    @Test func closeAfterAFragmentedMessageWasStarted() throws {
        // Autobahn 7.1.5: the bytes of the unfinished message received so far are passed on first.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1, 2], fin: false) + TestFrame.close(code: 1000))
        #expect(harness.recorder.log.prefix(2) == [.read([1, 2]), .event(.closeReceived(code: .normalClosure, reason: ""))])
        #expect(harness.isClosed)
    }

    @Test func writesAfterThePeersCloseFail() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.close(code: 1000))
        _ = try harness.outboundBuffers()
        let late = harness.write([1])
        harness.flush()
        #expect(late.failed)
        #expect(try harness.outboundBuffers().isEmpty)
    }
}
