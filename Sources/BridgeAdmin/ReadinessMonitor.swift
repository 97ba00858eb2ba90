import Logging
import MosquittoClient
import Synchronization

/// Probes the broker every `interval` in the background and keeps the latest result for `/readyz`.
///
/// `/readyz` never probes: it reads the cached result, so any number of health checks cost the broker one connection
/// per interval. Probes run one after another (never overlapping); each is bounded by its own timeout, which
/// configuration keeps no longer than the interval.
final class ReadinessMonitor: Sendable {
    private let probe: MosquittoProbe
    private let interval: Duration
    private let staleAfter: Duration
    private let bridgePhase: @Sendable () -> BridgePhase
    private let metrics: AdminMetrics
    private let logger: Logger
    private let last = Mutex<ProbeRecord?>(nil)
    /// The readiness last logged, so that only changes are logged.
    private let lastLogged = Mutex<Readiness?>(nil)

    init(
        probe: MosquittoProbe, interval: Duration, staleAfter: Duration,
        bridgePhase: @escaping @Sendable () -> BridgePhase, metrics: AdminMetrics, logger: Logger
    ) {
        self.probe = probe
        self.interval = interval
        self.staleAfter = staleAfter
        self.bridgePhase = bridgePhase
        self.metrics = metrics
        self.logger = logger
    }

    /// Readiness now, from the bridge's phase and the cached probe result. Also refreshes the `mqtt_ws_bridge_ready`
    /// gauge, so a scrape right after SIGTERM already shows 0.
    func current() -> Readiness {
        let readiness = Readiness.evaluate(
            phase: bridgePhase(), last: last.withLock { $0 }, now: .now, staleAfter: staleAfter)
        metrics.setReady(readiness.isReady)
        return readiness
    }

    /// Probes until the task is cancelled. The first probe starts at once.
    func run() async {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            let start = clock.now
            let result = await probe.probe()
            let finished = clock.now
            // A probe cut short by shutdown says nothing about the broker.
            if Task.isCancelled { break }
            last.withLock { $0 = ProbeRecord(result: result, finishedAt: finished) }
            metrics.probed(result, duration: finished - start)
            logChange(current())
            next = max(next + interval, finished)
            do {
                try await Task.sleep(until: next, clock: clock)
            } catch {
                break
            }
        }
    }

    private func logChange(_ readiness: Readiness) {
        let previous = lastLogged.withLock { logged -> Readiness? in
            defer { logged = readiness }
            return logged
        }
        guard previous?.isReady != readiness.isReady || previous?.reason != readiness.reason else { return }
        if readiness.isReady {
            logger.notice("ready: the readiness probe reached the broker", metadata: [
                "probe_latency": "\(readiness.probeLatency.map(\.secondsText) ?? "?")"
            ])
        } else {
            // The bridge's own phases are expected events; a failing probe is what someone should look at.
            let level: Logger.Level = ["starting", "draining", "stopped"].contains(readiness.reason ?? "") ? .info : .warning
            logger.log(level: level, "not ready", metadata: [
                "reason": "\(readiness.reason ?? "?")", "detail": "\(readiness.detail ?? "")",
            ])
        }
    }
}
