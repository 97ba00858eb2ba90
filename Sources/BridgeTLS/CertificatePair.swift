import Crypto
import Foundation
import NIOSSL
import SettingsSupport
import X509

/// A certificate chain and private key that passed every check and can be served: the files parse, the key belongs
/// to the certificate, and the certificate is valid now. Immutable; a reload makes a new one.
///
/// The checks exist because BoringSSL would take a mismatched or expired pair without complaint and every client
/// handshake would then fail; refusing it at load time keeps the previous pair in service instead.
struct CertificatePair: Sendable {
    /// Leaf first, then the rest of the certificate file, then the chain file.
    let chain: [NIOSSLCertificate]
    let privateKey: NIOSSLPrivateKey
    /// The leaf's serial number in upper-case hex, as `openssl x509 -noout -serial` prints it.
    let serial: String
    let notValidBefore: Date
    let notValidAfter: Date
    /// The leaf's DNS subject alternative names (wildcards included), lower-cased.
    let dnsNames: [String]
    /// `CertificateFileContents.digest` of the files it was made from.
    let digest: [UInt8]
    /// The TLS 1.2 suites that can use it: ECDSA suites for an EC (or Ed25519) key, RSA suites for an RSA key.
    let authentication: TLSCipherSuite.Authentication

    /// What a handshake's `sslContextCallback` applies to the connection.
    var override: NIOSSLContextConfigurationOverride {
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = self.chain.map { .certificate($0) }
        override.privateKey = .privateKey(self.privateKey)
        return override
    }

    /// Parses and checks `contents`. `now` decides "expired" and "not yet valid".
    init(_ contents: CertificateFileContents, source: CertificateSource, now: Date) throws(CertificateLoadError) {
        let certificateKey = "\(source.keyPrefix).certificate"
        let keyKey = "\(source.keyPrefix).key"
        let certificatePath = source.certificatePath
        let keyPath = source.keyPath

        var chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(contents.certificate)
        } catch {
            throw CertificateLoadError(key: certificateKey, file: certificatePath, "'\(certificatePath)' is not a readable PEM certificate")
        }
        guard let leafHandle = chain.first else {
            throw CertificateLoadError(key: certificateKey, file: certificatePath, "'\(certificatePath)' contains no PEM certificate")
        }
        if let chainPath = source.chainPath, let chainBytes = contents.chain {
            let chainKey = "\(source.keyPrefix).chain"
            do {
                let intermediates = try NIOSSLCertificate.fromPEMBytes(chainBytes)
                guard !intermediates.isEmpty else {
                    throw CertificateLoadError(key: chainKey, file: chainPath, "'\(chainPath)' contains no PEM certificate")
                }
                chain += intermediates
            } catch let error as CertificateLoadError {
                throw error
            } catch {
                throw CertificateLoadError(key: chainKey, file: chainPath, "'\(chainPath)' is not a readable PEM certificate chain")
            }
        }

        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: contents.key, format: .pem)
        } catch {
            throw CertificateLoadError(
                key: keyKey, file: keyPath, "'\(keyPath)' is not a readable PEM private key (wrong format, or encrypted)")
        }

        // swift-certificates reads what BoringSSL keeps opaque: validity, names, and the key's public half.
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: try leafHandle.toDERBytes())
        } catch {
            throw CertificateLoadError(
                key: certificateKey, file: certificatePath, "'\(certificatePath)' holds a certificate that cannot be parsed: \(error)")
        }
        if let key = try? Certificate.PrivateKey(pemEncoded: String(decoding: contents.key, as: UTF8.self)) {
            guard key.publicKey == leaf.publicKey else {
                throw CertificateLoadError(
                    key: keyKey, file: keyPath, "the private key in '\(keyPath)' does not match the certificate in '\(certificatePath)'")
            }
        } else {
            // A key type swift-certificates does not read: let BoringSSL compare the pair.
            try Self.checkWithBoringSSL(chain: chain, key: privateKey, keyKey: keyKey, keyPath: keyPath, certificatePath: certificatePath)
        }

        if now < leaf.notValidBefore {
            throw CertificateLoadError(
                key: certificateKey, file: certificatePath,
                "the certificate in '\(certificatePath)' is not valid yet (valid from \(leaf.notValidBefore.formatted(.iso8601)))")
        }
        if now >= leaf.notValidAfter {
            throw CertificateLoadError(
                key: certificateKey, file: certificatePath,
                "the certificate in '\(certificatePath)' expired on \(leaf.notValidAfter.formatted(.iso8601))")
        }

        self.chain = chain
        self.privateKey = privateKey
        self.serial = Self.hex(leafHandle.serialNumber)
        self.notValidBefore = leaf.notValidBefore
        self.notValidAfter = leaf.notValidAfter
        self.dnsNames = Self.dnsNames(of: leaf)
        self.digest = contents.digest
        self.authentication = Self.authentication(of: leaf.publicKey)
    }

    /// Upper-case hex without separators (`openssl x509 -serial` style).
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text.isEmpty ? "00" : text
    }

    /// Whether the certificate names `pattern`: an exact name is covered by the same name or by a wildcard for its
    /// parent domain; a wildcard pattern only by the same wildcard.
    func covers(_ pattern: ServerNamePattern) -> Bool {
        if pattern.isWildcard {
            return self.dnsNames.contains("*." + pattern.name)
        }
        if self.dnsNames.contains(pattern.name) { return true }
        guard let parent = ServerNamePattern.parentDomain(of: pattern.name) else { return false }
        return self.dnsNames.contains("*." + parent)
    }

    /// swift-certificates parses P-256/384/521, Ed25519 and RSA keys; BoringSSL serves the first four with ECDSA suites.
    private static func authentication(of key: Certificate.PublicKey) -> TLSCipherSuite.Authentication {
        let elliptic =
            P256.Signing.PublicKey(key) != nil || P384.Signing.PublicKey(key) != nil || P521.Signing.PublicKey(key) != nil
            || Curve25519.Signing.PublicKey(key) != nil
        return elliptic ? .ecdsa : .rsa
    }

    private static func dnsNames(of certificate: Certificate) -> [String] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            if case .dnsName(let dns) = name { return dns.lowercased() }
            return nil
        }
    }

    private static func checkWithBoringSSL(
        chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, keyKey: String, keyPath: String, certificatePath: String
    ) throws(CertificateLoadError) {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw CertificateLoadError(
                key: keyKey, file: keyPath,
                "the private key in '\(keyPath)' does not match the certificate in '\(certificatePath)' (\(error))")
        }
    }
}
