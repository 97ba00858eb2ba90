import CoreMetrics
import Foundation
import NIOConcurrencyHelpers
import SessionRegistry
import Synchronization
import Testing

@testable import BridgeAdmin

/// The event stream's pieces without a network: its pace, the shared sample, and reading totals back from Prometheus.
@Suite("Admin event stream: pace and samples")
struct AdminEventUnitTests {
    /// A clock that stands still: its sleeps return at once and are recorded, so the pace is checked without waiting.
    final class RecordingClock: Clock, Sendable {
        typealias Duration = Swift.Duration
        typealias Instant = ContinuousClock.Instant
        let sleeps = NIOLockedValueBox<[Duration]>([])
        let origin = ContinuousClock.now
        var now: Instant { origin }
        var minimumResolution: Duration { .zero }
        func sleep(until deadline: Instant, tolerance: Duration?) async throws {
            sleeps.withLockedValue { $0.append(deadline - origin) }
        }
    }

    struct Stop: Error {}

    @Test("one event per interval: every event after the first waits a full interval, and none is written ahead")
    func pace() async throws {
        let clock = RecordingClock()
        var emitted = 0
        await #expect(throws: Stop.self) {
            try await EventStream.pace(interval: .seconds(1), clock: clock) {
                #expect(clock.sleeps.withLockedValue { $0.count } == emitted, "a sleep between every two events")
                emitted += 1
                if emitted == 5 { throw Stop() }
            }
        }
        #expect(emitted == 5)
        #expect(clock.sleeps.withLockedValue { $0 } == Array(repeating: .seconds(1), count: 4))
    }

    @Test("a write that does not return holds the stream: nothing more is produced or queued for that viewer")
    func stuckWriteHoldsTheStream() async throws {
        let emitted = Synchronization.Atomic<Int>(0)
        let task = Task {
            try await EventStream.pace(interval: .milliseconds(1), clock: ContinuousClock()) {
                emitted.add(1, ordering: .relaxed)
                try await Task.sleep(for: .seconds(3600))  // a viewer whose socket never drains
            }
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while emitted.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))  // ≥ 50 intervals
        #expect(emitted.load(ordering: .relaxed) == 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test("samples are shared: asked again within the interval, the same event; later, rates over the time between")
    func sharedSamples() throws {
        let export = MetricsExport()
        let bytes = Counter(
            label: "mqtt_ws_bridge_mqtt_bytes_total", dimensions: [("route", "r"), ("direction", "client_to_broker")],
            factory: export.factory)
        let publishes = Counter(
            label: "mqtt_ws_bridge_mqtt_packets_total",
            dimensions: [("route", "r"), ("direction", "broker_to_client"), ("type", "publish")],
            factory: export.factory)
        let registry = SessionRegistry()
        registry.register(
            SessionRecord(
                id: registry.makeID(), clientID: "c", username: nil, clientAddress: "10.0.0.1:1", listener: "wss", route: "r",
                subprotocol: nil, mqttVersion: "5.0", broker: "mq:1883"),
            control: SessionControl(counters: { nil }, close: { _ in false }))
        let refusals = RefusalLog(capacity: 2)
        let sampler = OperationsSampler(
            sessions: registry, export: export, refusals: refusals, minimumInterval: .milliseconds(500),
            readiness: {
                var json = JSONWriter.object(); json.field("status", "ready"); return json
            })
        let start = ContinuousClock.now
        let first = sampler.current(now: start)
        bytes.increment(by: 4000)
        publishes.increment(by: 10)
        for result in ["origin_refused", "rate_limited", "not_found"] { refusals.record(route: "r", result: result, at: start) }
        #expect(sampler.current(now: start + .milliseconds(100)) == first, "within the interval: the same sample")
        let second = try #require(
            try JSONSerialization.jsonObject(with: Data(sampler.current(now: start + .seconds(2)))) as? [String: Any])
        #expect((second["bytes_per_second"] as? [String: Double])?["in"] == 2000)
        #expect((second["messages_per_second"] as? [String: Double])?["out"] == 5)
        #expect((second["messages_total"] as? [String: Int]) == ["in": 0, "out": 10])
        #expect((second["sessions"] as? [String: Any])?["open"] as? Int == 1)
        #expect(((second["sessions"] as? [String: Any])?["by_broker"] as? [String: Int]) == ["mq:1883": 1])
        #expect((second["upstream"] as? [String: String]) == ["status": "ready"])
        let shown = try #require(second["refusals"] as? [[String: Any]])
        #expect(shown.map { $0["result"] as? String } == ["not_found", "rate_limited"], "newest first, at most the log's capacity")
    }

    @Test("Prometheus text read back: names, labels (escapes included), values; lines that are not samples are skipped")
    func prometheusTotals() {
        let text = """
            # TYPE mqtt_ws_bridge_handshakes_total counter
            mqtt_ws_bridge_handshakes_total{route="a",result="accepted"} 3
            mqtt_ws_bridge_handshakes_total{route="b",result="accepted"} 2
            mqtt_ws_bridge_handshakes_total{route="a",result="origin_refused"} 1
            mqtt_ws_bridge_mqtt_packets_total{route="a",direction="client_to_broker",type="publish"} 7
            mqtt_ws_bridge_mqtt_packets_total{route="a",direction="client_to_broker",type="pingreq"} 9
            mqtt_ws_bridge_mqtt_bytes_total{route="a\\"x",direction="broker_to_client"} 1.5e3
            garbage line
            """
        let totals = PrometheusTotals(exposition: Array(text.utf8))
        #expect(totals.handshakes == ["accepted": 5, "origin_refused": 1])
        #expect(totals.messages == ["client_to_broker": 7])
        #expect(totals.bytes == ["broker_to_client": 1500])
        #expect(PrometheusTotals.sample(#"m{a="x\"y"} 2"#)?.labels == ["a": #"x"y"#])
        #expect(PrometheusTotals.rates(["a": 10, "b": 1], since: ["a": 4, "b": 5], over: 2) == ["a": 3, "b": 0])
    }
}
