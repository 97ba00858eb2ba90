import Histogram

/// Percentiles of a latency histogram, in milliseconds (3 decimals: microsecond resolution).
package struct LatencySummary: Sendable, Hashable, Codable {
    package var count: UInt64
    package var p50Ms: Double
    package var p90Ms: Double
    package var p99Ms: Double
    package var p999Ms: Double
    package var maxMs: Double
    package var meanMs: Double

    package init(count: UInt64, p50Ms: Double, p90Ms: Double, p99Ms: Double, p999Ms: Double, maxMs: Double, meanMs: Double) {
        self.count = count
        self.p50Ms = p50Ms
        self.p90Ms = p90Ms
        self.p99Ms = p99Ms
        self.p999Ms = p999Ms
        self.maxMs = maxMs
        self.meanMs = meanMs
    }

    /// Summarises a histogram of nanosecond values; nil when it holds no value.
    package init?(nanoseconds histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else { return nil }
        func milliseconds(_ value: UInt64) -> Double { Self.round(Double(value) / 1e6) }
        self.count = histogram.totalCount
        self.p50Ms = milliseconds(histogram.valueAtPercentile(50))
        self.p90Ms = milliseconds(histogram.valueAtPercentile(90))
        self.p99Ms = milliseconds(histogram.valueAtPercentile(99))
        self.p999Ms = milliseconds(histogram.valueAtPercentile(99.9))
        self.maxMs = milliseconds(histogram.max)
        self.meanMs = Self.round(histogram.mean / 1e6)
    }

    static func round(_ milliseconds: Double) -> Double {
        (milliseconds * 1000).rounded() / 1000
    }
}
