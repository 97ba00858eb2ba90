import NIOCore
import NIOEmbedded
import Testing

@testable import WebSocketTransport

/// A client that pings but never reads must not grow the server's buffers.
@Suite struct CodecPingBackpressureTests {
    @Test func pingsWhileUnwritableAreAnsweredOnceWithTheLatestPayloadWhenWritableAgain() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.channel.isWritable = false
        harness.channel.pipeline.fireChannelWritabilityChanged()
        // As many as the control-frame budget lets a peer send at once (CodecControlFrameBudgetTests: more is refused).
        let count = WebSocketControlFrameLimits.standard.burst
        for index in 0..<count {
            harness.feed(TestFrame.ping([UInt8(truncatingIfNeeded: index)]))
        }
        #expect(try harness.outboundFrames().isEmpty, "no pong is queued while the channel is not writable")

        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0xA])
        #expect(frames.first?.payload == [UInt8(truncatingIfNeeded: count - 1)])
    }

    @Test func pingsWhileWritableAreEachAnswered() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.ping([1]), TestFrame.ping([2]))
        #expect(try harness.outboundFrames().map(\.payload) == [[1], [2]])
    }
}
