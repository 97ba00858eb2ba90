/// The names of a listener's certificate pairs in logs, metrics and reload reports.
///
/// It lives in SettingsSupport because configuration validation (BridgeConfig, which reserves the name) and the
/// certificate store (BridgeTLS, which labels the pair with it) must agree on it.
package enum CertificatePairName {
    /// The listener's own pair (`tls.certificate` and `tls.key`); the `tls.sni` entries are named by their keys.
    package static let listenerDefault = "default"
}
