import SettingsSupport

/// Where one certificate pair of a listener comes from: its files, the configuration keys that name them (every
/// message about the pair names the key), and the SNI server names it serves.
struct CertificateSource: Sendable {
    /// `default` for the listener's own pair, otherwise the `sni.<name>` entry name; the `name` label of metrics.
    var name: String
    /// `listeners.wss.tls` or `listeners.wss.tls.sni.api`.
    var keyPrefix: String
    var certificatePath: String
    var keyPath: String
    var chainPath: String?
    /// Empty for the default pair.
    var serverNames: [ServerNamePattern]

    /// The `name` of the listener's own pair (`tls.certificate`/`tls.key`) in logs and metrics; the configuration
    /// reserves it.
    static let defaultPairName = CertificatePairName.listenerDefault

    /// The listener's default pair first, then its `sni` entries in configuration order (sorted by name).
    static func sources(for tls: ListenerTLSSettings, listener: String) throws(TLSConfigurationError) -> [CertificateSource] {
        let prefix = "listeners.\(listener).tls"
        var sources = [
            CertificateSource(
                name: Self.defaultPairName, keyPrefix: prefix,
                certificatePath: tls.certificatePath, keyPath: tls.keyPath, chainPath: tls.chainPath, serverNames: [])
        ]
        for entry in tls.sni {
            let keyPrefix = "\(prefix).sni.\(entry.name)"
            var patterns: [ServerNamePattern] = []
            for text in entry.serverNames {
                do {
                    patterns.append(try ServerNamePattern(text))
                } catch {
                    // `validate()` reports this first; a configuration built in code may skip it.
                    throw TLSConfigurationError(key: "\(keyPrefix).server_names", "\(error)")
                }
            }
            sources.append(
                CertificateSource(
                    name: entry.name, keyPrefix: keyPrefix, certificatePath: entry.certificatePath,
                    keyPath: entry.keyPath, chainPath: entry.chainPath, serverNames: patterns))
        }
        return sources
    }
}
