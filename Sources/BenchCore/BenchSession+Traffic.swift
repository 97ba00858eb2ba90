import Histogram
import NIOCore

extension BenchSession {
    /// throughput and latency: subscribers first (so nothing published is missed), then publishers; warm-up,
    /// measurement window, stop, drain, disconnect.
    func runTraffic() async throws -> BenchReport {
        let configuration = self.configuration
        let setupConcurrency = max(configuration.concurrency, 50)

        self.progress(
            "connecting \(configuration.subscribers) subscribers and \(configuration.publishers) publishers to \(configuration.target)")
        let subscriberRoles = (0..<configuration.subscribers).map {
            BenchClientRole.subscriber(index: $0, topicIndex: $0 % configuration.topics)
        }
        let subscribers = await self.openConnections(roles: subscriberRoles, concurrency: setupConcurrency)
        let publisherRoles = (0..<configuration.publishers).map {
            BenchClientRole.publisher(index: $0, topicIndex: $0 % configuration.topics)
        }
        let publishers = await self.openConnections(
            roles: publisherRoles, concurrency: setupConcurrency, indexOffset: configuration.subscribers)
        var setupErrors = subscribers.errors
        setupErrors.merge(publishers.errors)
        let established = subscribers.connections.count + publishers.connections.count
        let connections = BenchReport.Connections(
            attempted: subscriberRoles.count + publisherRoles.count, established: established,
            failed: subscriberRoles.count + publisherRoles.count - established)

        var problems: [String] = subscribers.gaveUp || publishers.gaveUp ? [self.gaveUpMessage] : []
        var traffic: BenchReport.Traffic?
        var latency: LatencySummary?
        var generator = self.generatorUsage(wallSeconds: 0, processCPU: (0, 0), threadCPU: ([], []))
        var watched: [BenchReport.Watched] = []

        if publishers.connections.isEmpty {
            problems.append("no publisher could connect")
        } else {
            try await self.workers.startPublishing()
            if configuration.warmup > .zero {
                self.progress("warming up for \(Self.format(configuration.warmup))")
                try await Task.sleep(for: configuration.warmup)
            }
            self.progress("measuring for \(Self.format(configuration.duration))")
            let watchStart = self.watcher.sample()
            let startSnapshots = try await self.workers.snapshots(takingLatency: true)
            let processStart = ResourceUsage.processCPUNanoseconds()
            let windowStart = ContinuousClock.now
            let (_, peaks) = try await self.samplingPeaks {
                try await Task.sleep(for: configuration.duration)
            }
            let endSnapshots = try await self.workers.snapshots(takingLatency: true)
            let windowSeconds = (ContinuousClock.now - windowStart).seconds
            let processEnd = ResourceUsage.processCPUNanoseconds()
            let watchEnd = self.watcher.sample()

            try await self.workers.stopPublishing()
            self.progress("draining (up to \(Self.format(configuration.drainTimeout)))")
            let (final, drained) = try await self.drain()

            let window = Self.sum(endSnapshots).since(Self.sum(startSnapshots))
            let totals = Self.sum(final)
            let expected = Self.expectedDeliveries(final)
            let received = configuration.stampsPayloads ? totals.uniqueStamped : totals.delivered - min(totals.delivered, totals.duplicates)
            let lost = expected > received ? expected - received : 0
            traffic = BenchReport.Traffic(
                windowSeconds: Self.round(windowSeconds), published: window.published, delivered: window.delivered,
                publishedPerSecond: Self.round(Double(window.published) / windowSeconds),
                deliveredPerSecond: Self.round(Double(window.delivered) / windowSeconds),
                deliveredBytesPerSecond: Self.round(Double(window.deliveredBytes) / windowSeconds),
                publishedTotal: totals.published, deliveredTotal: totals.delivered, expectedDeliveries: expected,
                lost: lost, duplicated: totals.duplicates, acknowledged: totals.acknowledged,
                rateSkipped: totals.rateSkipped, drained: drained)

            var histogram = LoopWorker.makeHistogram()
            for snapshot in endSnapshots {
                if let loopLatency = snapshot.latency { histogram.add(loopLatency) }
            }
            if configuration.closedLoop {
                // A slow path may deliver the window's last message only during the drain: it counts too.
                for snapshot in try await self.workers.snapshots(takingLatency: true) {
                    if let loopLatency = snapshot.latency { histogram.add(loopLatency) }
                }
            }
            latency = LatencySummary(nanoseconds: histogram)

            generator = self.generatorUsage(
                wallSeconds: windowSeconds, processCPU: (processStart, processEnd),
                threadCPU: (startSnapshots.map(\.threadCPUNanoseconds), endSnapshots.map(\.threadCPUNanoseconds)))
            watched = self.watched(start: watchStart, end: watchEnd, peaks: peaks, messages: window.delivered)

            if configuration.closedLoop ? totals.delivered == 0 : (configuration.subscribers > 0 && window.delivered == 0) {
                // Closed loop: a slow path may deliver its one message only after the window; that is a result.
                problems.append("no message was delivered during the measurement window")
            }
            if configuration.qos > 0 && lost > 0 {
                problems.append("QoS 1: \(lost) of \(expected) expected deliveries never arrived")
            }
            if totals.duplicates > 0 && configuration.qos == 0 {
                problems.append("QoS 0: \(totals.duplicates) messages delivered twice")
            }
        }

        let errors = try await self.disconnectAll(timeout: .seconds(10), errorsSoFar: setupErrors)
        var report = self.makeReport(errors: errors, connections: connections, generator: generator, watched: watched, problems: problems)
        report.traffic = traffic
        report.latency = latency
        return report
    }

    /// Waits until every expected delivery arrived, or (QoS 0, where a broker may drop) nothing arrived for two
    /// seconds, or the drain timeout passed. Returns the final snapshots and whether everything arrived.
    private func drain() async throws -> ([LoopSnapshot], Bool) {
        let deadline = ContinuousClock.now + self.configuration.drainTimeout
        // QoS 1 and closed-loop messages are not dropped, only slow (1 MiB through a slow path): wait them out.
        let stallLimit: Duration =
            self.configuration.qos > 0 || self.configuration.closedLoop ? self.configuration.drainTimeout : .seconds(2)
        var lastProgress = ContinuousClock.now
        var lastReceived: UInt64 = 0
        while true {
            let snapshots = try await self.workers.snapshots(takingLatency: false)
            let totals = Self.sum(snapshots)
            let received = self.configuration.stampsPayloads ? totals.uniqueStamped : totals.delivered
            let expected = Self.expectedDeliveries(snapshots)
            let acknowledged = self.configuration.qos == 0 || totals.acknowledged >= totals.published
            if received >= expected && acknowledged {
                return (snapshots, true)
            }
            let now = ContinuousClock.now
            if received != lastReceived {
                lastReceived = received
                lastProgress = now
            }
            if now >= deadline || now - lastProgress >= stallLimit {
                return (snapshots, false)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func sum(_ snapshots: [LoopSnapshot]) -> TrafficCounters {
        snapshots.reduce(TrafficCounters()) { $0 + $1.counters }
    }

    /// Σ over topics of (messages published to it × subscribers of it).
    static func expectedDeliveries(_ snapshots: [LoopSnapshot]) -> UInt64 {
        guard let topics = snapshots.first?.publishedPerTopic.count else { return 0 }
        var expected: UInt64 = 0
        for topic in 0..<topics {
            let published = snapshots.reduce(UInt64(0)) { $0 + $1.publishedPerTopic[topic] }
            let subscribers = snapshots.reduce(0) { $0 + $1.subscribersPerTopic[topic] }
            expected += published * UInt64(subscribers)
        }
        return expected
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        return seconds < 1 ? "\(Int((seconds * 1000).rounded())) ms" : "\(seconds.formatted1) s"
    }
}

extension Double {
    /// One decimal, without Foundation's locale-dependent formatting.
    var formatted1: String {
        let tenths = (self * 10).rounded()
        let whole = Int(tenths / 10)
        let fraction = Int(abs(tenths.truncatingRemainder(dividingBy: 10)))
        return fraction == 0 ? "\(whole)" : "\(whole).\(fraction)"
    }
}
