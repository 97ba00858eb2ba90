import NIOCore
import NIOSSL

/// The TLS client context towards the broker, shared by the `tcp` and `ws` upstream kinds.
package enum UpstreamTLS {
    /// `upstream.tls.profile` and `upstream.tls.ciphers`, checked (errors name the key).
    package static func policy(_ configuration: UpstreamTLSSettings) throws(TLSConfigurationError) -> TLSPolicy {
        try TLSPolicy(profile: configuration.profile, cipherNames: configuration.cipherSuites, section: "upstream.tls")
    }

    /// One context for every server; each connection names its own server (`serverName(configured:host:)`).
    package static func makeContext(_ configuration: UpstreamTLSSettings) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        try self.policy(configuration).apply(to: &tls)
        if let caFile = configuration.caFilePath {
            tls.trustRoots = .file(caFile)
        }
        if !configuration.verify {
            tls.certificateVerification = .none
        }
        if let certificate = configuration.certificatePath, let key = configuration.keyPath {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: tls)
    }

    /// The name one server is asked for (SNI) and verified against: `upstream.tls.server_name` when set, else the
    /// server's own host (each server of `upstream.servers` its own); nil for an IP literal, which SNI must not carry
    /// (RFC 6066 §3).
    package static func serverName(configured: String?, host: String) -> String? {
        let serverName = configured ?? host
        return (try? SocketAddress(ipAddress: serverName, port: 0)) == nil ? serverName : nil
    }
}
