import CoreMetrics
import Prometheus

/// The Prometheus end of swift-metrics: one collector registry, and the factory that fills it.
///
/// The executable bootstraps swift-metrics with `factory` and hands the same factory to `BridgeMetrics`, so the relay's
/// counters and the admin listener's own metrics land in `registry`, which `/metrics` renders. Tests make one per test
/// instead of touching the process-wide bootstrap.
package struct MetricsExport: Sendable {
    /// Upstream connect and probe latencies: from a loopback broker (well under a millisecond) to a distant TLS broker
    /// near its timeout. Prometheus' defaults start at 5 ms, which would put every local connect in one bucket.
    package static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The timers (histograms) that get `latencyBuckets` instead of the factory's defaults.
    package static let latencyHistograms = [
        "mqtt_ws_bridge_upstream_connect_seconds",
        AdminMetrics.probeDurationName,
        AdminMetrics.publishDurationName,
    ]

    package let registry: PrometheusCollectorRegistry
    package let factory: PrometheusMetricsFactory

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        for name in Self.latencyHistograms {
            factory.durationHistogramBuckets[name] = Self.latencyBuckets
        }
        self.factory = factory
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    package func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The `Content-Type` of `render()`'s output.
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}
