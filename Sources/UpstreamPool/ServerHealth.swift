/// What the pool knows about one server's health: the passive (dial) and active (probe) evidence, combined.
///
/// - A failed dial marks an up server down at once, resting for `UpstreamBackoff.delay` after the `n`th consecutive
///   failure. When the rest is over, the server is offered to sessions again ("on trial"): the next dial that
///   succeeds brings it back, the next that fails doubles the rest. Dials that were already under way when the
///   server was marked down fail too; they count as dial failures but do not lengthen the rest.
/// - A failed probe marks the server down until a probe (or a dial) succeeds: no trial by time, because the prober
///   will tell. A successful probe or dial brings any down server back at once.
struct ServerHealth: Sendable {
    enum State: Sendable, Hashable {
        case up
        /// `retryAt`: when a server that failed a dial is offered to sessions again; nil after a failed probe.
        case down(reason: String, since: ContinuousClock.Instant, retryAt: ContinuousClock.Instant?)
    }

    private(set) var state: State = .up
    private(set) var consecutiveFailures = 0
    private(set) var dialFailures = 0
    private(set) var lastProbe: UpstreamProbeResult?

    /// Whether sessions may be sent to the server at `now`: up, or down with its rest over.
    func isAvailable(at now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .up: true
        case .down(_, _, let retryAt): retryAt.map { now >= $0 } ?? false
        }
    }

    /// A dial failed. Returns whether routing changed (the snapshot must be republished).
    mutating func dialFailed(reason: String, at now: ContinuousClock.Instant, backoff: UpstreamBackoff, unitRandom: () -> Double) -> Bool {
        dialFailures += 1
        var since = now
        if case .down(_, let downSince, let retryAt) = state {
            // Resting, or down by a probe: this dial began before the server was marked down, or was a last resort.
            guard let retryAt, now >= retryAt else { return false }
            since = downSince
        }
        consecutiveFailures += 1
        let rest = backoff.delay(afterFailures: consecutiveFailures, unitRandom: unitRandom())
        state = .down(reason: reason, since: since, retryAt: now + rest)
        return true
    }

    /// A dial (or probe) succeeded. Returns whether routing changed.
    mutating func succeeded() -> Bool {
        consecutiveFailures = 0
        guard case .down = state else { return false }
        state = .up
        return true
    }

    /// A probe finished. Returns whether routing changed.
    mutating func probed(_ result: UpstreamProbeResult, at now: ContinuousClock.Instant) -> Bool {
        lastProbe = result
        switch (result, state) {
        case (.up, _):
            return succeeded()
        case (.down(let reason), .up):
            state = .down(reason: reason, since: now, retryAt: nil)
            return true
        case (.down(let reason), .down(_, let since, let retryAt)):
            state = .down(reason: reason, since: since, retryAt: nil)
            return retryAt != nil
        }
    }
}

/// The outcome of one active health check, as the probe reports it.
package enum UpstreamProbeResult: Sendable, Hashable, CustomStringConvertible {
    /// The server answered (for MQTT: CONNACK success) `latency` after the probe began.
    case up(latency: Duration)
    /// Why not, in words for logs and `/readyz` (`connection refused`, `no CONNACK within 2s`).
    case down(reason: String)

    package var description: String {
        switch self {
        case .up(let latency): "up (\(latency))"
        case .down(let reason): "down: \(reason)"
        }
    }
}
