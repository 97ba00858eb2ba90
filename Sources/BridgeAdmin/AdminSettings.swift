import MosquittoClient
import UpstreamPool

/// What the admin listener needs, as plain values. BridgeServer's assembly maps the configuration file's `admin`
/// section and the `upstream` keys its MQTT client shares with the relay onto it, so this module never sees the file's
/// schema.
package struct AdminSettings: Sendable {
    /// `/readyz` with a single broker: a libmosquitto CONNECT/CONNACK every `interval`, with hysteresis.
    package struct Readiness: Sendable {
        /// The broker, credentials and TLS of the probe; its timeouts bound the whole probe.
        package var probe: MosquittoConnectionOptions
        package var interval: Duration
        /// A result older than this counts as not ready.
        package var staleAfter: Duration
        /// Consecutive failures before not ready, consecutive successes before ready again.
        package var failureThreshold: Int
        package var successThreshold: Int

        package init(
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
    package struct Publish: Sendable {
        /// Each member's broker, credentials and TLS; `ackTimeout` bounds one publish.
        package var options: MosquittoConnectionOptions
        package var poolSize: Int
        /// The largest request body accepted.
        package var maxBodySize: Int

        package init(options: MosquittoConnectionOptions, poolSize: Int, maxBodySize: Int) {
            self.options = options
            self.poolSize = poolSize
            self.maxBodySize = maxBodySize
        }
    }

    /// The listen address and port (0: any free port).
    package var address: String
    package var port: Int
    /// The bearer token every endpoint but the probes and `/metrics` requires; nil: open (loopback only).
    package var token: String?
    /// A bearer token for the publish API alone (besides `token`); asked for even while the API is off.
    package var publishToken: String?
    package var idleTimeout: Duration
    package var writeTimeout: Duration
    package var maxConnections: Int
    /// The sessions API and the event stream.
    package var sessionsEnabled: Bool
    package var readiness: Readiness
    /// nil: the publish API is off.
    package var publish: Publish?
    /// The brokers of the upstream pool; empty: the single broker the probe dials.
    package var upstreamServers: [UpstreamServer]
    /// The TLS server name the relay verifies the broker as, if it is not the broker's host: libmosquitto cannot use
    /// it (it verifies against the host), which is logged as a warning.
    package var upstreamTLSServerName: String?

    package init(
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
