/// Decides how many messages are due at a given moment for a target rate, from the start of publishing.
///
/// The schedule is absolute (message n is due at `start + n / rate`), so rounding never accumulates and a
/// publisher that was held back by backpressure catches up — but by at most `maximumBurst` messages at once,
/// so that a long stall is not followed by a burst that distorts latency for everyone else. Messages skipped
/// that way are counted in `skipped`: the achieved rate is then visibly below the target.
package struct RatePacer: Sendable, Hashable {
    /// Messages per second (> 0).
    package let rate: Double
    /// The most messages one call to `due(at:)` returns.
    package let maximumBurst: Int
    /// When the schedule starts (nanoseconds on any monotonic clock; the caller's choice).
    package private(set) var startNanoseconds: UInt64
    /// Messages taken from the schedule so far (sent, or skipped).
    package private(set) var scheduled: UInt64 = 0
    /// Messages dropped from the schedule because the publisher fell more than `maximumBurst` behind.
    package private(set) var skipped: UInt64 = 0

    package init(rate: Double, startNanoseconds: UInt64, maximumBurst: Int = 1000) {
        precondition(rate > 0 && rate.isFinite, "rate must be positive")
        precondition(maximumBurst >= 1, "maximumBurst must be at least 1")
        self.rate = rate
        self.maximumBurst = maximumBurst
        self.startNanoseconds = startNanoseconds
    }

    /// How many messages the schedule holds up to `now` in total (0 before the start).
    package func scheduledTotal(at nowNanoseconds: UInt64) -> UInt64 {
        guard nowNanoseconds >= self.startNanoseconds else { return 0 }
        // Multiply before dividing: whole-millisecond times at whole rates then stay exact in floating point.
        let elapsedMessages = Double(nowNanoseconds - self.startNanoseconds) * self.rate / 1e9
        return UInt64(elapsedMessages.rounded(.down)) + 1  // message 0 is due at the start
    }

    /// Takes the messages due at `now` (at most `maximumBurst`) from the schedule and returns their number.
    package mutating func due(at nowNanoseconds: UInt64) -> Int {
        let total = self.scheduledTotal(at: nowNanoseconds)
        guard total > self.scheduled else { return 0 }
        let behind = total - self.scheduled
        if behind > UInt64(self.maximumBurst) {
            self.skipped += behind - UInt64(self.maximumBurst)
            self.scheduled = total
            return self.maximumBurst
        }
        self.scheduled = total
        return Int(behind)
    }

    /// Gives back `count` messages taken by `due(at:)` but not sent (the channel stopped being writable):
    /// they are due again at the next call.
    package mutating func giveBack(_ count: Int) {
        self.scheduled -= UInt64(min(count, Int(self.scheduled)))
    }

    /// Nanoseconds from `now` until the next message is due (0 when one is due already).
    package func nanosecondsUntilNext(at nowNanoseconds: UInt64) -> UInt64 {
        let nextOffset = Double(self.scheduled) * 1e9 / self.rate
        let dueAt = self.startNanoseconds + UInt64(nextOffset.rounded(.up))
        return dueAt > nowNanoseconds ? dueAt - nowNanoseconds : 0
    }
}
