/// Active health checks: probes every server of a pool every `interval` and tells the pool each result.
///
/// The probe itself is the owner's (for MQTT brokers: a libmosquitto CONNECT/CONNACK through `MosquittoProbe`, as
/// `/readyz` does); this type only schedules it. Each server is probed on its own schedule, so a server whose probes
/// hang does not delay the others. A probe that has not answered within `timeout` is reported down at that moment
/// ("no answer within …") and cancelled; its task is then awaited, so a probe that ignores cancellation delays only
/// its own server's next probe.
///
/// Run it as a long-lived task (e.g. inside a swift-service-lifecycle service): `run()` returns when cancelled.
package struct UpstreamHealthChecker: Sendable {
    package typealias Probe = @Sendable (PooledServer) async -> UpstreamProbeResult

    package let pool: UpstreamPool
    package let interval: Duration
    package let timeout: Duration
    private let probe: Probe

    /// `timeout` should be shorter than `interval` (configuration validation makes it so).
    package init(pool: UpstreamPool, interval: Duration, timeout: Duration, probe: @escaping Probe) {
        precondition(interval > .zero && timeout > .zero, "the health check interval and timeout must be longer than zero")
        self.pool = pool
        self.interval = interval
        self.timeout = timeout
        self.probe = probe
    }

    /// Probes until the task is cancelled. Every server's first probe starts at once.
    package func run() async {
        await withDiscardingTaskGroup { group in
            for server in pool.servers {
                group.addTask { await self.probeRepeatedly(server) }
            }
        }
    }

    /// One probe of `server` within `timeout`; the result is also reported to the pool.
    @discardableResult
    package func check(_ server: PooledServer) async -> UpstreamProbeResult {
        let clock = ContinuousClock()
        let timeout = self.timeout
        return await withTaskGroup(of: UpstreamProbeResult?.self) { group in
            group.addTask { await probe(server) }
            group.addTask {
                try? await clock.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            let result = first ?? .down(reason: "no answer within \(timeout)")
            // A probe cut short by cancellation (shutdown) says nothing about the server.
            if !Task.isCancelled {
                pool.recordProbe(server, result, at: clock.now)
            }
            group.cancelAll()
            return result
        }
    }

    private func probeRepeatedly(_ server: PooledServer) async {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            await check(server)
            next = max(next + interval, clock.now)
            do {
                try await clock.sleep(until: next)
            } catch {
                return
            }
        }
    }
}
