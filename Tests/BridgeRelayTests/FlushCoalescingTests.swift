import BridgeRelay
import NIOCore
import Testing

/// The flush decisions with a controlled clock: idle → now, busy → at the end of the window, zero → always now.
@Suite struct FlushCoalescingTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let window = TimeAmount.microseconds(200)

    @Test func theFirstFlushGoesOutAtOnce() {
        var policy = FlushCoalescing(window: self.window)
        let result1 = policy.flushWanted(at: self.start)
        #expect(result1 == .flushNow)
        #expect(!policy.isDeferring)
    }

    @Test func aFlushWithinTheWindowIsDeferredToItsEnd() {
        var policy = FlushCoalescing(window: self.window)
        _ = policy.flushWanted(at: self.start)
        let result2 = policy.flushWanted(at: self.start + .microseconds(50))
        #expect(result2 == .deferUntil(self.start + self.window))
        #expect(policy.isDeferring)
        // Later wishes join the deferred flush: one timer per session, not one per message.
        let result3 = policy.flushWanted(at: self.start + .microseconds(120))
        #expect(result3 == .alreadyDeferred)
        let result4 = policy.flushWanted(at: self.start + .microseconds(199))
        #expect(result4 == .alreadyDeferred)
    }

    @Test func anIdleDirectionFlushesAtOnce() {
        var policy = FlushCoalescing(window: self.window)
        _ = policy.flushWanted(at: self.start)
        let result5 = policy.flushWanted(at: self.start + self.window)
        #expect(result5 == .flushNow, "idle for exactly the window")
        let result6 = policy.flushWanted(at: self.start + .seconds(60))
        #expect(result6 == .flushNow, "a push session's next message")
    }

    @Test func theTimerFlushesOnceAndStartsTheNextWindow() {
        var policy = FlushCoalescing(window: self.window)
        _ = policy.flushWanted(at: self.start)
        _ = policy.flushWanted(at: self.start + .microseconds(10))
        let result7 = policy.deadlineReached(at: self.start + self.window)
        #expect(result7)
        #expect(!policy.isDeferring)
        let result8 = policy.deadlineReached(at: self.start + self.window)
        #expect(!result8, "a second firing flushes nothing")
        // A hot session keeps flushing once per window, counted from the deferred flush.
        let next = self.start + self.window + .microseconds(30)
        let result9 = policy.flushWanted(at: next)
        #expect(result9 == .deferUntil(self.start + self.window + self.window))
    }

    @Test func windowZeroAlwaysFlushesAtOnce() {
        var policy = FlushCoalescing(window: .zero)
        for offset in [0, 0, 1, 1, 2] {
            #expect(policy.flushWanted(at: self.start + .nanoseconds(Int64(offset))) == .flushNow)
            #expect(!policy.isDeferring)
        }
    }

    @Test func aFlushForAnotherReasonMakesTheDeferredOneMoot() {
        var policy = FlushCoalescing(window: self.window)
        _ = policy.flushWanted(at: self.start)
        _ = policy.flushWanted(at: self.start + .microseconds(10))
        // A close frame is written and flushed: the caller cancels its timer.
        let result10 = policy.flushedAnyway(at: self.start + .microseconds(20))
        #expect(result10)
        #expect(!policy.isDeferring)
        let result11 = policy.deadlineReached(at: self.start + self.window)
        #expect(!result11, "a timer that fires anyway flushes nothing")
        let result12 = policy.flushedAnyway(at: self.start + .microseconds(30))
        #expect(!result12, "nothing deferred: no timer to cancel")
    }

    @Test func closingWithADeferredFlushAbandonsIt() {
        var policy = FlushCoalescing(window: self.window)
        _ = policy.flushWanted(at: self.start)
        _ = policy.flushWanted(at: self.start + .microseconds(10))
        let result13 = policy.abandon()
        #expect(result13)
        #expect(!policy.isDeferring)
        let result14 = policy.deadlineReached(at: self.start + self.window)
        #expect(!result14)
        let result15 = policy.abandon()
        #expect(!result15)
    }
}
