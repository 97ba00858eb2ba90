import NIOSSL
import SettingsSupport

/// The pairs a listener serves at one moment, and which one a client's SNI server name gets.
///
/// Immutable: a reload builds a new selection and swaps it in whole, so a handshake sees either the old set or the
/// new one, never a mix. The overrides are built here, once per reload, so a handshake only looks one up.
struct CertificateSelection: Sendable {
    struct Entry: Sendable {
        var source: CertificateSource
        var pair: CertificatePair
    }

    /// The default pair first, then the SNI entries.
    let entries: [Entry]
    private let overrides: [NIOSSLContextConfigurationOverride]
    /// Exact server name → entry index.
    private let exact: [String: Int]
    /// `*.example.com` is stored under `example.com` → entry index.
    private let wildcard: [String: Int]

    /// `entries[0]` must be the default pair.
    init(entries: [Entry]) {
        precondition(!entries.isEmpty, "a selection needs the default pair")
        self.entries = entries
        self.overrides = entries.map(\.pair.override)
        var exact: [String: Int] = [:]
        var wildcard: [String: Int] = [:]
        for (index, entry) in entries.enumerated() {
            for pattern in entry.source.serverNames {
                // Validation refuses duplicates; should one slip through (a configuration built in code), the
                // first entry keeps the name, which is at least stable.
                if pattern.isWildcard {
                    if wildcard[pattern.name] == nil { wildcard[pattern.name] = index }
                } else {
                    if exact[pattern.name] == nil { exact[pattern.name] = index }
                }
            }
        }
        self.exact = exact
        self.wildcard = wildcard
    }

    /// Which entry serves `serverName` (as the client sent it, or `nil` without SNI): an exact name, else a
    /// wildcard for its parent domain, else the default pair (index 0).
    func index(forServerName serverName: String?) -> Int {
        guard let serverName, !serverName.isEmpty, !self.exact.isEmpty || !self.wildcard.isEmpty else { return 0 }
        let normalized = ServerNamePattern.normalize(serverName)
        if let index = self.exact[normalized] { return index }
        if let parent = ServerNamePattern.parentDomain(of: normalized), let index = self.wildcard[parent] { return index }
        return 0
    }

    /// The certificate chain and key for a handshake with `serverName`.
    func override(forServerName serverName: String?) -> NIOSSLContextConfigurationOverride {
        self.overrides[self.index(forServerName: serverName)]
    }
}
