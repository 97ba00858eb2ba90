import NIOSSL

/// A TLS listener's server configuration: the listener's `TLSPolicy` (versions, TLS 1.2 suites), HTTP/1.1 by ALPN,
/// and a first certificate pair. `CertificateStore.makeContext` adds the per-handshake pair selection (SNI, reload).
enum ServerTLS {
    static func configuration(initial pair: CertificatePair, policy: TLSPolicy) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.privateKey))
        // swift-nio-ssl's server defaults are TLS 1.0 and a list with RSA key exchange and CBC suites (what the
        // testssl.sh scan found); the policy replaces both.
        policy.apply(to: &configuration)
        configuration.applicationProtocols = ["http/1.1"]
        return configuration
    }
}
