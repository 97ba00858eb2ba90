/// How long a server that failed a dial is left alone before sessions are sent to it again.
///
/// Exponential with a cap, and jittered so that the bridges (and event loops) that saw the same failure do not all
/// come back to the server in the same instant: after the `n`th consecutive failure the server rests for a random
/// time in `[d/2, d)` where `d = min(maximum, initial × 2^(n-1))` ("equal jitter": never less than half the
/// nominal delay, so the backoff still grows).
public struct UpstreamBackoff: Sendable, Hashable {
    /// The nominal delay after the first failure.
    package var initial: Duration
    /// The largest nominal delay.
    package var maximum: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The rest after `failures` consecutive failures (at least 1); `unitRandom` is uniform in `[0, 1)`.
    package func delay(afterFailures failures: Int, unitRandom: Double) -> Duration {
        precondition(failures >= 1, "a delay follows at least one failure")
        // 2^(failures-1), saturating long before Duration could overflow.
        var nominal = initial
        for _ in 1..<min(failures, 63) where nominal < maximum {
            nominal *= 2
        }
        nominal = min(nominal, maximum)
        let jitter = min(max(unitRandom, 0), 1)
        return nominal / 2 + (nominal / 2) * jitter
    }
}
