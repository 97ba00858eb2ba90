import MosquittoClient
import UpstreamPool

/// What the admin listener needs, as plain values. BridgeServer's assembly maps the configuration file's `admin`
/// section and the `upstream` keys its MQTT client shares with the relay onto it, so this module never sees the file's
/// schema.
public struct AdminSettings: Sendable {
    /// `/readyz` with a single broker: a libmosquitto CONNECT/CONNACK every `interval`, with hysteresis.
    public struct Readiness: Sendable {
        /// The broker, credentials and TLS of the probe; its timeouts bound the whole probe.
        public var probe: MosquittoConnectionOptions
        public var interval: Duration
        /// A result older than this counts as not ready.
        public var staleAfter: Duration
        /// Consecutive failures before not ready, consecutive successes before ready again.
        public var failureThreshold: Int
        public var successThreshold: Int

        public init(
            probe: MosquittoConnectionOptions, interval: Duration, staleAfter: Duration, failureThreshold: Int, successThreshold: Int
        ) {
            self.probe = probe
            self.interval = interval
            self.staleAfter = staleAfter
            self.failureThreshold = failureThreshold
            self.successThreshold = successThreshold
        }
    }

    /// `POST /api/v1/publish`: a pool of libmosquitto publishers.
    public struct Publish: Sendable {
        /// Each member's broker, credentials and TLS; `ackTimeout` bounds one publish.
        public var options: MosquittoConnectionOptions
        public var poolSize: Int
        /// The largest request body accepted.
        public var maxBodySize: Int

        public init(options: MosquittoConnectionOptions, poolSize: Int, maxBodySize: Int) {
            self.options = options
            self.poolSize = poolSize
            self.maxBodySize = maxBodySize
        }
    }

    /// The listen address and port (0: any free port).
    public var address: String
    public var port: Int
    /// The bearer token every endpoint but the probes and `/metrics` requires; nil: open (loopback only).
    public var token: String?
    /// A bearer token for the publish API alone (besides `token`); asked for even while the API is off.
    public var publishToken: String?
    public var idleTimeout: Duration
    public var writeTimeout: Duration
    public var maxConnections: Int
    /// The sessions API and the event stream.
    public var sessionsEnabled: Bool
    public var readiness: Readiness
    /// nil: the publish API is off.
    public var publish: Publish?
    /// The brokers of the upstream pool; empty: the single broker the probe dials.
    public var upstreamServers: [UpstreamServer]
    /// The TLS server name the relay verifies the broker as, if it is not the broker's host: libmosquitto cannot use
    /// it (it verifies against the host), which is logged as a warning.
    public var upstreamTLSServerName: String?

    public init(
        address: String, port: Int, token: String?, publishToken: String?, idleTimeout: Duration, writeTimeout: Duration,
        maxConnections: Int,
        sessionsEnabled: Bool, readiness: Readiness, publish: Publish?, upstreamServers: [UpstreamServer],
        upstreamTLSServerName: String?
    ) {
        self.address = address
        self.port = port
        self.token = token
        self.publishToken = publishToken
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxConnections = maxConnections
        self.sessionsEnabled = sessionsEnabled
        self.readiness = readiness
        self.publish = publish
        self.upstreamServers = upstreamServers
        self.upstreamTLSServerName = upstreamTLSServerName
    }
}
