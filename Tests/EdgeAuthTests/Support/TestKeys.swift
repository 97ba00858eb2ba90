import Crypto
import CryptoExtras
import EdgeAuth
import Foundation
import JWTKit

/// Signing keys generated in the test process, and tokens signed with them by swift-crypto directly (not by the
/// verifier's library), plus hand-made malicious tokens.
struct TestKeys: Sendable {
    let ec = P256.Signing.PrivateKey()
    let otherEC = P256.Signing.PrivateKey()
    let ed = Curve25519.Signing.PrivateKey()
    let secret = Array("an HMAC secret that is long enough for HS256!!".utf8)

    /// RSA key generation is slow in debug builds; one key serves every test.
    static let rsa: _RSA.Signing.PrivateKey = {
        do {
            return try _RSA.Signing.PrivateKey(keySize: .bits2048)
        } catch {
            fatalError("RSA key generation failed: \(error)")
        }
    }()

    var rsa: _RSA.Signing.PrivateKey { Self.rsa }

    // MARK: Tokens

    enum Signer {
        case es256(P256.Signing.PrivateKey)
        case rs256(_RSA.Signing.PrivateKey)
        case ps256(_RSA.Signing.PrivateKey)
        case eddsa(Curve25519.Signing.PrivateKey)
        case hs256([UInt8])
        /// `alg: none`, empty signature.
        case none
        /// Any header `alg`, the given signature bytes.
        case raw(alg: String, signature: [UInt8])

        var alg: String {
            switch self {
            case .es256: "ES256"
            case .rs256: "RS256"
            case .ps256: "PS256"
            case .eddsa: "EdDSA"
            case .hs256: "HS256"
            case .none: "none"
            case .raw(let alg, _): alg
            }
        }
    }

    /// A compact JWS: `header.payload.signature`.
    static func token(
        _ signer: Signer, kid: String?, claims: [String: ClaimValue], extraHeader: [String: ClaimValue] = [:]
    ) throws -> String {
        var header: [String: ClaimValue] = ["alg": .string(signer.alg), "typ": .string("JWT")]
        if let kid { header["kid"] = .string(kid) }
        header.merge(extraHeader) { _, new in new }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try token(signer, headerJSON: try encoder.encode(header), claimsJSON: try encoder.encode(claims))
    }

    /// A compact JWS of a header and claims given as JSON text exactly as they are to be signed.
    static func token(_ signer: Signer, headerJSON: Data, claimsJSON: Data) throws -> String {
        let signingInput = base64URL(headerJSON) + "." + base64URL(claimsJSON)
        let input = Data(signingInput.utf8)
        let signature: [UInt8]
        switch signer {
        case .es256(let key): signature = Array(try key.signature(for: input).rawRepresentation)
        case .rs256(let key): signature = Array(try key.signature(for: input, padding: .insecurePKCS1v1_5).rawRepresentation)
        case .ps256(let key): signature = Array(try key.signature(for: input, padding: .PSS).rawRepresentation)
        case .eddsa(let key): signature = Array(try key.signature(for: input))
        case .hs256(let secret): signature = Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
        case .none: signature = []
        case .raw(_, let bytes): signature = bytes
        }
        return signingInput + "." + base64URL(Data(signature))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Claims valid now: `sub`, `exp` in an hour, `iat`.
    static func claims(sub: String = "user-42", expiresIn: TimeInterval = 3600, extra: [String: ClaimValue] = [:]) -> [String: ClaimValue] {
        let now = Date().timeIntervalSince1970
        var claims: [String: ClaimValue] = [
            "sub": .string(sub), "exp": .integer(Int64(now + expiresIn)), "iat": .integer(Int64(now)),
        ]
        claims.merge(extra) { _, new in new }
        return claims
    }

    // MARK: Key files

    var ecPEM: String { self.ec.publicKey.pemRepresentation }
    var rsaPEM: String { self.rsa.publicKey.pemRepresentation }
    var edPEM: String { self.ed.publicKey.pemRepresentation }

    /// A JWKS entry for a P-256 public key.
    static func jwk(_ key: P256.Signing.PublicKey, kid: String, alg: String? = "ES256") -> [String: ClaimValue] {
        let raw = key.x963Representation
        var jwk: [String: ClaimValue] = [
            "kty": .string("EC"), "crv": .string("P-256"), "kid": .string(kid), "use": .string("sig"),
            "x": .string(base64URL(raw[1..<33])), "y": .string(base64URL(raw[33..<65])),
        ]
        if let alg { jwk["alg"] = .string(alg) }
        return jwk
    }

    /// A JWKS entry for an RSA public key (no `alg`: the key accepts the RSA algorithms).
    static func jwk(_ key: _RSA.Signing.PublicKey, kid: String) throws -> [String: ClaimValue] {
        let primitives = try JWTKit.Insecure.RSA.PublicKey(pem: key.pemRepresentation).getKeyPrimitives()
        return [
            "kty": .string("RSA"), "kid": .string(kid),
            "n": .string(base64URL(primitives.modulus)), "e": .string(base64URL(primitives.publicExponent)),
        ]
    }

    static func jwks(_ keys: [[String: ClaimValue]]) throws -> String {
        String(decoding: try JSONEncoder().encode(["keys": keys.map { ClaimValue.object($0) }]), as: UTF8.self)
    }
}

/// A directory of key files for one test, removed when the test's `with` block ends.
struct KeyDirectory {
    let path: String

    static func with<T>(_ body: (KeyDirectory) async throws -> T) async throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edge-auth-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(KeyDirectory(path: path))
    }

    /// Writes (or replaces) a file and returns its path.
    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let file = self.path + "/" + name
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        return file
    }

    func remove(_ name: String) throws {
        try FileManager.default.removeItem(atPath: self.path + "/" + name)
    }
}
