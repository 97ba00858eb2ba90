import MosquittoClient
import UpstreamPool

// With `upstream.servers`, readiness is the pool's: the bridge's own `UpstreamHealthChecker` probes every server
// (with `upstreamHealthProbe`), and `/readyz` reads the result instead of running a probe of its own.

extension AdminService {
    /// The health check of one pool server: a libmosquitto CONNECT/CONNACK, as the single-broker readiness probe does
    /// it (same credentials, client id and TLS), at the server's own address, within `timeout`
    /// (`upstream.health_check.timeout`). The executable hands it to `BridgeServer`, which runs the checks whether or
    /// not the admin listener is enabled.
    ///
    /// - Parameters:
    ///   - readinessProbe: `AdminSettings.readiness.probe`; a server not in `servers` gets it as it is.
    ///   - servers: the pool's servers.
    package static func upstreamHealthProbe(
        readinessProbe: MosquittoConnectionOptions, servers: [UpstreamServer], timeout: Duration
    ) -> UpstreamHealthChecker.Probe {
        let options = Dictionary(
            uniqueKeysWithValues: servers.map { server in
                var options = readinessProbe
                options.host = server.host
                options.port = server.port
                options.connectTimeout = timeout
                options.ackTimeout = timeout
                return (server, options)
            })
        return { pooled in
            switch await MosquittoProbe(options: options[pooled.server] ?? readinessProbe).probe() {
            case .ready(let latency): .up(latency: latency)
            case .notReady(let error): .down(reason: error.description)
            }
        }
    }
}

extension Readiness {
    /// The rules with a pool: the bridge's phase first (as without one), then a first health check finished, then at
    /// least `upstream.health_check.min_healthy` servers taking new sessions. The pool's own health is the hysteresis: a
    /// failed probe or dial marks a server down, a successful one brings it back.
    static func evaluate(phase: BridgePhase, pool status: UpstreamPoolStatus) -> Readiness {
        var readiness = Readiness(isReady: false, bridge: phase)
        readiness.servers = status
        if let (reason, detail) = notListening(phase) {
            readiness.reason = reason
            readiness.detail = detail
        } else if status.servers.allSatisfy({ $0.lastProbe == nil }) {
            // Servers start out up (so sessions are not refused meanwhile); readiness waits for evidence.
            readiness.reason = "starting"
            readiness.detail = "no upstream health check has finished yet"
        } else if status.isReady {
            readiness.isReady = true
        } else {
            readiness.reason = "too few servers"
            readiness.detail = status.description
        }
        return readiness
    }
}

extension UpstreamPoolStatus {
    /// `/readyz`'s `servers`: one object per server.
    var json: [JSONWriter] {
        servers.map { entry in
            var server = JSONWriter.object()
            server.field("server", entry.server.description)
            server.field("status", entry.isAvailable ? "up" : "down")
            if case .down(let reason, _, let retryAt) = entry.health {
                server.field("reason", reason)
                if let retryAt { server.field("retry_in_seconds", max(.zero, retryAt - takenAt).seconds) }
            }
            server.field("sessions", entry.openSessions)
            server.field("dial_failures", entry.dialFailures)
            if case .up(let latency)? = entry.lastProbe { server.field("probe_latency_seconds", latency.seconds) }
            return server
        }
    }
}
