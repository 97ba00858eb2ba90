import Foundation
import Histogram
import NIOCore

extension BenchSession {
    /// storm: N idle sessions, then every connection cut at once by the clients (a TCP reset: no DISCONNECT, no
    /// close_notify, as when a carrier NAT or the network drops them), then every client reconnecting at once, or
    /// each after a random delay in [0, jitter), retrying refusals after `retryDelay` (randomised 0.5-1.5×) until
    /// `reconnectTimeout` after the cut. The watched processes are sampled from the cut until the last session is
    /// back (or given up): their CPU time and peak RSS are the cost of absorbing the storm.
    ///
    /// The clients cut rather than the harness restarting the server: the same storm then hits every system
    /// (bridge, nginx) at the same instant, independent of how fast each restarts, with no coordination between
    /// harness and generator, and the server meets it warm with the cut sessions still being torn down behind
    /// it, which is what a network blip does to a running proxy.
    func runStorm() async throws -> BenchReport {
        let configuration = self.configuration
        let roles = try self.idleRoles(scenario: "storm", what: "sessions")
        let opened = await self.openConnections(roles: roles, concurrency: configuration.concurrency)
        // Client i reconnects as role i (its client id and source address, so that Mosquitto takes over its
        // session and the per-address limits see the same spread).
        let sessions = opened.connections.count

        self.progress("cutting \(sessions) connections at once (ramp took \(opened.elapsedSeconds.formatted1) s)")
        let watchBefore = self.watcher.sample()
        let processStart = ResourceUsage.processCPUNanoseconds()
        let threadStart = try await self.workers.onEach { _ in ResourceUsage.currentThreadCPUNanoseconds() }
        let cutAt = NIODeadline.now()
        await self.workers.cutAll(timeout: .seconds(30))
        self.progress(
            "reconnecting \(sessions) sessions (jitter \(Self.format(configuration.jitter)), retry after \(Self.format(configuration.retryDelay)))"
        )
        let (outcome, peaks) = await self.samplingPeaks {
            await self.reconnect(sessions: sessions, cutAt: cutAt)
        }
        let threadEnd = try await self.workers.onEach { _ in ResourceUsage.currentThreadCPUNanoseconds() }
        let processEnd = ResourceUsage.processCPUNanoseconds()
        let watchAfter = self.watcher.sample()
        let wall = Double((NIODeadline.now() - cutAt).nanoseconds) / 1e9

        let errors = try await self.disconnectAll(timeout: .seconds(30), errorsSoFar: opened.errors)
        let generator = self.generatorUsage(
            wallSeconds: wall, processCPU: (processStart, processEnd), threadCPU: (threadStart, threadEnd))
        let watched = self.watched(start: watchBefore, end: watchAfter, peaks: peaks, connectionsMade: outcome.backAfter.count)
        var problems = opened.gaveUp ? [self.gaveUpMessage] : []
        if outcome.backAfter.count < sessions {
            problems.append(
                "\(sessions - outcome.backAfter.count) of \(sessions) sessions were not back \(Self.format(configuration.reconnectTimeout)) after the cut"
            )
        }
        var report = self.makeReport(
            errors: errors,
            connections: BenchReport.Connections(attempted: roles.count, established: sessions, failed: roles.count - sessions),
            generator: generator, watched: watched, problems: problems)
        report.storm = outcome.summary(sessions: sessions, rampSeconds: Self.round(opened.elapsedSeconds))
        return report
    }

    /// What the reconnecting clients saw.
    struct StormOutcome: Sendable {
        /// Per session back: nanoseconds from the cut to its CONNACK.
        var backAfter: [UInt64] = []
        var attempts: UInt64 = 0
        var refusals: [String: UInt64] = [:]
        var transportHandshakes = LoopWorker.makeHistogram()
        var connacks = LoopWorker.makeHistogram()

        func summary(sessions: Int, rampSeconds: Double) -> BenchReport.Storm {
            let sorted = self.backAfter.sorted()
            func secondsUntil(fraction: Double) -> Double? {
                let needed = Int((Double(sessions) * fraction).rounded(.up))
                guard needed > 0, sorted.count >= needed else { return needed == 0 ? 0 : nil }
                return BenchSession.round(Double(sorted[needed - 1]) / 1e9)
            }
            return BenchReport.Storm(
                sessions: sessions, rampSeconds: rampSeconds, reconnected: sorted.count,
                secondsTo99Percent: secondsUntil(fraction: 0.99), secondsToAll: secondsUntil(fraction: 1),
                attempts: self.attempts, refusals: self.refusals,
                transportHandshake: LatencySummary(nanoseconds: self.transportHandshakes),
                connack: LatencySummary(nanoseconds: self.connacks))
        }
    }

    /// One reconnect attempt's result, as the task that made it reports it.
    private enum Attempt: Sendable {
        case back(at: UInt64, transport: UInt64?, connack: UInt64)
        case refused(StormRefusal)
    }

    /// Every session's client reconnects (after its jitter), retrying until it is back or the timeout passes.
    private func reconnect(sessions: Int, cutAt: NIODeadline) async -> StormOutcome {
        let configuration = self.configuration
        let connector = self.connector
        let deadline = cutAt + TimeAmount(configuration.reconnectTimeout)
        let jitter = configuration.jitter.seconds
        let retry = configuration.retryDelay.seconds
        return await withTaskGroup(of: [Attempt].self) { group in
            for index in 0..<sessions {
                group.addTask {
                    var attempts: [Attempt] = []
                    var delay = jitter > 0 ? Double.random(in: 0..<jitter) : 0
                    while true {
                        if delay > 0 {
                            try? await Task.sleep(for: .seconds(delay))
                        }
                        let startedAt = NIODeadline.now()
                        do {
                            let connection = try await connector.connect(role: .idle(index: index), index: index, reconnecting: true).get()
                            let transport = connection.transportReadyAt.map { $0 &- startedAt.uptimeNanoseconds }
                            let connack = connection.readyAt &- (connection.transportReadyAt ?? startedAt.uptimeNanoseconds)
                            attempts.append(
                                .back(at: connection.readyAt &- cutAt.uptimeNanoseconds, transport: transport, connack: connack))
                            return attempts
                        } catch {
                            attempts.append(.refused(StormRefusal(BenchClientHandler.classify(error))))
                        }
                        delay = retry * Double.random(in: 0.5...1.5)
                        if NIODeadline.now() + .nanoseconds(Int64(delay * 1e9)) >= deadline {
                            return attempts
                        }
                    }
                }
            }
            var outcome = StormOutcome()
            for await attempts in group {
                for attempt in attempts {
                    outcome.attempts += 1
                    switch attempt {
                    case .back(let at, let transport, let connack):
                        outcome.backAfter.append(at)
                        if let transport {
                            _ = outcome.transportHandshakes.record(min(max(transport, 1_000), 600_000_000_000))
                        }
                        _ = outcome.connacks.record(min(max(connack, 1_000), 600_000_000_000))
                    case .refused(let refusal):
                        outcome.refusals[refusal.rawValue, default: 0] += 1
                    }
                }
            }
            return outcome
        }
    }
}

/// Why a reconnect attempt during a storm failed, in the words an operator uses: the per-address admission's
/// 429, another refused upgrade, a reset, a refused TCP connect, TLS, a timeout.
enum StormRefusal: String, Sendable, CaseIterable {
    case http429 = "http_429"
    case httpOther = "http_other"
    case reset
    case mqttRefused = "mqtt_refused"
    case connect
    case tls
    case timeout
    case protocolViolation = "protocol"

    init(_ error: BenchClientError) {
        switch error.kind {
        case .upgrade: self = Self.statusCode(inUpgradeRefusal: error.message) == 429 ? .http429 : .httpOther
        case .closed: self = .reset
        case .refused: self = .mqttRefused
        case .connect: self = .connect
        case .tls: self = .tls
        case .timeout: self = .timeout
        case .protocolViolation: self = .protocolViolation
        }
    }

    /// The status code of a refused upgrade ("upgrade refused: \"HTTP/1.1 429 Too Many Requests\" to GET /wss").
    static func statusCode(inUpgradeRefusal message: String) -> Int? {
        guard let range = message.range(of: "\"HTTP/1.") else { return nil }
        let parts = message[range.upperBound...].split(separator: " ", maxSplits: 2)
        guard parts.count >= 2 else { return nil }
        return Int(parts[1].prefix { $0.isASCII && $0.isNumber })
    }
}
