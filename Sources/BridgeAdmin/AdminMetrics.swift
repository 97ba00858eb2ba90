import CoreMetrics
import MosquittoClient
import NIOConcurrencyHelpers
import UpstreamPool

/// The admin listener's own metrics, created once with the factory given to `AdminService`.
///
/// Every known label value is created up front, so dashboards and alerts see a 0 rather than a missing series
/// before the first event.
final class AdminMetrics: Sendable {
    static let probeDurationName = "mqtt_ws_bridge_readiness_probe_duration_seconds"
    static let publishDurationName = "mqtt_ws_bridge_publish_duration_seconds"

    /// 1 when `/readyz` would answer 200, else 0; refreshed after each probe and on every scrape.
    private let ready: Gauge
    /// Publisher pool connections currently up; refreshed on every scrape.
    private let publisherConnections: Gauge
    /// How long each probe took, ready or not.
    private let probeDuration: CoreMetrics.Timer
    /// Broker acknowledgement latency of successful publishes (from handing the message over to PUBACK/PUBCOMP).
    private let publishDuration: CoreMetrics.Timer
    private let probes: [String: Counter]
    private let publishes: [PublishResult: Counter]
    private let factory: any MetricsFactory
    /// Probe results with a kind the table did not foresee (a new `MosquittoError.Kind`).
    private let otherProbes = NIOLockedValueBox<[String: Counter]>([:])
    /// With `upstream.servers`: per-server gauges, refreshed from the pool's status (`setUpstreamServers`).
    private let upstreamServers: UpstreamServerMetrics?

    /// Probe outcomes, as `result` label values.
    static let probeResults = [
        "ready", "unreachable", "tls_error", "not_authorised", "refused", "timeout", "connection_lost", "protocol_error",
        "invalid_configuration", "unavailable", "cancelled",
    ]

    init(factory: any MetricsFactory, upstreamServers: [PooledServer] = []) {
        self.factory = factory
        self.upstreamServers = upstreamServers.isEmpty ? nil : UpstreamServerMetrics(servers: upstreamServers, factory: factory)
        ready = Gauge(label: "mqtt_ws_bridge_ready", factory: factory)
        publisherConnections = Gauge(label: "mqtt_ws_bridge_publisher_connections", factory: factory)
        probeDuration = CoreMetrics.Timer(label: Self.probeDurationName, factory: factory)
        publishDuration = CoreMetrics.Timer(label: Self.publishDurationName, factory: factory)
        var probes: [String: Counter] = [:]
        for result in Self.probeResults {
            probes[result] = Self.probeCounter(result, factory: factory)
        }
        self.probes = probes
        var publishes: [PublishResult: Counter] = [:]
        for result in PublishResult.allCases {
            publishes[result] = Counter(
                label: "mqtt_ws_bridge_publish_requests_total", dimensions: [("result", result.rawValue)], factory: factory)
        }
        self.publishes = publishes
        ready.record(0)
        publisherConnections.record(0)
    }

    private static func probeCounter(_ result: String, factory: any MetricsFactory) -> Counter {
        Counter(label: "mqtt_ws_bridge_readiness_probes_total", dimensions: [("result", result)], factory: factory)
    }

    func setReady(_ isReady: Bool) {
        ready.record(isReady ? 1 : 0)
    }

    func setUpstreamServers(_ status: UpstreamPoolStatus) {
        upstreamServers?.record(status)
    }

    func setPublisherConnections(_ count: Int) {
        publisherConnections.record(count)
    }

    func probed(_ result: MosquittoProbeResult, duration: Duration) {
        probeDuration.recordNanoseconds(duration.nanoseconds)
        let label: String
        switch result {
        case .ready: label = "ready"
        case .notReady(let error): label = Self.label(error.kind)
        }
        if let counter = probes[label] {
            counter.increment()
            return
        }
        otherProbes.withLockedValue { others in
            if others[label] == nil {
                others[label] = Self.probeCounter(label, factory: factory)
            }
            return others[label]
        }?.increment()
    }

    func published(_ result: PublishResult) {
        publishes[result]?.increment()
    }

    func publishAcknowledged(after duration: Duration) {
        publishDuration.recordNanoseconds(duration.nanoseconds)
    }

    /// `not authorised` → `not_authorised`, `TLS error` → `tls_error`: label values without spaces.
    static func label(_ kind: MosquittoError.Kind) -> String {
        String(kind.description.lowercased().map { $0 == " " ? "_" : $0 })
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (a duration never gets near the limit here).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    /// Seconds as a floating-point number, for JSON.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
