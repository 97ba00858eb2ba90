import Foundation
import JWTKit

/// A JWKS file (RFC 7517 §5): `{"keys": [...]}`, read into key materials.
///
/// Each key becomes a jwt-kit key built from its parameters (`n`/`e`, `crv`/`x`/`y`). The JWK's `alg`, when given,
/// is the only algorithm it accepts and must fit its type; without `alg` the key accepts what its type allows
/// (all RSA algorithms for an RSA key). jwt-kit's own JWK signer is not used: for a key without `alg` it would
/// take the algorithm from the first token's header and keep it, so one crafted token could lock the key to the
/// wrong algorithm for every later token.
enum JWKSDocument {
    private struct Document: Decodable {
        let keys: [Key]
    }

    /// The fields this reader looks at; others (`x5c`, `key_ops`, …) are ignored.
    private struct Key: Decodable {
        let kty: String?
        let use: String?
        let kid: String?
        let alg: String?
        let crv: String?
        let n: String?
        let e: String?
        let x: String?
        let y: String?
        let d: String?
    }

    static func parse(_ contents: [UInt8], file: KeyFile) throws(KeyLoadError) -> [KeyMaterial] {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(contents))
        } catch {
            throw KeyLoadError(file.path, "not a JWKS document ({\"keys\": [...]}): \(Self.describe(error))")
        }
        // Encryption keys may share a published set with signing keys; they never sign tokens.
        let signingKeys = document.keys.enumerated().filter { $0.element.use != "enc" }
        guard !signingKeys.isEmpty else {
            throw KeyLoadError(file.path, "the JWKS holds no signing keys")
        }
        var materials: [KeyMaterial] = []
        for (index, key) in signingKeys {
            let name = key.kid.map { "key '\($0)'" } ?? "keys[\(index)]"
            guard let kid = key.kid ?? (signingKeys.count == 1 ? file.defaultKeyID : nil), !kid.isEmpty else {
                throw KeyLoadError(file.path, "\(name) has no kid (needed when a JWKS holds several keys)")
            }
            if key.d != nil {
                throw KeyLoadError(file.path, "\(name) is a private key; publish only the public parts")
            }
            let material = try Self.material(key, kid: kid, name: name, file: file)
            if let alg = key.alg {
                guard material.algorithms.contains(alg) else {
                    throw KeyLoadError(file.path, "\(name): alg \(alg) does not fit a key of type \(key.kty ?? "?") \(key.crv ?? "")")
                }
                materials.append(KeyMaterial(keyID: kid, key: material.key, algorithms: [alg]))
            } else {
                materials.append(material)
            }
        }
        return materials
    }

    private static func material(_ key: Key, kid: String, name: String, file: KeyFile) throws(KeyLoadError) -> KeyMaterial {
        do {
            switch (key.kty, key.crv) {
            case ("RSA", _):
                guard let n = key.n, let e = key.e else { throw KeyLoadError(file.path, "\(name): an RSA key needs n and e") }
                let rsa = try JWTKit.Insecure.RSA.PublicKey(modulus: n, exponent: e)
                return KeyMaterial(keyID: kid, key: .rsa(rsa))
            case ("EC", let curve?):
                guard let x = key.x, let y = key.y else { throw KeyLoadError(file.path, "\(name): an EC key needs x and y") }
                switch curve {
                case "P-256": return KeyMaterial(keyID: kid, key: .p256(try ES256PublicKey(parameters: (x, y))))
                case "P-384": return KeyMaterial(keyID: kid, key: .p384(try ES384PublicKey(parameters: (x, y))))
                case "P-521": return KeyMaterial(keyID: kid, key: .p521(try ES512PublicKey(parameters: (x, y))))
                default: throw KeyLoadError(file.path, "\(name): unsupported curve \(curve) (use P-256, P-384 or P-521)")
                }
            case ("OKP", "Ed25519"):
                guard let x = key.x else { throw KeyLoadError(file.path, "\(name): an Ed25519 key needs x") }
                return KeyMaterial(keyID: kid, key: .ed25519(try EdDSA.PublicKey(x: x, curve: .ed25519)))
            case ("oct", _):
                throw KeyLoadError(file.path, "\(name) is a symmetric (oct) key; put an HMAC secret in auth.jwt.secret_file")
            default:
                throw KeyLoadError(file.path, "\(name): unsupported key type \(key.kty ?? "(none)") \(key.crv ?? "")")
            }
        } catch let error as KeyLoadError {
            throw error
        } catch {
            throw KeyLoadError(file.path, "\(name) could not be read (\(error))")
        }
    }

    /// JSONDecoder's errors, shortened to what helps: the path and the problem.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted: "not valid JSON"
        default: "\(error)"
        }
    }
}
