/// How a `MosquittoPublisherPool` member waits between connection attempts: exponential backoff with jitter, so that
/// many bridge instances do not hammer a restarting broker in step.
package struct MosquittoReconnectPolicy: Sendable, Hashable {
    /// The wait after the first failure (and after a lost connection).
    package var initialDelay: Duration
    /// The wait doubles up to this.
    package var maximumDelay: Duration

    package init(initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(10)) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }
}

/// The running backoff of one pool member: each delay is drawn from [½ d, d] where d doubles from `initialDelay` up to
/// `maximumDelay`; `reset()` after a successful connect.
struct ReconnectBackoff: Sendable {
    let policy: MosquittoReconnectPolicy
    private var ceiling: Duration

    init(policy: MosquittoReconnectPolicy) {
        self.policy = policy
        self.ceiling = policy.initialDelay
    }

    /// The next delay; `fraction` is a random number in 0.5...1 (injected by tests).
    mutating func nextDelay(fraction: Double = Double.random(in: 0.5...1)) -> Duration {
        let delay = ceiling * min(max(fraction, 0), 1)
        ceiling = min(ceiling * 2, max(policy.maximumDelay, policy.initialDelay))
        return delay
    }

    mutating func reset() {
        ceiling = policy.initialDelay
    }
}
