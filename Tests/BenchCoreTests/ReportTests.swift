import Foundation
import Histogram
import Testing

@testable import BenchCore

@Suite struct ReportTests {
    @Test func percentilesFromAHistogram() throws {
        var histogram = LoopWorker.makeHistogram()
        for microseconds in 1...1000 {
            _ = histogram.record(UInt64(microseconds) * 1000)
        }
        let summary = try #require(LatencySummary(nanoseconds: histogram))
        #expect(summary.count == 1000)
        #expect(abs(summary.p50Ms - 0.5) <= 0.001)
        #expect(abs(summary.p90Ms - 0.9) <= 0.001)
        #expect(abs(summary.p99Ms - 0.99) <= 0.001)
        #expect(abs(summary.p999Ms - 0.999) <= 0.001)
        #expect(abs(summary.maxMs - 1.0) <= 0.001)
        #expect(abs(summary.meanMs - 0.5005) <= 0.001)
        #expect(LatencySummary(nanoseconds: LoopWorker.makeHistogram()) == nil, "no values, no summary")
    }

    static func sampleReport() -> BenchReport {
        var errors = ErrorTally()
        errors.record(BenchClientError(.timeout, "not ready after 10000 ms"))
        return BenchReport(
            scenario: .throughput, target: "wss://127.0.0.1:8443/wss", transport: .wss, subprotocol: nil,
            startedAt: "2025-01-01T00:00:00Z",
            settings: BenchReport.Settings(
                threads: 2, mqttVersion: "3.1.1", publishers: 10, subscribers: 10, topics: 10, qos: 0, payloadBytes: 64),
            ok: false, problems: ["1 connection errors (1 timeout)"], errors: BenchReport.Errors(errors),
            connections: BenchReport.Connections(attempted: 20, established: 19, failed: 1),
            traffic: BenchReport.Traffic(
                windowSeconds: 10, published: 1_000_000, delivered: 990_000, publishedPerSecond: 100_000,
                deliveredPerSecond: 99_000, deliveredBytesPerSecond: 6_336_000, publishedTotal: 1_200_000,
                deliveredTotal: 1_190_000, expectedDeliveries: 1_200_000, lost: 10_000, duplicated: 0, acknowledged: 0,
                rateSkipped: 0, drained: false),
            latency: LatencySummary(count: 990_000, p50Ms: 0.4, p90Ms: 0.8, p99Ms: 1.5, p999Ms: 3, maxMs: 12, meanMs: 0.5),
            connect: nil, hold: nil, storm: nil,
            generator: BenchReport.Generator(
                threads: 2, wallSeconds: 10, cpuSeconds: 9.5, cores: 0.95, threadBusy: [0.5, 0.45], saturated: false),
            watched: [
                BenchReport.Watched(
                    label: "bridge", pids: [42], cpuSeconds: 2, cpuSecondsPerMillionMessages: 2.02, rssKibStart: 10_000,
                    rssKibEnd: 12_000, rssKibPeak: 12_500, rssKibPerConnection: nil, cpuSecondsPerThousandConnections: nil,
                    missingPids: [])
            ])
    }

    @Test func jsonIsOneSnakeCaseObject() throws {
        let line = Self.sampleReport().jsonLine()
        #expect(!line.contains("\n"), "one line per run")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["tool"] as? String == "mqtt-ws-bench")
        #expect(object["format_version"] as? Int == 1)
        #expect(object["scenario"] as? String == "throughput")
        #expect(object["transport"] as? String == "wss")
        #expect(object["ok"] as? Bool == false)
        #expect(object["subprotocol"] == nil, "no subprotocol offered: the key is absent")
        #expect(object["connect"] == nil && object["hold"] == nil, "sections of other scenarios are absent")
        let traffic = try #require(object["traffic"] as? [String: Any])
        #expect(traffic["delivered_per_second"] as? Double == 99_000)
        #expect(traffic["expected_deliveries"] as? Int == 1_200_000)
        let latency = try #require(object["latency"] as? [String: Any])
        #expect(Set(latency.keys) == ["count", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms"])
        let generator = try #require(object["generator"] as? [String: Any])
        #expect(generator["saturated"] as? Bool == false)
        #expect(generator["thread_busy"] as? [Double] == [0.5, 0.45])
        let watched = try #require((object["watched"] as? [[String: Any]])?.first)
        #expect(watched["label"] as? String == "bridge")
        #expect(watched["cpu_seconds_per_million_messages"] as? Double == 2.02)
        #expect(watched["rss_kib_peak"] as? Int == 12_500)
        let errors = try #require(object["errors"] as? [String: Any])
        #expect(errors["by_kind"] as? [String: Int] == ["timeout": 1])
        #expect(errors["messages"] as? [String] == ["timeout: not ready after 10000 ms"])
    }

    @Test func jsonRoundTrips() throws {
        let report = Self.sampleReport()
        let decoded = try BenchReport.decode(json: report.jsonLine())
        #expect(decoded.traffic == report.traffic)
        #expect(decoded.latency == report.latency)
        #expect(decoded.watched == report.watched)
        #expect(decoded.errors == report.errors)
    }

    @Test func humanSummaryShowsTheHeadlineAndTheProblems() {
        let summary = Self.sampleReport().humanSummary()
        #expect(summary.contains("mqtt-ws-bench throughput wss://127.0.0.1:8443/wss (MQTT 3.1.1, subprotocol none, 2 threads)"))
        #expect(summary.contains("delivered   99,000 msg/s"))
        #expect(summary.contains("lost 10000 of 1200000"))
        #expect(summary.contains("(drain timed out)"))
        #expect(summary.contains("p99 1.5 ms"))
        #expect(summary.contains("2.02 CPU-s per million messages"))
        #expect(summary.contains("FAILED"))
        #expect(summary.contains("timeout: not ready after 10000 ms"))
        #expect(!summary.contains("SATURATED"))
    }

    @Test func errorTallyKeepsTheFirstDistinctMessages() {
        var tally = ErrorTally()
        for index in 0..<50 {
            tally.record(BenchClientError(.connect, "refused \(index % 20)"))
        }
        #expect(tally.total == 50)
        #expect(tally.counts == [.connect: 50])
        #expect(tally.messages.count == ErrorTally.keptMessages)
        var other = ErrorTally()
        other.record(BenchClientError(.tls, "bad certificate"))
        tally.merge(other)
        #expect(tally.counts == [.connect: 50, .tls: 1])
    }
}
