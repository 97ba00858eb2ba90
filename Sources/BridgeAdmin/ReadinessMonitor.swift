import Logging
import MosquittoClient
import NIOConcurrencyHelpers
import UpstreamPool

/// Probes the broker every `interval` in the background and keeps the results (with hysteresis: `ProbeHistory`)
/// for `/readyz`.
///
/// `/readyz` never probes: it reads the cached history, so any number of health checks cost the broker one connection
/// per interval. Probes run one after another (never overlapping); each is bounded by its own timeout, which
/// configuration keeps no longer than the interval.
final class ReadinessMonitor: Sendable {
    private let probe: MosquittoProbe
    private let interval: Duration
    private let staleAfter: Duration
    private let bridgePhase: @Sendable () -> BridgePhase
    private let metrics: AdminMetrics
    private let logger: Logger
    private let history: NIOLockedValueBox<ProbeHistory>
    /// The readiness last logged, so that only changes are logged.
    private let lastLogged = NIOLockedValueBox<Readiness?>(nil)
    /// With `upstream.servers`: the pool whose health checks (run by the bridge) decide readiness; this monitor then
    /// runs no probe of its own.
    private let pool: UpstreamPool?

    init(
        probe: MosquittoProbe, interval: Duration, staleAfter: Duration, failureThreshold: Int, successThreshold: Int,
        bridgePhase: @escaping @Sendable () -> BridgePhase, metrics: AdminMetrics, logger: Logger, pool: UpstreamPool? = nil
    ) {
        self.pool = pool
        self.history = NIOLockedValueBox(ProbeHistory(failureThreshold: failureThreshold, successThreshold: successThreshold))
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
        let readiness: Readiness
        if let pool {
            let status = pool.status()
            metrics.setUpstreamServers(status)
            readiness = Readiness.evaluate(phase: bridgePhase(), pool: status)
        } else {
            readiness = Readiness.evaluate(phase: bridgePhase(), history: history.withLockedValue { $0 }, now: .now, staleAfter: staleAfter)
        }
        metrics.setReady(readiness.isReady)
        return readiness
    }

    /// Probes until the task is cancelled. The first probe starts at once.
    func run() async {
        if pool != nil {
            await watchPool()
            return
        }
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            let start = clock.now
            let result = await probe.probe()
            let finished = clock.now
            // A probe cut short by shutdown says nothing about the broker.
            if Task.isCancelled { break }
            let record = ProbeRecord(result: result, finishedAt: finished)
            let counts = history.withLockedValue { history in
                history.record(record)
                return (history.consecutiveFailures, history.failureThreshold, history.isUp)
            }
            metrics.probed(result, duration: finished - start)
            if case .notReady(let error) = result, counts.2 {
                // Tolerated: below admin.readiness.failure_threshold, /readyz still answers 200.
                logger.info(
                    "readiness probe failed",
                    metadata: [
                        "reason": "\(error.kind)", "detail": "\(error.reason)", "failures_in_a_row": "\(counts.0)",
                        "failure_threshold": "\(counts.1)",
                    ])
            }
            logChange(current())
            next = max(next + interval, finished)
            do {
                try await Task.sleep(until: next, clock: clock)
            } catch {
                break
            }
        }
    }

    /// With a pool: logs readiness changes once per `interval` (the probes are the bridge's).
    private func watchPool() async {
        while !Task.isCancelled {
            logChange(current())
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }

    private func logChange(_ readiness: Readiness) {
        let previous = lastLogged.withLockedValue { logged -> Readiness? in
            defer { logged = readiness }
            return logged
        }
        guard previous?.isReady != readiness.isReady || previous?.reason != readiness.reason else { return }
        if let servers = readiness.servers, readiness.isReady {
            logger.notice("ready: enough upstream servers are up", metadata: ["servers": "\(servers)"])
        } else if readiness.isReady {
            logger.notice(
                "ready: the readiness probe reached the broker",
                metadata: [
                    "probe_latency": "\(readiness.probeLatency.map(\.secondsText) ?? "?")"
                ])
        } else {
            // The bridge's own phases are expected events; a failing probe is what someone should look at.
            let level: Logger.Level = ["starting", "draining", "stopped"].contains(readiness.reason ?? "") ? .info : .warning
            logger.log(
                level: level, "not ready",
                metadata: [
                    "reason": "\(readiness.reason ?? "?")", "detail": "\(readiness.detail ?? "")",
                ])
        }
    }
}
