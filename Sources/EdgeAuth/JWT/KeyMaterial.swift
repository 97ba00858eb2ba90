import Crypto
import CryptoExtras
import Foundation
import JWTKit
import SwiftASN1
import X509

/// A public key or secret read from a key file, before jwt-kit turns it into verifiers.
struct KeyMaterial: Sendable {
    enum Key: Sendable {
        case rsa(JWTKit.Insecure.RSA.PublicKey)
        case p256(ES256PublicKey)
        case p384(ES384PublicKey)
        case p521(ES512PublicKey)
        case ed25519(EdDSA.PublicKey)
        case hmac([UInt8])
    }

    let keyID: String
    let key: Key
    /// The JWS algorithms this key accepts: those its type allows, narrowed by a JWK's own `alg`.
    let algorithms: [String]

    static let rsaAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]

    /// The algorithms a key of this type can verify. HMAC: RFC 7518 §3.2 wants a key at least as long as the hash.
    static func algorithms(for key: Key) -> [String] {
        switch key {
        case .rsa: Self.rsaAlgorithms
        case .p256: ["ES256"]
        case .p384: ["ES384"]
        case .p521: ["ES512"]
        case .ed25519: ["EdDSA"]
        case .hmac(let secret): [("HS256", 32), ("HS384", 48), ("HS512", 64)].filter { secret.count >= $0.1 }.map(\.0)
        }
    }

    /// The shortest HMAC secret accepted (HS256's hash length).
    static let minimumSecretLength = 32

    // MARK: - Parsing file contents

    /// The keys in a public-key file: a PEM key or certificate, or a JWKS document.
    static func parsePublicKeys(_ contents: [UInt8], file: KeyFile) throws(KeyLoadError) -> [KeyMaterial] {
        let text = String(decoding: contents, as: UTF8.self)
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.hasPrefix("{") {
            return try JWKSDocument.parse(contents, file: file)
        }
        guard trimmed.hasPrefix("-----BEGIN") else {
            throw KeyLoadError(file.path, "neither a PEM public key nor a JWKS document")
        }
        return [try Self.parsePEM(text, keyID: file.defaultKeyID, file: file)]
    }

    /// One PEM `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE` (the first of a chain; its validity dates are not
    /// checked, it only carries the key). Private keys are refused: they do not belong on the bridge.
    static func parsePEM(_ text: String, keyID: String, file: KeyFile) throws(KeyLoadError) -> KeyMaterial {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw KeyLoadError(file.path, "not valid PEM (\(error))")
        }
        guard let first = documents.first else { throw KeyLoadError(file.path, "no PEM block found") }
        if documents.contains(where: { $0.discriminator.contains("PRIVATE KEY") }) {
            throw KeyLoadError(file.path, "holds a private key; give the bridge the public key only (openssl pkey -pubout)")
        }
        if documents.count > 1 && !documents.allSatisfy({ $0.discriminator == "CERTIFICATE" }) {
            throw KeyLoadError(file.path, "holds \(documents.count) PEM blocks; put one key in each file, or several in a JWKS file")
        }
        let publicKey: Certificate.PublicKey
        do {
            switch first.discriminator {
            case "PUBLIC KEY":
                publicKey = try Certificate.PublicKey(pemDocument: first)
            case "CERTIFICATE":
                publicKey = try Certificate(pemDocument: first).publicKey
            case "RSA PUBLIC KEY":
                publicKey = Certificate.PublicKey(try _RSA.Signing.PublicKey(pemRepresentation: text))
            default:
                throw KeyLoadError(file.path, "a PEM '\(first.discriminator)' block is not a public key or certificate")
            }
        } catch let error as KeyLoadError {
            throw error
        } catch {
            // swift-certificates refuses RSA keys under 2048 bits without saying so; name the real problem.
            if let weak = try? _RSA.Signing.PublicKey(unsafePEMRepresentation: text), weak.keySizeInBits < Self.minimumRSAKeySize {
                throw Self.weakRSA(weak.keySizeInBits, file: file)
            }
            throw KeyLoadError(file.path, Self.explain(error, what: "the public key"))
        }
        return try Self.material(publicKey, keyID: keyID, file: file)
    }

    /// A swift-certificates public key as the jwt-kit key of the same type (through its PEM form, jwt-kit's public way in).
    private static func material(_ publicKey: Certificate.PublicKey, keyID: String, file: KeyFile) throws(KeyLoadError) -> KeyMaterial {
        do {
            let pem = try publicKey.serializeAsPEM().pemString
            if P256.Signing.PublicKey(publicKey) != nil {
                return KeyMaterial(keyID: keyID, key: .p256(try ES256PublicKey(pem: pem)))
            } else if P384.Signing.PublicKey(publicKey) != nil {
                return KeyMaterial(keyID: keyID, key: .p384(try ES384PublicKey(pem: pem)))
            } else if P521.Signing.PublicKey(publicKey) != nil {
                return KeyMaterial(keyID: keyID, key: .p521(try ES512PublicKey(pem: pem)))
            } else if Curve25519.Signing.PublicKey(publicKey) != nil {
                return KeyMaterial(keyID: keyID, key: .ed25519(try EdDSA.PublicKey(pem: pem)))
            } else if let rsa = _RSA.Signing.PublicKey(publicKey) {
                // jwt-kit refuses these too, with an error type it does not export.
                guard rsa.keySizeInBits >= Self.minimumRSAKeySize else { throw Self.weakRSA(rsa.keySizeInBits, file: file) }
                return KeyMaterial(keyID: keyID, key: .rsa(try JWTKit.Insecure.RSA.PublicKey(pem: pem)))
            } else {
                throw KeyLoadError(file.path, "unsupported key type (use RSA, P-256, P-384, P-521 or Ed25519)")
            }
        } catch let error as KeyLoadError {
            throw error
        } catch {
            throw KeyLoadError(file.path, Self.explain(error, what: "the public key"))
        }
    }

    /// An HMAC secret file: its bytes, without one trailing newline.
    static func parseSecret(_ contents: [UInt8], file: KeyFile) throws(KeyLoadError) -> [KeyMaterial] {
        var secret = contents
        if secret.last == UInt8(ascii: "\n") { secret.removeLast() }
        if secret.last == UInt8(ascii: "\r") { secret.removeLast() }
        if String(decoding: secret.prefix(64), as: UTF8.self).contains("-----BEGIN") {
            throw KeyLoadError(file.path, "holds a PEM block; public keys go in auth.jwt.keys, the secret file holds an HMAC secret")
        }
        guard secret.count >= Self.minimumSecretLength else {
            throw KeyLoadError(
                file.path,
                "the HMAC secret is \(secret.count) bytes; use at least \(Self.minimumSecretLength) (e.g. openssl rand -base64 48)")
        }
        return [KeyMaterial(keyID: file.defaultKeyID, key: .hmac(secret))]
    }

    init(keyID: String, key: Key, algorithms: [String]? = nil) {
        self.keyID = keyID
        self.key = key
        self.algorithms = algorithms ?? Self.algorithms(for: key)
    }

    /// jwt-kit's own floor for RSA keys.
    static let minimumRSAKeySize = 2048

    private static func weakRSA(_ bits: Int, file: KeyFile) -> KeyLoadError {
        KeyLoadError(file.path, "the RSA key has \(bits) bits; at least \(Self.minimumRSAKeySize) are required")
    }

    /// A library error as part of a reason.
    static func explain(_ error: any Error, what: String) -> String {
        "\(what) could not be read (\(error))"
    }

    // MARK: - jwt-kit verifiers

    /// jwt-kit's verifier for each accepted algorithm. jwt-kit builds them only inside its `JWTKeyCollection`
    /// actor, so this is async; it runs once per load, never per token.
    func verificationKey(file: String) async throws(KeyLoadError) -> VerificationKey {
        let collection = JWTKeyCollection()
        var verifiers: [String: any JWTAlgorithm] = [:]
        do {
            for algorithm in self.algorithms {
                let kid = JWKIdentifier(string: algorithm)
                switch (self.key, algorithm) {
                case (.rsa(let key), _) where algorithm.hasPrefix("PS"):
                    await collection.add(pss: key, digestAlgorithm: Self.digest(algorithm), kid: kid)
                case (.rsa(let key), _):
                    await collection.add(rsa: key, digestAlgorithm: Self.digest(algorithm), kid: kid)
                case (.p256(let key), _):
                    await collection.add(ecdsa: key, kid: kid)
                case (.p384(let key), _):
                    await collection.add(ecdsa: key, kid: kid)
                case (.p521(let key), _):
                    await collection.add(ecdsa: key, kid: kid)
                case (.ed25519(let key), _):
                    await collection.add(eddsa: key, kid: kid)
                case (.hmac(let secret), _):
                    await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: Self.digest(algorithm), kid: kid)
                }
                let verifier = try await collection.getKey(for: kid)
                // jwt-kit names its algorithms itself; a mismatch would mean this table is wrong.
                guard verifier.name == algorithm else {
                    throw KeyLoadError(file, "key '\(self.keyID)': jwt-kit built \(verifier.name) for \(algorithm)")
                }
                verifiers[algorithm] = verifier
            }
        } catch let error as KeyLoadError {
            throw error
        } catch {
            throw KeyLoadError(file, Self.explain(error, what: "key '\(self.keyID)'"))
        }
        return VerificationKey(keyID: self.keyID, file: file, algorithms: verifiers)
    }

    private static func digest(_ algorithm: String) -> DigestAlgorithm {
        switch algorithm.suffix(3) {
        case "384": .sha384
        case "512": .sha512
        default: .sha256
        }
    }
}

/// Why a key file was refused: the file and the reason, for the start-up error and the reload report.
struct KeyLoadError: Error, Sendable, Hashable, CustomStringConvertible {
    let file: String
    let reason: String

    init(_ file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }

    var description: String { "\(self.file): \(self.reason)" }
}
