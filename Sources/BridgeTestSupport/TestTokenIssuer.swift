import Crypto
import Foundation

/// Signs ES256 JWTs the way a deployment's backend would, with a P-256 key made in the test process, and gives its
/// public key as the PEM or JWKS file the bridge reads (`auth.jwt.keys`).
package struct TestTokenIssuer: Sendable {
    package let kid: String
    private let key: P256.Signing.PrivateKey

    package init(kid: String = "test-key-1") {
        self.kid = kid
        self.key = P256.Signing.PrivateKey()
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`).
    package var publicKeyPEM: String { self.key.publicKey.pemRepresentation }

    /// A JWKS document with the public keys of `issuers`, each under its `kid`.
    package static func jwks(_ issuers: [TestTokenIssuer]) -> String {
        let keys = issuers.map { issuer -> String in
            let raw = issuer.key.publicKey.x963Representation
            let x = base64URL(raw[1..<33])
            let y = base64URL(raw[33..<65])
            return #"{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid":"\#(issuer.kid)","x":"\#(x)","y":"\#(y)"}"#
        }
        return #"{"keys":[\#(keys.joined(separator: ","))]}"#
    }

    /// A compact JWS with `sub`, `iat`, `exp` (`expiresIn` from now; negative: already expired), the text claims in
    /// `claims`, and `aud`/`iss` when given.
    package func token(
        sub: String, expiresIn: TimeInterval = 3600, audience: String? = nil, issuer: String? = nil, claims: [String: String] = [:]
    ) throws -> String {
        let now = Date().timeIntervalSince1970
        var payload: [String: Any] = ["sub": sub, "iat": Int(now), "exp": Int(now + expiresIn)]
        if let audience { payload["aud"] = audience }
        if let issuer { payload["iss"] = issuer }
        for (name, value) in claims { payload[name] = value }
        let header = try JSONSerialization.data(withJSONObject: ["alg": "ES256", "typ": "JWT", "kid": self.kid], options: .sortedKeys)
        let body = try JSONSerialization.data(withJSONObject: payload, options: .sortedKeys)
        let signingInput = Self.base64URL(header) + "." + Self.base64URL(body)
        let signature = try self.key.signature(for: Data(signingInput.utf8)).rawRepresentation
        return signingInput + "." + Self.base64URL(signature)
    }

    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
