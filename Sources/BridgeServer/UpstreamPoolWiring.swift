import BridgeConfig
import BridgeRelay
import Logging
import NIOCore
import UpstreamPool

/// Turns `upstream` into the relay's choice of broker: the one server of `upstream.host`/`upstream.port`, or the
/// pool of `upstream.servers`.
enum UpstreamPoolWiring {
    /// `eventLoops`: the loops sessions run on, each of which gets its own view of the pool (empty for
    /// `--check-config`, which only validates).
    static func selector(
        _ upstream: UpstreamConfiguration, eventLoops: [any EventLoop], logger: Logger
    ) throws(StartupError) -> any UpstreamServerSelector {
        guard !upstream.servers.isEmpty else {
            return SingleUpstreamServer(BridgeRelay.UpstreamServer(host: upstream.host, port: upstream.port))
        }
        let pool: UpstreamPool
        do {
            pool = try UpstreamPool(settings: upstream.poolSettings)
        } catch {
            // BridgeConfiguration.validate() reports these with their keys first; this is the last line of defence.
            throw StartupError("upstream.servers: \(error)")
        }
        if upstream.kind == .ws, upstream.balance == .clientID {
            logger.notice(
                "upstream.balance client_id: a ws upstream is dialled before the client's CONNECT, so sessions go by least_sessions",
                metadata: ["servers": "\(upstream.servers.count)"])
        }
        return PooledUpstreamServers(pool: pool, eventLoops: eventLoops)
    }
}

extension UpstreamPoolWiring {
    /// Active health checks of every server of `pool` (`upstream.health_check.interval` and `timeout`) with `probe`
    /// (the executable's: a libmosquitto CONNECT/CONNACK with the readiness probe's credentials). Nil without a pool
    /// (the one-server form keeps the admin listener's own readiness probe) or without a probe (passive health only).
    static func healthChecker(
        _ pool: UpstreamPool?, _ healthCheck: UpstreamHealthCheckConfiguration, probe: UpstreamHealthChecker.Probe?
    ) -> UpstreamHealthChecker? {
        guard let pool, let probe else { return nil }
        return UpstreamHealthChecker(pool: pool, interval: healthCheck.interval, timeout: healthCheck.timeout, probe: probe)
    }
}
