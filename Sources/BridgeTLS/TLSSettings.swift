/// What BridgeTLS needs to know about one TLS endpoint, as plain values. BridgeServer's assembly maps the configuration
/// file's `listeners.<name>.tls` and `upstream.tls` sections onto them, so this module never sees the file's schema.
/// Paths are used as given (the assembly has resolved them against the file's directory).

extension TLSPolicy {
    /// Which TLS versions and TLS 1.2 cipher suites an endpoint offers, after Mozilla's server-side TLS
    /// recommendations (https://wiki.mozilla.org/Security/Server_Side_TLS); the suites of each are in `TLSCipherSuite`.
    package enum Profile: String, Sendable, Equatable, CaseIterable {
        /// TLS 1.3 only.
        case modern
        /// TLS 1.2 with ECDHE key exchange and AEAD ciphers only, and TLS 1.3.
        case intermediate
        /// `intermediate` plus CBC suites and RSA key exchange, for TLS 1.2 clients that have neither ECDHE nor AEAD.
        case old
    }

    /// The oldest TLS version accepted. 1.0 and 1.1 are deliberately not representable.
    package enum MinimumVersion: String, Sendable, Equatable, CaseIterable {
        case v1_2 = "1.2"
        case v1_3 = "1.3"
    }
}

/// One TLS listener: its own certificate pair, further pairs chosen by SNI, the policy, and how often to reload.
package struct ListenerTLSSettings: Sendable, Equatable {
    /// One certificate pair served to clients whose SNI server name matches `serverNames`.
    package struct SNICertificate: Sendable, Equatable {
        /// In logs and as the `name` label of the certificate metrics (`default` is the listener's own pair).
        package var name: String
        /// Exact DNS names and `*.` wildcards (`ServerNamePattern`).
        package var serverNames: [String]
        package var certificatePath: String
        package var keyPath: String
        package var chainPath: String?

        package init(name: String, serverNames: [String], certificatePath: String, keyPath: String, chainPath: String? = nil) {
            self.name = name
            self.serverNames = serverNames
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.chainPath = chainPath
        }
    }

    package var certificatePath: String
    package var keyPath: String
    package var chainPath: String?
    package var minimumVersion: TLSPolicy.MinimumVersion
    package var profile: TLSPolicy.Profile
    /// The TLS 1.2 suites to offer, a subset of the profile's (OpenSSL or IANA names); nil: all of the profile's.
    package var cipherSuites: [String]?
    /// How often the files are checked for changes; zero: only when asked (SIGHUP).
    package var reloadInterval: Duration
    /// Sorted by name; empty: every client gets the listener's own pair.
    package var sni: [SNICertificate]

    package init(
        certificatePath: String, keyPath: String, chainPath: String? = nil, minimumVersion: TLSPolicy.MinimumVersion = .v1_2,
        profile: TLSPolicy.Profile = .intermediate, cipherSuites: [String]? = nil, reloadInterval: Duration = .zero,
        sni: [SNICertificate] = []
    ) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.chainPath = chainPath
        self.minimumVersion = minimumVersion
        self.profile = profile
        self.cipherSuites = cipherSuites
        self.reloadInterval = reloadInterval
        self.sni = sni
    }
}

/// The bridge as the broker's TLS client.
package struct UpstreamTLSSettings: Sendable, Equatable {
    /// PEM bundle to verify the broker with; nil: the system trust store.
    package var caFilePath: String?
    /// SNI and the name verified in the broker's certificate; nil: each server's own host.
    package var serverName: String?
    /// False disables certificate verification (tests only).
    package var verify: Bool
    /// A client certificate and its key (PEM), for brokers that require mutual TLS; both or neither.
    package var certificatePath: String?
    package var keyPath: String?
    package var profile: TLSPolicy.Profile
    /// The TLS 1.2 suites to offer the broker, a subset of the profile's; nil: all of the profile's.
    package var cipherSuites: [String]?

    package init(
        caFilePath: String? = nil, serverName: String? = nil, verify: Bool = true, certificatePath: String? = nil,
        keyPath: String? = nil, profile: TLSPolicy.Profile = .intermediate, cipherSuites: [String]? = nil
    ) {
        self.caFilePath = caFilePath
        self.serverName = serverName
        self.verify = verify
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.profile = profile
        self.cipherSuites = cipherSuites
    }
}
