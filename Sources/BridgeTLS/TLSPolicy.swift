import NIOSSL
import SettingsSupport

/// What one TLS endpoint offers — a listener, or the bridge as the broker's client: the oldest TLS version and the
/// TLS 1.2 cipher suites. Made from `profile`, `ciphers` (and a listener's `min_version`) and checked once, at start.
///
/// - `intermediate` (default): TLS 1.2 and 1.3; in TLS 1.2 only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305.
/// - `modern`: TLS 1.3 only.
/// - `old`: TLS 1.2 and 1.3, TLS 1.2 adding CBC suites and RSA key exchange (`TLSCipherSuite.legacy`). Never below 1.2.
///
/// `ciphers` narrows (and orders) the profile's TLS 1.2 suites; naming a suite outside the profile is an error, so
/// the profile stays the ceiling. TLS 1.3 suites are BoringSSL's fixed three, all AEAD with forward secrecy: neither
/// swift-nio-ssl nor BoringSSL lets them be changed.
///
/// Preference: swift-nio-ssl 2.37 exposes the TLS 1.2 list (`TLSConfiguration.cipherSuiteValues`) but not BoringSSL's
/// `SSL_OP_CIPHER_SERVER_PREFERENCE`, so a listener picks the *client's* most preferred suite among those it allows.
/// With `intermediate` or `modern` every allowed suite is strong and that is Mozilla's own recommendation ("client
/// chooses"); with `old` a client that lists a CBC or RSA suite first gets it. The lists keep Mozilla's order so that
/// server preference is one line once the library offers it.
package struct TLSPolicy: Sendable, Equatable {
    package let profile: Profile
    /// `.v1_3` means TLS 1.2 is off (and `tls12Suites` is empty).
    package let minimumVersion: MinimumVersion
    /// The TLS 1.2 suites offered, in order; empty when TLS 1.2 is off.
    package let tls12Suites: [TLSCipherSuite]

    /// Resolves a section's settings. `section` is the key of the `tls` section (`listeners.wss.tls`,
    /// `upstream.tls`); every error names the key it is about.
    package init(
        profile: Profile, cipherNames: [String]?, minimumVersion: MinimumVersion = .v1_2, section: String
    ) throws(TLSConfigurationError) {
        self.profile = profile
        let ciphersKey = "\(section).ciphers"
        if profile == .modern || minimumVersion == .v1_3 {
            if cipherNames != nil {
                let why = profile == .modern ? "profile modern is TLS 1.3 only" : "min_version 1.3 turns TLS 1.2 off"
                throw TLSConfigurationError(
                    key: ciphersKey,
                    "\(why), so there are no TLS 1.2 suites to choose (TLS 1.3's are fixed); remove ciphers, or use profile intermediate")
            }
            self.minimumVersion = .v1_3
            self.tls12Suites = []
            return
        }
        self.minimumVersion = .v1_2
        let allowed = profile == .old ? TLSCipherSuite.all : TLSCipherSuite.intermediate
        guard let cipherNames else {
            self.tls12Suites = allowed
            return
        }
        var suites: [TLSCipherSuite] = []
        for (index, entry) in cipherNames.enumerated() {
            // An OpenSSL-style `A:B` string (what nginx's ssl_ciphers takes) is read as a list too.
            for name in entry.split(separator: ":").map({ String($0.filter { !$0.isWhitespace }) }) where !name.isEmpty {
                let key = "\(ciphersKey)[\(index)]"
                let suite = try Self.suite(named: name, key: key, profile: profile, allowed: allowed, section: section)
                if !suites.contains(suite) { suites.append(suite) }
            }
        }
        guard !suites.isEmpty else {
            throw TLSConfigurationError(
                key: ciphersKey, "is empty, which would refuse every TLS 1.2 client; for TLS 1.3 only use profile modern")
        }
        self.tls12Suites = suites
    }

    /// Sets the versions and TLS 1.2 suites of `configuration` (server or client).
    package func apply(to configuration: inout TLSConfiguration) {
        configuration.minimumTLSVersion = self.minimumVersion == .v1_3 ? .tlsv13 : .tlsv12
        // With TLS 1.2 off the list is never consulted; the intermediate one keeps swift-nio-ssl's broader default
        // (with RSA key exchange and CBC) out of the context all the same.
        configuration.cipherSuiteValues = (self.tls12Suites.isEmpty ? TLSCipherSuite.intermediate : self.tls12Suites).map(\.value)
    }

    /// Whether a TLS 1.2 client can be served with a certificate of this key type (always, with TLS 1.2 off).
    package func serves(_ authentication: TLSCipherSuite.Authentication) -> Bool {
        self.tls12Suites.isEmpty || self.tls12Suites.contains { $0.authentication == authentication }
    }

    /// For the start-up log line: `1.2+1.3` or `1.3`.
    package var versions: String { self.minimumVersion == .v1_3 ? "1.3" : "1.2+1.3" }

    /// For the start-up log line: the TLS 1.2 suites in OpenSSL's names, `:`-separated (`none` with TLS 1.2 off).
    package var tls12Description: String {
        self.tls12Suites.isEmpty ? "none" : self.tls12Suites.map(\.name).joined(separator: ":")
    }

    private static func suite(
        named name: String, key: String, profile: Profile, allowed: [TLSCipherSuite], section: String
    ) throws(TLSConfigurationError) -> TLSCipherSuite {
        guard let suite = TLSCipherSuite.named(name) else {
            throw TLSConfigurationError(key: key, self.unknownSuiteReason(name))
        }
        guard allowed.contains(suite) else {
            throw TLSConfigurationError(
                key: key,
                "'\(name)' \(suite.weakness ?? "is not allowed"): allowed only with \(section).profile old (now \(profile.rawValue))")
        }
        return suite
    }

    private static func unknownSuiteReason(_ name: String) -> String {
        let upper = name.uppercased()
        if TLSCipherSuite.tls13Names.contains(upper) {
            return "'\(name)' is a TLS 1.3 suite; TLS 1.3 always offers its three AEAD suites and they cannot be changed: "
                + "list TLS 1.2 suites here"
        }
        if upper.hasPrefix("DHE-") || upper.hasPrefix("EDH-") || upper.hasPrefix("TLS_DHE_") {
            return "'\(name)' is a finite-field DHE suite, which BoringSSL (swift-nio-ssl) does not implement; "
                + "the ECDHE suites give the same forward secrecy"
        }
        // Every suite name has a `-` or `_`; `HIGH`, `ECDHE`, `!aNULL`, `RSA+AESGCM`, `@SECLEVEL=2` are cipher-string rules.
        if name.contains(where: { "!+@=".contains($0) }) || !name.contains(where: { "-_".contains($0) }) {
            return "'\(name)' is OpenSSL cipher-string syntax; list suite names (OpenSSL's or IANA's), e.g. ECDHE-RSA-AES128-GCM-SHA256"
        }
        let names = TLSCipherSuite.all.flatMap { [$0.name, $0.standardName] }
        return "'\(name)' is not a TLS 1.2 cipher suite the bridge offers\(Suggestion.didYouMean(upper, in: names))"
    }
}
