import CoreMetrics
import NIOConcurrencyHelpers
import UpstreamPool

/// Per-server metrics of the upstream pool (`upstream.servers`), labelled `server="host:port"`, set from the pool's
/// status whenever it is read (every `/metrics` scrape and `/readyz` answer, and once per readiness interval):
/// - `mqtt_ws_bridge_upstream_server_up`: 1 while the server takes new sessions;
/// - `mqtt_ws_bridge_upstream_server_sessions`: sessions open on it;
/// - `mqtt_ws_bridge_upstream_server_dial_failures_total`: failed dials;
/// - `mqtt_ws_bridge_upstream_server_probe_seconds`: the last successful health check's CONNECT → CONNACK time.
final class UpstreamServerMetrics: Sendable {
    private struct Series: Sendable {
        let up: Gauge
        let sessions: Gauge
        let dialFailures: Counter
        let probeSeconds: Gauge
    }

    private let series: [Series]
    /// Dial failures already counted, per server: the pool keeps totals, a Prometheus counter takes increments.
    private let countedFailures: NIOLockedValueBox<[Int]>

    init(servers: [PooledServer], factory: any MetricsFactory) {
        series = servers.map { server in
            let label = [("server", server.description)]
            return Series(
                up: Gauge(label: "mqtt_ws_bridge_upstream_server_up", dimensions: label, factory: factory),
                sessions: Gauge(label: "mqtt_ws_bridge_upstream_server_sessions", dimensions: label, factory: factory),
                dialFailures: Counter(label: "mqtt_ws_bridge_upstream_server_dial_failures_total", dimensions: label, factory: factory),
                probeSeconds: Gauge(label: "mqtt_ws_bridge_upstream_server_probe_seconds", dimensions: label, factory: factory))
        }
        countedFailures = NIOLockedValueBox(Array(repeating: 0, count: servers.count))
        for entry in series {
            entry.up.record(0)
            entry.sessions.record(0)
        }
    }

    func record(_ status: UpstreamPoolStatus) {
        let increments = countedFailures.withLockedValue { counted in
            status.servers.map { entry in
                let index = entry.server.index
                guard counted.indices.contains(index) else { return 0 }
                defer { counted[index] = max(counted[index], entry.dialFailures) }
                return max(0, entry.dialFailures - counted[index])
            }
        }
        for (entry, increment) in zip(status.servers, increments) where series.indices.contains(entry.server.index) {
            let metrics = series[entry.server.index]
            metrics.up.record(entry.isAvailable ? 1 : 0)
            metrics.sessions.record(entry.openSessions)
            if increment > 0 { metrics.dialFailures.increment(by: increment) }
            if case .up(let latency)? = entry.lastProbe { metrics.probeSeconds.record(latency.seconds) }
        }
    }
}
