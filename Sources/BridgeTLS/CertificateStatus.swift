import Foundation

/// One certificate a TLS listener is serving now (for tests, logs and a future admin endpoint).
package struct CertificateStatus: Sendable, Equatable {
    /// The listener's name.
    package var listener: String
    /// `default` for the listener's own pair, else the `tls.sni.<name>` entry.
    package var name: String
    /// Upper-case hex, as `openssl x509 -noout -serial` prints it.
    package var serial: String
    package var notValidBefore: Date
    package var notValidAfter: Date
    /// The SNI patterns that select this pair (empty for the default pair).
    package var serverNames: [String]
    /// The DNS names in the certificate.
    package var certificateNames: [String]
}
