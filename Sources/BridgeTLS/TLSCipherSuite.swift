import NIOSSL

/// A TLS 1.2 cipher suite the bridge can offer, with what makes it strong or weak.
///
/// The catalogue is what BoringSSL (inside swift-nio-ssl 2.37) implements for TLS 1.2 with a certificate, minus
/// 3DES (64-bit blocks: SWEET32; no TLS 1.2 client needs it) and the two CBC-HMAC-SHA256 suites BoringSSL itself marks
/// deprecated (every client that has them also has the SHA-1 CBC ones below). BoringSSL has no finite-field DHE
/// suites, so Mozilla's `DHE-RSA-*` entries have no equivalent here; ECDHE gives the same forward secrecy.
package struct TLSCipherSuite: Sendable, Hashable {
    package enum KeyExchange: Sendable {
        /// Ephemeral elliptic-curve Diffie-Hellman: forward secrecy.
        case ecdhe
        /// The client encrypts the secret to the certificate's RSA key: whoever gets that key later can decrypt
        /// every recorded session. No forward secrecy.
        case rsa
    }

    package enum Encryption: Sendable {
        case aesGCM, chaCha20Poly1305
        /// MAC-then-encrypt CBC with HMAC-SHA1: the padding-oracle family (Lucky13) that scanners flag.
        case aesCBC
    }

    /// Which certificate key the suite needs.
    package enum Authentication: String, Sendable {
        case ecdsa = "ECDSA"
        case rsa = "RSA"
    }

    /// OpenSSL's name, as nginx, Mosquitto, `openssl ciphers` and testssl.sh write it: `ECDHE-RSA-AES128-GCM-SHA256`.
    package let name: String
    /// The IANA name (RFC 5246 and later): `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    package let standardName: String
    /// The code point, in swift-nio-ssl's type.
    package let value: NIOTLSCipher
    package let keyExchange: KeyExchange
    package let encryption: Encryption
    package let authentication: Authentication

    package var isForwardSecret: Bool { self.keyExchange == .ecdhe }
    package var isAEAD: Bool { self.encryption != .aesCBC }

    /// Why `old` is needed for this suite, or `nil` if `intermediate` allows it.
    package var weakness: String? {
        switch (self.isForwardSecret, self.isAEAD) {
        case (true, true): nil
        case (true, false): "is a CBC suite (not AEAD)"
        case (false, true): "uses RSA key exchange (no forward secrecy)"
        case (false, false): "uses RSA key exchange (no forward secrecy) and CBC (not AEAD)"
        }
    }
}

extension TLSCipherSuite {
    /// Mozilla's "intermediate" TLS 1.2 suites, in Mozilla's order: ECDHE key exchange, AEAD encryption.
    package static let intermediate: [TLSCipherSuite] = [
        .init(
            "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            .ecdhe, .aesGCM, .ecdsa),
        .init(
            "ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            .ecdhe, .aesGCM, .rsa),
        .init(
            "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            .ecdhe, .aesGCM, .ecdsa),
        .init(
            "ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            .ecdhe, .aesGCM, .rsa),
        .init(
            "ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .ecdhe, .chaCha20Poly1305, .ecdsa),
        .init(
            "ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, .ecdhe, .chaCha20Poly1305, .rsa),
    ]

    /// What `old` adds after the intermediate suites, in Mozilla's order: CBC with forward secrecy first, then RSA
    /// key exchange.
    package static let legacy: [TLSCipherSuite] = [
        .init(
            "ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
            .ecdhe, .aesCBC, .ecdsa),
        .init("ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, .ecdhe, .aesCBC, .rsa),
        .init(
            "ECDHE-ECDSA-AES256-SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
            .ecdhe, .aesCBC, .ecdsa),
        .init("ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, .ecdhe, .aesCBC, .rsa),
        .init("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", .TLS_RSA_WITH_AES_128_GCM_SHA256, .rsa, .aesGCM, .rsa),
        .init("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384", .TLS_RSA_WITH_AES_256_GCM_SHA384, .rsa, .aesGCM, .rsa),
        .init("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA", .TLS_RSA_WITH_AES_128_CBC_SHA, .rsa, .aesCBC, .rsa),
        .init("AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", .TLS_RSA_WITH_AES_256_CBC_SHA, .rsa, .aesCBC, .rsa),
    ]

    /// Every suite the bridge knows, intermediate ones first.
    package static let all = intermediate + legacy

    /// The TLS 1.3 suites (OpenSSL and IANA use the same names). Not configurable: BoringSSL always offers these three,
    /// all AEAD with forward secrecy.
    package static let tls13Names = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    /// The suite called `name` (OpenSSL or IANA spelling, any case).
    package static func named(_ name: String) -> TLSCipherSuite? {
        let wanted = name.uppercased()
        return all.first { $0.name == wanted || $0.standardName == wanted }
    }

    private init(
        _ name: String, _ standardName: String, _ value: NIOTLSCipher, _ keyExchange: KeyExchange, _ encryption: Encryption,
        _ authentication: Authentication
    ) {
        self.name = name
        self.standardName = standardName
        self.value = value
        self.keyExchange = keyExchange
        self.encryption = encryption
        self.authentication = authentication
    }
}
