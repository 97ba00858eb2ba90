import BridgeConfig
import MosquittoClient
import UpstreamPool

/// The bridge's own MQTT client (readiness probe, publisher pool) talks to the same broker as the relay:
/// `upstream.host`, `admin.broker_port` (default `upstream.port`) and `upstream.tls`, with its own credentials from `admin.readiness` or
/// `admin.publish`. It speaks MQTT 5 so that user properties, content type and message expiry can be sent.
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

    /// For the upstream pool's health checks (`upstream.servers`): the readiness probe's credentials and TLS, towards
    /// one server at its own address, bounded by `upstream.health_check.timeout`.
    static func healthCheck(_ configuration: BridgeConfiguration, server: UpstreamServer) -> MosquittoConnectionOptions {
        var options = readinessProbe(configuration)
        options.host = server.host
        options.port = server.port
        options.connectTimeout = configuration.upstream.healthCheck.timeout
        options.ackTimeout = configuration.upstream.healthCheck.timeout
        return options
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
