import NIOCore
import NIOEmbedded
import Testing

@testable import WebSocketTransport

/// A peer may send `burst` pings and pongs at once and `perSecond` after that; beyond it the connection is closed with
/// 1008, so a ping flood cannot keep an event loop (and every other session on it) busy answering it.
@Suite struct CodecControlFrameBudgetTests {
    private static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// How many of `count` frames at `now` the budget let through.
    private static func spend(_ count: Int, from budget: inout WebSocketControlFrameBudget, at now: NIODeadline) -> Int {
        var granted = 0
        for _ in 0..<count where budget.spend(now: now) { granted += 1 }
        return granted
    }

    @Test func theBurstIsSpentAtOnceThenNothing() {
        var budget = WebSocketControlFrameBudget(limits: .init(burst: 5, perSecond: 2), now: Self.start)
        #expect(Self.spend(5, from: &budget, at: Self.start) == 5)
        #expect(Self.spend(1, from: &budget, at: Self.start) == 0)
        #expect(Self.spend(1, from: &budget, at: Self.start + .milliseconds(499)) == 0)
    }

    @Test func theBudgetRefillsAtTheRateKeepingFractionsAndNeverAboveTheBurst() {
        var budget = WebSocketControlFrameBudget(limits: .init(burst: 3, perSecond: 2), now: Self.start)
        #expect(Self.spend(3, from: &budget, at: Self.start) == 3)
        // 0.75 s earns one frame (500 ms each) and keeps 250 ms towards the next one.
        #expect(Self.spend(1, from: &budget, at: Self.start + .milliseconds(750)) == 1)
        #expect(Self.spend(1, from: &budget, at: Self.start + .milliseconds(750)) == 0)
        #expect(Self.spend(1, from: &budget, at: Self.start + .milliseconds(1000)) == 1)
        // A long pause fills the bucket to the burst, no more.
        let later = Self.start + .seconds(60)
        #expect(Self.spend(3, from: &budget, at: later) == 3)
        #expect(Self.spend(1, from: &budget, at: later) == 0)
    }

    @Test func aPingFloodIsAnsweredUpToTheBurstThenClosedWith1008() throws {
        let limits = WebSocketControlFrameLimits.standard
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(chunks: (0..<(limits.burst * 3)).map { TestFrame.ping([UInt8(truncatingIfNeeded: $0)]) })

        let frames = try harness.outboundFrames()
        #expect(frames.filter { $0.opcode == 0xA }.count == limits.burst)
        #expect(frames.last?.opcode == 0x8 && frames.last?.closeCode == 1008)
        #expect(harness.recorder.violationCodes == [1008])
        #expect(harness.isClosed)
    }

    @Test func unsolicitedPongsCountToo() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(chunks: (0...WebSocketControlFrameLimits.standard.burst).map { _ in TestFrame.frame(opcode: 0xA, payload: []) })
        #expect(harness.recorder.violationCodes == [1008])
        #expect(harness.isClosed)
    }

    @Test func pingsAtTheAllowedRateAreAllAnsweredForAsLongAsTheyCome() throws {
        let limits = WebSocketControlFrameLimits.standard
        let harness = try CodecHarness()
        defer { harness.finish() }
        // The whole burst, then one ping per refill interval, for much longer than the burst lasts.
        harness.feed(chunks: (0..<limits.burst).map { _ in TestFrame.ping([1]) })
        for _ in 0..<(limits.burst * 3) {
            harness.channel.embeddedEventLoop.advanceTime(by: .nanoseconds(1_000_000_000 / Int64(limits.perSecond)))
            harness.feed(TestFrame.ping([2]))
        }
        let frames = try harness.outboundFrames()
        #expect(frames.count == limits.burst * 4 && frames.allSatisfy { $0.opcode == 0xA })
        #expect(harness.recorder.violationCodes.isEmpty)
        #expect(!harness.isClosed)
    }

    @Test func withoutLimitsAFloodIsAnswered() throws {
        var configuration = WebSocketMessageCodec.Configuration()
        configuration.controlFrameLimits = nil
        let harness = try CodecHarness(configuration)
        defer { harness.finish() }
        harness.feed(chunks: (0..<1000).map { _ in TestFrame.ping([]) })
        #expect(try harness.outboundFrames().count == 1000)
        #expect(!harness.isClosed)
    }
}
