import Foundation
import NIOSSL

/// How a test client speaks TLS (wss, or MQTT over TLS).
package struct TestTLS: Sendable {
    /// PEM file with the certificates to trust (e.g. the development CA). `nil` turns verification off entirely,
    /// which is what a test wants when it only cares about bytes, not about the certificate.
    package var trustRootsPEMPath: String?
    /// Sent as SNI and checked against the certificate's names. An IP literal is not sent as SNI (not allowed);
    /// with `nil` (or an IP) and trust roots set, the certificate is checked against the IP address connected to.
    /// Note that NIOSSL accepts a certificate when *either* a DNS entry matches this name *or* an IP entry matches
    /// the address connected to: to prove a name check, connect to an address the certificate does not list.
    package var serverName: String?
    /// Restrict the protocol versions, e.g. `maximumVersion: .tlsv11` to check that the server refuses old TLS.
    package var minimumVersion: TLSVersion?
    package var maximumVersion: TLSVersion?

    package init(
        trustRootsPEMPath: String? = nil, serverName: String? = nil,
        minimumVersion: TLSVersion? = nil, maximumVersion: TLSVersion? = nil
    ) {
        self.trustRootsPEMPath = trustRootsPEMPath
        self.serverName = serverName
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
    }

    /// The context is built once per connect (so a bad trust file fails before any socket is opened).
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let trustRootsPEMPath {
            configuration.trustRoots = .file(trustRootsPEMPath)
            configuration.certificateVerification = .fullVerification
        } else {
            configuration.certificateVerification = .none
        }
        if let minimumVersion { configuration.minimumTLSVersion = minimumVersion }
        if let maximumVersion { configuration.maximumTLSVersion = maximumVersion }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The SNI name to send: the server name unless it is an IP literal.
    var sniName: String? {
        guard let serverName, !Self.isIPLiteral(serverName) else { return nil }
        return serverName
    }

    static func isIPLiteral(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
