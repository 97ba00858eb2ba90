import BridgeAdmin
import BridgeConfig
import MosquittoClient
import UpstreamPool

// The assembly point for BridgeAdmin: the `admin` section, and the `upstream` keys its MQTT client (readiness probe,
// publisher pool, pool health checks) shares with the relay.
//
// The bridge's own MQTT client talks to the same broker as the relay: `upstream.host`, `admin.broker_port` (default
// `upstream.port`) and `upstream.tls`, with its own credentials from `admin.readiness` or `admin.publish`. It speaks
// MQTT 5 so that user properties, content type and message expiry can be sent.

extension AdminSettings {
    /// Whether to run the admin listener at all (`admin.enabled`) is the caller's decision.
    package init(_ configuration: BridgeConfiguration) {
        let admin = configuration.admin
        let publish = admin.publish
        self.init(
            address: admin.address, port: admin.port, token: admin.token, publishToken: publish.token,
            idleTimeout: admin.idleTimeout, writeTimeout: admin.writeTimeout, maxConnections: admin.maxConnections,
            sessionsEnabled: admin.sessionsEnabled,
            readiness: Readiness(
                probe: .readinessProbe(configuration), interval: admin.readiness.interval, staleAfter: admin.readiness.staleAfter,
                failureThreshold: admin.readiness.failureThreshold, successThreshold: admin.readiness.successThreshold),
            publish: publish.enabled
                ? Publish(options: .publisher(configuration), poolSize: publish.poolSize, maxBodySize: publish.maxBodySize) : nil,
            upstreamServers: configuration.upstream.servers, upstreamTLSServerName: configuration.upstream.tls?.serverName)
    }
}

extension AdminService {
    /// `upstreamHealthProbe(readinessProbe:servers:timeout:)` for `upstream.servers`, with the readiness probe's
    /// credentials and TLS, whether or not the admin listener is enabled.
    package static func upstreamHealthProbe(_ configuration: BridgeConfiguration) -> UpstreamHealthChecker.Probe {
        self.upstreamHealthProbe(
            readinessProbe: .readinessProbe(configuration), servers: configuration.upstream.serverList,
            timeout: configuration.upstream.healthCheck.timeout)
    }
}

extension MosquittoConnectionOptions {
    /// For `MosquittoProbe`: `admin.readiness.timeout` bounds the whole probe.
    static func readinessProbe(_ configuration: BridgeConfiguration) -> MosquittoConnectionOptions {
        let readiness = configuration.admin.readiness
        return MosquittoConnectionOptions(
            host: configuration.upstream.host,
            port: configuration.admin.brokerPort ?? configuration.upstream.port,
            clientID: readiness.clientID,
            username: readiness.username,
            password: readiness.password,
            protocolVersion: .v5,
            tls: MosquittoTLSOptions(configuration.upstream.tls),
            connectTimeout: readiness.timeout,
            ackTimeout: readiness.timeout
        )
    }

    /// For `MosquittoPublisherPool`: each member dials within `upstream.connect_timeout`.
    static func publisher(_ configuration: BridgeConfiguration) -> MosquittoConnectionOptions {
        let publish = configuration.admin.publish
        return MosquittoConnectionOptions(
            host: configuration.upstream.host,
            port: configuration.admin.brokerPort ?? configuration.upstream.port,
            clientID: publish.clientID,
            username: publish.username,
            password: publish.password,
            protocolVersion: .v5,
            tls: MosquittoTLSOptions(configuration.upstream.tls),
            connectTimeout: configuration.upstream.connectTimeout,
            ackTimeout: publish.ackTimeout
        )
    }
}

extension MosquittoTLSOptions {
    /// `upstream.tls` in libmosquitto's terms. `server_name` has no equivalent: libmosquitto sends `upstream.host` as
    /// SNI and verifies the certificate against it (`AdminService` warns when the two differ).
    init?(_ tls: UpstreamTLSConfiguration?) {
        guard let tls else { return nil }
        self.init(
            caFile: tls.caFilePath, certFile: tls.certificatePath, keyFile: tls.keyPath,
            verifyPeer: tls.verify, verifyHostname: tls.verify)
    }
}
