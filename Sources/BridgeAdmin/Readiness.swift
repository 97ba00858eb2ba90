import MosquittoClient
import UpstreamPool

/// What `/readyz` answers: ready only when the bridge is listening **and** the last readiness probe (a real MQTT
/// CONNECT/CONNACK with the broker) succeeded **and** that result is recent.
package struct Readiness: Sendable, Hashable {
    package var isReady: Bool
    /// Why not, as a short word a load balancer log or an alert can show: `draining`, `stopped`, `starting`, `stale`,
    /// or the probe's failure (`unreachable`, `timeout`, `not authorised`, `refused`, `TLS error`, …). Nil when ready.
    package var reason: String?
    /// The details behind `reason`, in libmosquitto's or the OS's words where they exist (`Connection refused`,
    /// `Connection Refused: not authorised.`, `no CONNACK within 2s`).
    package var detail: String?
    /// The bridge's phase when this was computed.
    package var bridge: BridgePhase
    /// How long ago the last probe finished; nil before the first one.
    package var probeAge: Duration?
    /// The last successful probe's CONNECT → CONNACK time; nil unless the last probe succeeded.
    package var probeLatency: Duration?
    /// Probes failed in a row: while ready, failures below `admin.readiness.failure_threshold` are tolerated.
    package var probeFailures: Int
    /// With `upstream.servers`: every server's health and sessions, as the pool saw them.
    package var servers: UpstreamPoolStatus?

    package init(
        isReady: Bool, reason: String? = nil, detail: String? = nil, bridge: BridgePhase,
        probeAge: Duration? = nil, probeLatency: Duration? = nil, probeFailures: Int = 0
    ) {
        self.isReady = isReady
        self.reason = reason
        self.detail = detail
        self.bridge = bridge
        self.probeAge = probeAge
        self.probeLatency = probeLatency
        self.probeFailures = probeFailures
    }
}

/// The outcome of the latest probe and when it finished.
struct ProbeRecord: Sendable, Hashable {
    var result: MosquittoProbeResult
    var finishedAt: ContinuousClock.Instant
}

extension Readiness {
    /// The rules, in order: a draining or stopped bridge is not ready whatever the broker says (so a load balancer
    /// stops sending new clients at once, no hysteresis); nor is a bridge that is not listening yet, or one without a
    /// probe result; then a last probe too old to trust (the probe loop is stuck); then the broker as the probe
    /// history's hysteresis sees it — down after `failure_threshold` failures in a row, up after `success_threshold`
    /// successes in a row.
    static func evaluate(
        phase: BridgePhase, history: ProbeHistory, now: ContinuousClock.Instant, staleAfter: Duration
    ) -> Readiness {
        let age = history.last.map { max(.zero, now - $0.finishedAt) }
        var readiness = Readiness(isReady: false, bridge: phase, probeAge: age, probeFailures: history.consecutiveFailures)
        if let (reason, detail) = notListening(phase) {
            readiness.reason = reason
            readiness.detail = detail
            return readiness
        }
        guard let last = history.last, let age else {
            readiness.reason = "starting"
            readiness.detail = "no readiness probe has finished yet"
            return readiness
        }
        if case .ready(let latency) = last.result { readiness.probeLatency = latency }
        if age > staleAfter {
            readiness.reason = "stale"
            readiness.detail =
                "the last probe finished \(age.secondsText) ago; results older than \(staleAfter.secondsText) are not trusted"
            return readiness
        }
        if history.isUp {
            readiness.isReady = true
            return readiness
        }
        switch last.result {
        case .notReady(let error):
            readiness.reason = error.kind.description
            readiness.detail = error.reason
        case .ready:
            if case .notReady(let error)? = history.lastFailure?.result {
                readiness.reason = "recovering"
                readiness.detail =
                    "\(history.consecutiveSuccesses) of \(history.successThreshold) successful probes in a row since the last failure (\(error.reason))"
            } else {
                readiness.reason = "starting"
                readiness.detail = "\(history.consecutiveSuccesses) of \(history.successThreshold) successful probes in a row"
            }
        }
        return readiness
    }

    /// Why a bridge that is not listening is not ready, whatever its brokers say; nil while listening.
    static func notListening(_ phase: BridgePhase) -> (reason: String, detail: String)? {
        switch phase {
        case .draining: ("draining", "the bridge is shutting down and accepts no new connections")
        case .stopped: ("stopped", "the bridge's listeners are closed")
        case .starting: ("starting", "the bridge is not listening yet")
        case .listening: nil
        }
    }

    /// The `/readyz` body.
    func json(broker: String) -> JSONWriter {
        var json = JSONWriter.object()
        json.field("status", isReady ? "ready" : "not ready")
        if let reason { json.field("reason", reason) }
        if let detail { json.field("detail", detail) }
        json.field("bridge", bridge.rawValue)
        json.field("broker", broker)
        if let probeAge { json.field("probe_age_seconds", probeAge.seconds) }
        if let probeLatency { json.field("probe_latency_seconds", probeLatency.seconds) }
        if probeFailures > 0 { json.field("probe_failures", probeFailures) }
        if let servers {
            json.field("servers_up", servers.availableCount)
            json.field("min_healthy", servers.minHealthy)
            json.field("servers", objects: servers.json)
        }
        return json
    }
}

extension Duration {
    /// `1.234s`: for messages.
    var secondsText: String {
        let milliseconds = (seconds * 1000).rounded()
        return "\(milliseconds / 1000)s"
    }
}
