/// The pool at one moment, for `/readyz`, `/metrics` and logs.
package struct UpstreamPoolStatus: Sendable, Hashable, CustomStringConvertible {
    package struct Server: Sendable, Hashable {
        package var server: PooledServer
        package var health: Health
        /// Takes new sessions now: up, or its rest after a failed dial is over.
        package var isAvailable: Bool
        /// Open sessions on all views.
        package var openSessions: Int
        /// Failed dials since the pool was made.
        package var dialFailures: Int
        /// The last active health check's result; nil before the first.
        package var lastProbe: UpstreamProbeResult?

        package enum Health: Sendable, Hashable {
            case up
            /// `retryAt`: when a server that failed a dial is offered to sessions again; nil when a probe failed
            /// (it is down until a probe or a dial succeeds).
            case down(reason: String, since: ContinuousClock.Instant, retryAt: ContinuousClock.Instant?)
        }

        init(
            server: PooledServer, state: ServerHealth.State, isAvailable: Bool, openSessions: Int, dialFailures: Int,
            lastProbe: UpstreamProbeResult?
        ) {
            self.server = server
            switch state {
            case .up: self.health = .up
            case .down(let reason, let since, let retryAt): self.health = .down(reason: reason, since: since, retryAt: retryAt)
            }
            self.isAvailable = isAvailable
            self.openSessions = openSessions
            self.dialFailures = dialFailures
            self.lastProbe = lastProbe
        }
    }

    /// In the order of `UpstreamPoolSettings.servers`.
    package var servers: [Server]
    package var minHealthy: Int
    /// When this was taken.
    package var takenAt: ContinuousClock.Instant

    init(servers: [Server], minHealthy: Int, now: ContinuousClock.Instant) {
        self.servers = servers
        self.minHealthy = minHealthy
        self.takenAt = now
    }

    /// Servers that take new sessions now.
    package var availableCount: Int { servers.count { $0.isAvailable } }

    /// At least `minHealthy` servers take new sessions.
    package var isReady: Bool { availableCount >= minHealthy }

    /// `2 of 3 servers up (1 needed); up: a:1883, b:1883; down: c:1883 (connection refused; retry in 3.2s)`.
    package var description: String {
        let up = servers.filter(\.isAvailable)
        let down = servers.filter { !$0.isAvailable }
        var text = "\(up.count) of \(servers.count) server\(servers.count == 1 ? "" : "s") up (\(minHealthy) needed)"
        if !up.isEmpty {
            text +=
                "; up: "
                + up.map { entry in
                    if case .down = entry.health { return "\(entry.server) (on trial after failing)" }
                    return entry.server.description
                }.joined(separator: ", ")
        }
        if !down.isEmpty {
            text +=
                "; down: "
                + down.map { entry in
                    guard case .down(let reason, _, let retryAt) = entry.health else { return entry.server.description }
                    let retry = retryAt.map { "retry in \(Self.seconds($0 - takenAt))" } ?? "until a health check succeeds"
                    return "\(entry.server) (\(reason); \(retry))"
                }.joined(separator: ", ")
        }
        return text
    }

    /// `3.2s`, `0.5s`.
    private static func seconds(_ duration: Duration) -> String {
        let tenths = max(0, Int((duration / .milliseconds(100)).rounded()))
        return "\(tenths / 10).\(tenths % 10)s"
    }
}
