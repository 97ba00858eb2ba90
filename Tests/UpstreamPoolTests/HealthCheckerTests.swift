import NIOConcurrencyHelpers
import Testing

@testable import UpstreamPool

@Suite("UpstreamHealthChecker: probes on a schedule, results to the pool", .timeLimit(.minutes(1)))
struct HealthCheckerTests {
    @Test("each server is probed repeatedly; results mark servers down and up")
    func probesReachThePool() async throws {
        let pool = try makePool(["a:1883", "b:1883"])
        // b fails its first two probes, then answers.
        let probes = NIOLockedValueBox<[String: Int]>([:])
        let checker = UpstreamHealthChecker(pool: pool, interval: .milliseconds(20), timeout: .seconds(5)) { server in
            let count = probes.withLockedValue { counts -> Int in
                counts[server.description, default: 0] += 1
                return counts[server.description]!
            }
            if server.description == "b:1883" && count <= 2 { return .down(reason: "connection refused") }
            return .up(latency: .milliseconds(1))
        }
        let task = Task { await checker.run() }
        defer { task.cancel() }

        try await waitUntil("b is down") { pool.status().servers[1].lastProbe == .down(reason: "connection refused") }
        #expect(!pool.status().servers[1].isAvailable)
        try await waitUntil("b is up again after its third probe") {
            probes.withLockedValue { $0["b:1883", default: 0] } >= 3 && pool.status().servers[1].isAvailable
        }
        #expect(pool.status().servers[0].lastProbe == .up(latency: .milliseconds(1)))
        task.cancel()
        await task.value
    }

    @Test("a probe that does not answer within the timeout counts as down, at the timeout")
    func timeout() async throws {
        let pool = try makePool(["slow:1883"])
        let checker = UpstreamHealthChecker(pool: pool, interval: .seconds(60), timeout: .milliseconds(50)) { _ in
            // Cancellation-aware, as MosquittoProbe is not; the checker must not wait for the full sleep either way
            // before reporting.
            try? await Task.sleep(for: .seconds(30))
            return .up(latency: .seconds(30))
        }
        let start = ContinuousClock.now
        let result = await checker.check(pool.servers[0])
        #expect(result == .down(reason: "no answer within 0.05 seconds"))
        let status = pool.status().servers[0]
        #expect(status.lastProbe == result)
        #expect(!status.isAvailable)
        #expect(status.health == .down(reason: "no answer within 0.05 seconds", since: try #require(status.downSince), retryAt: nil))
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    @Test("cancelling run() ends it; a probe cut short is not reported")
    func cancellation() async throws {
        let pool = try makePool(["a:1883"])
        let started = NIOLockedValueBox(false)
        let checker = UpstreamHealthChecker(pool: pool, interval: .seconds(60), timeout: .seconds(30)) { _ in
            started.withLockedValue { $0 = true }
            try? await Task.sleep(for: .seconds(30))
            return .down(reason: "should not be reported")
        }
        let task = Task { await checker.run() }
        try await waitUntil("the probe started") { started.withLockedValue { $0 } }
        task.cancel()
        await task.value
        #expect(pool.status().servers[0].lastProbe == nil)
        #expect(pool.status().servers[0].health == .up)
    }
}

extension UpstreamPoolStatus.Server {
    var downSince: ContinuousClock.Instant? {
        if case .down(_, let since, _) = health { return since }
        return nil
    }
}

/// Polls `condition` every few milliseconds until it holds; fails after `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out after \(timeout) waiting until \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
