/// `listeners.<name>.tls.profile` and `upstream.tls.profile`: which TLS versions and TLS 1.2 cipher suites an endpoint
/// offers, after Mozilla's server-side TLS recommendations (https://wiki.mozilla.org/Security/Server_Side_TLS).
///
/// The exact suites of each profile are `TLSPolicy` in BridgeTLS, the one place that knows cipher suites; the README's
/// TLS section lists them. TLS 1.3 always offers its three AEAD suites with forward secrecy, whatever the profile.
package enum TLSProfile: String, Sendable, Equatable, CaseIterable {
    /// TLS 1.3 only (Mozilla "modern"). TLS 1.2 clients, including older WeChat base libraries, cannot connect.
    case modern
    /// TLS 1.2 with ECDHE key exchange and AEAD ciphers only (AES-GCM, ChaCha20-Poly1305), and TLS 1.3. The default.
    case intermediate
    /// `intermediate` plus CBC suites and RSA key exchange (no forward secrecy), for TLS 1.2 clients that have neither
    /// ECDHE nor AEAD suites. Never TLS 1.0 or 1.1: WeChat and browsers need 1.2, and nothing here goes lower.
    case old
}
