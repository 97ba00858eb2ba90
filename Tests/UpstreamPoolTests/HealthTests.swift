import Testing

@testable import UpstreamPool

@Suite("Health: passive backoff, probes, readiness")
struct HealthTests {
    @Test("the backoff doubles from the initial delay up to the cap, jittered within [d/2, d)")
    func backoffDelays() {
        let backoff = UpstreamBackoff(initial: .seconds(1), maximum: .seconds(30))
        let nominal: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)]
        for (failures, expected) in zip(1..., nominal) {
            #expect(backoff.delay(afterFailures: failures, unitRandom: 0) == expected / 2)
            #expect(backoff.delay(afterFailures: failures, unitRandom: 0.5) == expected * 3 / 4)
            #expect(backoff.delay(afterFailures: failures, unitRandom: 0.999_999) < expected)
        }
        // Very many failures do not overflow.
        #expect(backoff.delay(afterFailures: 10_000, unitRandom: 0) == .seconds(15))
    }

    @Test("a failed dial rests the server; after the rest it is on trial; a failing trial doubles the rest")
    func passiveBackoff() throws {
        let pool = try makePool(brokerAddresses(2), backoff: .init(initial: .seconds(2), maximum: .seconds(60)), unitRandom: { 0 })
        let view = pool.makeView()
        let server = pool.servers[0]
        let start = ContinuousClock.now

        view.dialFailed(server, reason: "connection refused", at: start)
        // Rest: 2s nominal, jitter 0 → 1s.
        #expect(!available(pool, server, at: start + .milliseconds(999)))
        #expect(available(pool, server, at: start + .seconds(1)))
        let down = try #require(pool.status(at: start).servers.first)
        #expect(down.health == .down(reason: "connection refused", since: start, retryAt: start + .seconds(1)))
        #expect(down.dialFailures == 1)

        // A dial that was already under way when the server went down fails too: counted, no longer rest.
        view.dialFailed(server, reason: "connection refused", at: start + .milliseconds(500))
        #expect(available(pool, server, at: start + .seconds(1)))
        #expect(pool.status(at: start).servers[0].dialFailures == 2)

        // The trial at 1s fails: second failure → 4s nominal → 2s rest.
        view.dialFailed(server, reason: "connection refused", at: start + .seconds(1))
        #expect(!available(pool, server, at: start + .milliseconds(2_999)))
        #expect(available(pool, server, at: start + .seconds(3)))
        guard case .down(_, let since, _) = pool.status(at: start).servers[0].health else {
            Issue.record("not down")
            return
        }
        #expect(since == start, "down since the first failure")

        // The next trial succeeds: up at once, and the next failure starts from the initial delay again.
        view.sessionOpened(on: server)
        #expect(pool.status().servers[0].health == .up)
        view.dialFailed(server, reason: "reset", at: start + .seconds(10))
        #expect(available(pool, server, at: start + .seconds(11)))
    }

    @Test("a failed probe keeps the server down until a probe succeeds; it overrides a rest")
    func probes() throws {
        let pool = try makePool(brokerAddresses(2))
        let server = pool.servers[1]
        let start = ContinuousClock.now
        pool.dialFailed(server, reason: "refused", at: start)
        pool.recordProbe(server, .down(reason: "no CONNACK within 2s"), at: start + .seconds(1))
        #expect(!available(pool, server, at: start + .seconds(3_600)))
        let status = pool.status(at: start + .seconds(2)).servers[1]
        #expect(status.health == .down(reason: "no CONNACK within 2s", since: start, retryAt: nil))
        #expect(status.lastProbe == .down(reason: "no CONNACK within 2s"))

        pool.recordProbe(server, .up(latency: .milliseconds(3)), at: start + .seconds(5))
        #expect(available(pool, server, at: start + .seconds(5)))
        #expect(pool.status().servers[1].lastProbe == .up(latency: .milliseconds(3)))
    }

    @Test("a view sees a health change made elsewhere at its next choice")
    func viewsSeeChanges() throws {
        let pool = try makePool(brokerAddresses(2), balance: .roundRobin)
        let (a, b) = (pool.makeView(), pool.makeView())
        pool.recordProbe(pool.servers[0], .down(reason: "refused"))
        #expect((0..<4).map { _ in a.firstChoice("x")!.index } == [1, 1, 1, 1])
        #expect((0..<4).map { _ in b.firstChoice("x")!.index } == [1, 1, 1, 1])
        pool.recordProbe(pool.servers[0], .up(latency: .milliseconds(1)))
        #expect(Set((0..<4).map { _ in a.firstChoice("x")!.index }) == [0, 1])
    }

    @Test("ready while at least min_healthy servers are up; the description names them")
    func minHealthy() throws {
        let pool = try makePool(
            ["a:1883", "b:1883", "[2001:db8::7]:1883"], minHealthy: 2, backoff: .init(initial: .seconds(8)), unitRandom: { 0 })
        let start = ContinuousClock.now
        #expect(pool.status(at: start).isReady)
        #expect(pool.status(at: start).description == "3 of 3 servers up (2 needed); up: a:1883, b:1883, [2001:db8::7]:1883")

        pool.dialFailed(pool.server("b:1883"), reason: "connection refused", at: start)
        var status = pool.status(at: start)
        #expect(status.isReady)
        #expect(status.availableCount == 2)
        #expect(
            status.description
                == "2 of 3 servers up (2 needed); up: a:1883, [2001:db8::7]:1883; down: b:1883 (connection refused; retry in 4.0s)")

        pool.recordProbe(pool.server("a:1883"), .down(reason: "not authorised"), at: start)
        status = pool.status(at: start)
        #expect(!status.isReady)
        #expect(
            status.description
                == "1 of 3 servers up (2 needed); up: [2001:db8::7]:1883; down: a:1883 (not authorised; until a health check succeeds), b:1883 (connection refused; retry in 4.0s)"
        )

        // b's rest is over: it is on trial, and counts as up again.
        status = pool.status(at: start + .seconds(4))
        #expect(status.isReady)
        #expect(status.description.contains("b:1883 (on trial after failing)"))
    }

    private func available(_ pool: UpstreamPool, _ server: PooledServer, at now: ContinuousClock.Instant) -> Bool {
        pool.status(at: now).servers[server.index].isAvailable
    }
}
