import Testing
import UpstreamPool

@testable import BridgeAdmin

/// `/readyz` with `upstream.servers`: the bridge's phase, then a first health check, then `min_healthy`.
@Suite struct PoolReadinessTests {
    static func pool(minHealthy: Int = 1) throws -> UpstreamPool {
        let servers = [UpstreamServer(host: "broker-a", port: 1883), UpstreamServer(host: "broker-b", port: 1883)]
        return try UpstreamPool(settings: UpstreamPoolSettings(servers: servers, minHealthy: minHealthy), unitRandom: { 0.5 })
    }

    @Test func notReadyBeforeTheFirstHealthCheck() throws {
        let readiness = Readiness.evaluate(phase: .listening, pool: try Self.pool().status())
        #expect(!readiness.isReady)
        #expect(readiness.reason == "starting")
    }

    @Test func readyWhileMinHealthyServersAreUp() throws {
        let pool = try Self.pool(minHealthy: 1)
        pool.recordProbe(pool.servers[0], .up(latency: .milliseconds(3)))
        pool.recordProbe(pool.servers[1], .down(reason: "connection refused"))
        let readiness = Readiness.evaluate(phase: .listening, pool: pool.status())
        #expect(readiness.isReady)
        let body = String(decoding: readiness.json(broker: "broker-a:1883, broker-b:1883").encoded, as: UTF8.self)
        #expect(body.contains(#""servers_up":1,"min_healthy":1"#), "\(body)")
        #expect(body.contains(#"{"server":"broker-b:1883","status":"down","reason":"connection refused","sessions":0"#), "\(body)")
        #expect(
            body.contains(#"{"server":"broker-a:1883","status":"up","sessions":0,"dial_failures":0,"probe_latency_seconds":0.003}"#),
            "\(body)")
    }

    @Test func tooFewServersIsNotReadyAndSaysWhich() throws {
        let pool = try Self.pool(minHealthy: 2)
        pool.recordProbe(pool.servers[0], .up(latency: .milliseconds(3)))
        pool.recordProbe(pool.servers[1], .down(reason: "connection refused"))
        let readiness = Readiness.evaluate(phase: .listening, pool: pool.status())
        #expect(!readiness.isReady)
        #expect(readiness.reason == "too few servers")
        #expect(readiness.detail?.contains("broker-b:1883 (connection refused") == true, "\(readiness.detail ?? "")")
    }

    @Test func drainingIsNotReadyWhateverTheServers() throws {
        let pool = try Self.pool()
        pool.recordProbe(pool.servers[0], .up(latency: .milliseconds(3)))
        let readiness = Readiness.evaluate(phase: .draining, pool: pool.status())
        #expect(!readiness.isReady)
        #expect(readiness.reason == "draining")
    }
}
