import MosquittoClient

/// Hysteresis over readiness probe results (`admin.readiness.failure_threshold` / `success_threshold`): the broker
/// counts as down only after `failureThreshold` failures in a row, and as up again only after `successThreshold`
/// successes in a row. A broker that misses one probe because it is busy — answering a reconnect storm's CONNECTs —
/// does not take the bridge out of a load balancer's rotation in the middle of that storm.
///
/// It starts down: the first `successThreshold` successes make it up. A pure state machine; `ReadinessMonitor` feeds
/// it, `Readiness.evaluate` reads it.
struct ProbeHistory: Sendable, Hashable {
    let failureThreshold: Int
    let successThreshold: Int
    /// Whether the broker counts as up.
    private(set) var isUp = false
    private(set) var consecutiveFailures = 0
    private(set) var consecutiveSuccesses = 0
    /// The latest probe, and the latest failed one.
    private(set) var last: ProbeRecord?
    private(set) var lastFailure: ProbeRecord?

    init(failureThreshold: Int, successThreshold: Int) {
        self.failureThreshold = max(1, failureThreshold)
        self.successThreshold = max(1, successThreshold)
    }

    /// Adds a probe result; returns whether `isUp` changed.
    @discardableResult
    mutating func record(_ probe: ProbeRecord) -> Bool {
        let wasUp = isUp
        last = probe
        switch probe.result {
        case .ready:
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            if !isUp && consecutiveSuccesses >= successThreshold { isUp = true }
        case .notReady:
            lastFailure = probe
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            if isUp && consecutiveFailures >= failureThreshold { isUp = false }
        }
        return isUp != wasUp
    }
}
