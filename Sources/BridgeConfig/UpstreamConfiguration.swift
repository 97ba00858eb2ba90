import UpstreamPool

/// How the bridge talks to the broker.
package enum UpstreamKind: String, Sendable, Equatable, CaseIterable {
    /// MQTT over TCP (or TLS): Mosquitto's ordinary listener.
    case tcp
    /// MQTT over WebSocket: the broker's websockets listener, at `upstream.path`.
    case ws
}

/// The broker or brokers (`upstream`): one at `host`:`port`, or several in `servers` (the upstream pool; the keys that
/// go with it are in `UpstreamPoolConfiguration.swift`).
package struct UpstreamConfiguration: Sendable, Equatable {
    /// `kind`: `tcp` (default) or `ws`.
    package var kind: UpstreamKind
    /// `path`: the request path on the broker's WebSocket listener (`ws` only).
    package var path: String
    /// `host`: name or address of the broker's MQTT listener.
    package var host: String
    /// `port`: 1883 plain, usually 8883 with TLS.
    package var port: Int
    /// `servers`: several brokers (`host:port`, optionally with a `weight`), instead of `host` and `port`; empty → the
    /// one at `host`:`port`. See `serverList`.
    package var servers: [UpstreamServer]
    /// `balance`: how a session's broker is chosen among several: `client_id` (default), `least_sessions`, `round_robin`.
    package var balance: UpstreamBalance
    /// `health_check`: probes, passive backoff and readiness of the servers.
    package var healthCheck: UpstreamHealthCheckConfiguration
    /// `connect_timeout`: how long dialling the broker may take before the client gets CONNACK "server unavailable".
    package var connectTimeout: Duration
    /// `max_concurrent_dials`: at most so many connects towards the broker(s) in flight at once for the whole process,
    /// split over the event loops; the dials beyond wait their turn within `connect_timeout`. 0: no limit. Keeps a
    /// reconnect storm from overflowing a broker's short accept queue (Mosquitto's is 100).
    package var maxConcurrentDials: Int
    /// `coalesce_window`: how long a busy session's writes may wait for more before they are flushed, in each
    /// direction; an idle session's go out at once. Zero: every read burst is flushed at once.
    package var coalesceWindow: Duration
    /// The largest `coalesce_window`: beyond it the added latency is noticeable and batching gains nothing more.
    package static let maximumCoalesceWindow: Duration = .milliseconds(10)
    /// `tls`: present → TLS towards the broker.
    package var tls: UpstreamTLSConfiguration?
    /// `proxy_protocol`: send a PROXY protocol v2 header with the client's real address on every broker
    /// connection (Mosquitto 2.1+ with `enable_proxy_protocol 2`; Mosquitto 2.0 does not accept it).
    package var proxyProtocol: Bool

    package init(
        host: String = "127.0.0.1", port: Int = 1883, connectTimeout: Duration = .seconds(5), coalesceWindow: Duration = .microseconds(500),
        maxConcurrentDials: Int = 64, tls: UpstreamTLSConfiguration? = nil,
        proxyProtocol: Bool = false, kind: UpstreamKind = .tcp, path: String = "/mqtt", servers: [UpstreamServer] = [],
        balance: UpstreamBalance = .clientID, healthCheck: UpstreamHealthCheckConfiguration = .init()
    ) {
        self.kind = kind
        self.path = path
        self.host = host
        self.port = port
        self.servers = servers
        self.balance = balance
        self.healthCheck = healthCheck
        self.connectTimeout = connectTimeout
        self.coalesceWindow = coalesceWindow
        self.maxConcurrentDials = maxConcurrentDials
        self.tls = tls
        self.proxyProtocol = proxyProtocol
    }
}

/// `upstream.tls`.
package struct UpstreamTLSConfiguration: Sendable, Equatable {
    /// `ca_file`: PEM bundle to verify the broker with; absent → the system trust store.
    package var caFilePath: String?
    /// `server_name`: SNI and the name verified in the broker's certificate; absent → `upstream.host`.
    package var serverName: String?
    /// `verify`: `false` disables certificate verification (tests only; logged as a warning).
    package var verify: Bool
    /// `certificate`: optional client certificate (PEM) for brokers that require mutual TLS; needs `key` too.
    package var certificatePath: String?
    /// `key`: the client certificate's private key (PEM); needs `certificate` too.
    package var keyPath: String?
    /// `profile`: as `listeners.<name>.tls.profile`, for the bridge as a client: `intermediate` (default), `modern`, `old`.
    package var profile: TLSProfile
    /// `ciphers`: the TLS 1.2 suites to offer the broker, a subset of the profile's; absent → all of them.
    package var cipherSuites: [String]?

    package init(
        caFilePath: String? = nil, serverName: String? = nil, verify: Bool = true, certificatePath: String? = nil, keyPath: String? = nil,
        profile: TLSProfile = .intermediate, cipherSuites: [String]? = nil
    ) {
        self.caFilePath = caFilePath
        self.serverName = serverName
        self.verify = verify
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.profile = profile
        self.cipherSuites = cipherSuites
    }
}
