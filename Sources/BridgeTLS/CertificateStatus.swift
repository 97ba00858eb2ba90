import Foundation

/// One certificate a TLS listener is serving now (for tests, logs and a future admin endpoint).
public struct CertificateStatus: Sendable, Equatable {
    /// The listener's name.
    public var listener: String
    /// `default` for the listener's own pair, else the `tls.sni.<name>` entry.
    public var name: String
    /// Upper-case hex, as `openssl x509 -noout -serial` prints it.
    public var serial: String
    public var notValidBefore: Date
    public var notValidAfter: Date
    /// The SNI patterns that select this pair (empty for the default pair).
    public var serverNames: [String]
    /// The DNS names in the certificate.
    public var certificateNames: [String]
}
