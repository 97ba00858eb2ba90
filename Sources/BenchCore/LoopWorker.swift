import Histogram
import NIOCore

/// The state the generator keeps per event loop: counters, the latency histogram, errors, and the connections
/// living on that loop. Every handler on the loop updates it directly (same thread, no locks); other threads reach
/// it through `LoopWorkers`, which submits work to the loop.
final class LoopWorker {
    let eventLoop: any EventLoop
    var counters = TrafficCounters()
    var errors = ErrorTally()
    /// PUBLISHes written per topic (for the expected delivery count: each goes to every subscriber of its topic).
    var publishedPerTopic: [UInt64]
    /// Subscribers that got their SUBACK, per topic.
    var subscribersPerTopic: [Int]
    /// Σ messages published × subscribers of their topic on this loop (closed loop: what must arrive first).
    var expectedDeliveries: UInt64 = 0
    private(set) var latency: Histogram<UInt64>
    /// Set when the run closes every connection: closes after this are expected.
    private(set) var isClosingAll = false
    private var clients: [ObjectIdentifier: BenchClientHandler] = [:]
    private var publishers: [BenchClientHandler] = []
    private var publishTimer: RepeatedTask?

    /// Latencies are recorded in nanoseconds, 1 µs to 10 minutes, 3 significant digits.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
    }

    init(eventLoop: any EventLoop, topics: Int) {
        self.eventLoop = eventLoop
        self.publishedPerTopic = Array(repeating: 0, count: max(topics, 1))
        self.subscribersPerTopic = Array(repeating: 0, count: max(topics, 1))
        self.latency = Self.makeHistogram()
    }

    func register(_ client: BenchClientHandler) {
        self.clients[ObjectIdentifier(client)] = client
    }

    func unregister(_ client: BenchClientHandler) {
        self.clients.removeValue(forKey: ObjectIdentifier(client))
    }

    var connectionCount: Int { self.clients.count }

    func subscriberReady(topicIndex: Int) {
        self.subscribersPerTopic[topicIndex] += 1
    }

    func recordLatency(nanoseconds: UInt64) {
        _ = self.latency.record(min(max(nanoseconds, 1_000), 600_000_000_000))
    }

    /// Starts every publisher of this loop and a 1 ms timer that drives them (see `BenchClientHandler.publishTick`).
    func startPublishing(now: UInt64) {
        self.publishers = self.clients.values.filter(\.isPublisher)
        for client in self.publishers {
            client.startPublishing(now: now)
        }
        guard !self.publishers.isEmpty, self.publishTimer == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.publishTimer = self.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) { _ in
            for client in loopBound.value.publishers {
                client.publishTick()
            }
        }
    }

    /// Closed loop: every message published so far reached every subscriber (of this loop).
    var allDelivered: Bool { self.counters.delivered >= self.expectedDeliveries }

    /// Lets every publisher of this loop send what it may now (closed loop: right after a delivery).
    func publishTick() {
        for client in self.publishers {
            client.publishTick()
        }
    }

    func stopPublishing() {
        self.publishTimer?.cancel()
        self.publishTimer = nil
        for client in self.publishers {
            client.stopPublishing()
        }
        self.publishers = []
    }

    /// Sends DISCONNECT on every connection of this loop and closes it; completes when all are closed.
    func disconnectAll() -> EventLoopFuture<Void> {
        self.isClosingAll = true
        let futures = self.clients.values.map { $0.disconnect() }
        return EventLoopFuture.andAllComplete(futures, on: self.eventLoop)
    }

    /// Cuts every connection of this loop (see `BenchClientHandler.cut()`); completes when all are closed.
    func cutAll() -> EventLoopFuture<Void> {
        let futures = self.clients.values.map { $0.cut() }
        return EventLoopFuture.andAllComplete(futures, on: self.eventLoop)
    }

    /// A copy of the counters (and, if asked, the latency histogram, which is then reset).
    func snapshot(takingLatency: Bool) -> LoopSnapshot {
        var latency: Histogram<UInt64>?
        if takingLatency {
            latency = self.latency
            self.latency.reset()
        }
        return LoopSnapshot(
            counters: self.counters, errors: self.errors, publishedPerTopic: self.publishedPerTopic,
            subscribersPerTopic: self.subscribersPerTopic, latency: latency, connections: self.clients.count,
            threadCPUNanoseconds: ResourceUsage.currentThreadCPUNanoseconds())
    }
}

/// What `LoopWorker.snapshot` copies out of its loop.
struct LoopSnapshot: Sendable {
    var counters: TrafficCounters
    var errors: ErrorTally
    var publishedPerTopic: [UInt64]
    var subscribersPerTopic: [Int]
    var latency: Histogram<UInt64>?
    var connections: Int
    /// CPU time of the loop's thread so far (nil where the platform cannot tell).
    var threadCPUNanoseconds: UInt64?
}
