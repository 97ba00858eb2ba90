import Crypto
import CryptoExtras
import Foundation
import JWTKit
import Testing

@testable import EdgeAuth

/// Tokens signed in the test with keys generated in the test, against key files written in the test.
@Suite("JWT verification")
struct JWTVerificationTests {
    let keys = TestKeys()

    /// PEM keys for EC (`ec`), RSA (`rsa`) and Ed25519 (`ed`), and an HMAC secret file (`hmac`).
    func withAllKeys(
        _ configure: (inout JWTVerifierSettings) -> Void = { _ in },
        _ body: (TokenVerifier, KeyDirectory) async throws -> Void
    ) async throws {
        try await KeyDirectory.with { directory in
            var settings = JWTVerifierSettings(
                keyFiles: [
                    try directory.write("ec.pem", keys.ecPEM), try directory.write("rsa.pem", keys.rsaPEM),
                    try directory.write("ed.pem", keys.edPEM),
                ],
                secretFile: try directory.write("hmac.secret", String(decoding: keys.secret, as: UTF8.self) + "\n"))
            configure(&settings)
            try await body(try await TokenVerifier.make(settings), directory)
        }
    }

    @Test("Valid ES256, RS256, PS256, EdDSA and HS256 tokens verify; the identity carries sub, claims and exp")
    func validTokens() async throws {
        try await withAllKeys { verifier, _ in
            #expect(verifier.keyIDs == ["ec", "rsa", "ed", "hmac"])
            let claims = TestKeys.claims(extra: ["tenant": .string("acme"), "uid": .integer(42)])
            let signers: [(TestKeys.Signer, String)] = [
                (.es256(keys.ec), "ec"), (.rs256(keys.rsa), "rsa"), (.ps256(keys.rsa), "rsa"), (.eddsa(keys.ed), "ed"),
                (.hs256(keys.secret), "hmac"),
            ]
            for (signer, kid) in signers {
                for kidInHeader in [kid, nil] {
                    let token = try TestKeys.token(signer, kid: kidInHeader, claims: claims)
                    let identity = try verifier.verify(token, source: .query).get()
                    #expect(identity.method == .jwt)
                    #expect(identity.subject == "user-42")
                    #expect(identity.claims["tenant"] == .string("acme"))
                    #expect(identity.claims["uid"] == .integer(42))
                    #expect(identity.source == .query)
                    if case .integer(let exp) = claims["exp"] {
                        #expect(identity.expiresAt == Date(timeIntervalSince1970: TimeInterval(exp)))
                    }
                }
            }
        }
    }

    @Test("A token signed by jwt-kit itself verifies (interoperability with the library's own signer)")
    func jwtKitSignedToken() async throws {
        struct Payload: JWTPayload {
            var sub: SubjectClaim
            var exp: ExpirationClaim
            func verify(using algorithm: some JWTAlgorithm) throws {}
        }
        try await withAllKeys { verifier, _ in
            let signer = JWTKeyCollection()
            await signer.add(ecdsa: try ES256PrivateKey(pem: keys.ec.pemRepresentation), kid: "ec")
            let token = try await signer.sign(Payload(sub: "jwt-kit", exp: .init(value: Date().addingTimeInterval(60))), kid: "ec")
            #expect(try verifier.verify(token).get().subject == "jwt-kit")
        }
    }

    @Test("exp and nbf are checked with the leeway")
    func timeClaims() async throws {
        try await withAllKeys { verifier, _ in
            let now = Date()
            func token(exp: TimeInterval? = nil, nbf: TimeInterval? = nil) throws -> String {
                var claims: [String: ClaimValue] = ["sub": .string("u")]
                if let exp { claims["exp"] = .integer(Int64(now.timeIntervalSince1970 + exp)) }
                if let nbf { claims["nbf"] = .integer(Int64(now.timeIntervalSince1970 + nbf)) }
                return try TestKeys.token(.es256(keys.ec), kid: "ec", claims: claims)
            }
            #expect(verifier.refusal(try token(exp: -60), now: now) == .expired)
            #expect(verifier.refusal(try token(exp: -10), now: now) == nil)  // within the 30 s leeway
            #expect(verifier.refusal(try token(exp: 60, nbf: 120), now: now) == .notYetValid)
            #expect(verifier.refusal(try token(exp: 60, nbf: 10), now: now) == nil)
            if case .failure(let failure) = verifier.verify(try token(exp: -60), now: now) {
                #expect(failure.wwwAuthenticate == #"Bearer error="invalid_token", error_description="token expired""#)
            }
        }
    }

    @Test("iss, aud and required claims: wrong issuer, wrong audience, missing claim")
    func claimRules() async throws {
        try await withAllKeys({ settings in
            settings.issuer = "https://auth.example.com"
            settings.audiences = ["bridge", "bridge-staging"]
            settings.requiredClaims = ["exp", "sub"]
        }) { verifier, _ in
            let good: [String: ClaimValue] = [
                "iss": .string("https://auth.example.com"), "aud": .array([.string("other"), .string("bridge")]),
            ]
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(extra: good))) == nil)
            // A single-string aud is accepted too.
            let single = good.merging(["aud": .string("bridge-staging")]) { _, new in new }
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(extra: single))) == nil)

            let wrongIssuer = good.merging(["iss": .string("https://evil.example.com")]) { _, new in new }
            #expect(
                verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(extra: wrongIssuer)))
                    == .wrongIssuer)
            let wrongAudience = good.merging(["aud": .string("another-service")]) { _, new in new }
            #expect(
                verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(extra: wrongAudience)))
                    == .wrongAudience)
            var noAudience = TestKeys.claims(extra: good)
            noAudience["aud"] = nil
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "ec", claims: noAudience)) == .wrongAudience)

            var noSubject = TestKeys.claims(extra: good)
            noSubject["sub"] = nil
            let result = verifier.verify(try TestKeys.token(.es256(keys.ec), kid: "ec", claims: noSubject))
            #expect(throws: AuthFailure(.missingClaim, "missing claim sub")) { try result.get() }
        }
    }

    @Test("A token without exp is refused by default (required_claims: [exp])")
    func expIsRequiredByDefault() async throws {
        try await withAllKeys { verifier, _ in
            let token = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: ["sub": .string("forever")])
            #expect(verifier.refusal(token) == .missingClaim)
        }
    }

    @Test("Unknown kid and wrong key are refused")
    func unknownKidAndWrongKey() async throws {
        try await withAllKeys { verifier, _ in
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "no-such-key", claims: TestKeys.claims())) == .unknownKey)
            // Signed by another P-256 key but claiming to be "ec", with and without the kid.
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.otherEC), kid: "ec", claims: TestKeys.claims())) == .badSignature)
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.otherEC), kid: nil, claims: TestKeys.claims())) == .badSignature)
            // A valid signature with its payload changed afterwards.
            let token = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(sub: "alice"))
            var parts = token.split(separator: ".").map(String.init)
            parts[1] = TestKeys.base64URL(try JSONEncoder().encode(TestKeys.claims(sub: "bob")))
            #expect(verifier.refusal(parts.joined(separator: ".")) == .badSignature)
        }
    }

    @Test("alg none is refused, whatever its spelling, with or without a signature")
    func algNone() async throws {
        try await withAllKeys { verifier, _ in
            for kid in ["ec", nil] {
                #expect(verifier.refusal(try TestKeys.token(.none, kid: kid, claims: TestKeys.claims())) == .algorithmNotAccepted)
                for spelling in ["None", "NONE", "nOnE"] {
                    let token = try TestKeys.token(.raw(alg: spelling, signature: [1, 2, 3]), kid: kid, claims: TestKeys.claims())
                    #expect(verifier.refusal(token) == .algorithmNotAccepted)
                }
            }
        }
    }

    @Test("HS256 signed with an RSA or EC public key PEM as the secret (key confusion) is refused")
    func keyConfusion() async throws {
        // Without an HMAC secret configured, HS256 is no algorithm of any key.
        try await withAllKeys({ $0.secretFile = nil }) { verifier, _ in
            for (pem, kid) in [(keys.rsaPEM, "rsa"), (keys.ecPEM, "ec")] {
                for secret in [Array(pem.utf8), Array((pem + "\n").utf8)] {
                    for kidInHeader in [kid, nil] {
                        let token = try TestKeys.token(.hs256(secret), kid: kidInHeader, claims: TestKeys.claims())
                        #expect(verifier.refusal(token) == .algorithmNotAccepted)
                    }
                }
            }
        }
        // With one, the RSA key's kid still does not accept HS256, and the real secret does not match.
        try await withAllKeys { verifier, _ in
            let token = try TestKeys.token(.hs256(Array(keys.rsaPEM.utf8)), kid: "rsa", claims: TestKeys.claims())
            #expect(verifier.refusal(token) == .algorithmNotAccepted)
            let withoutKid = try TestKeys.token(.hs256(Array(keys.rsaPEM.utf8)), kid: nil, claims: TestKeys.claims())
            #expect(verifier.refusal(withoutKid) == .badSignature)
            // ES256 against the RSA key, RS256 against the EC key.
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "rsa", claims: TestKeys.claims())) == .algorithmNotAccepted)
            #expect(verifier.refusal(try TestKeys.token(.rs256(keys.rsa), kid: "ec", claims: TestKeys.claims())) == .algorithmNotAccepted)
        }
    }

    @Test("Malformed tokens: not three parts, bad base64url, bad JSON, a claim of the wrong type, no alg, crit")
    func malformed() async throws {
        try await withAllKeys { verifier, _ in
            let valid = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims())
            let parts = valid.split(separator: ".").map(String.init)
            let notJSON = TestKeys.base64URL(Data("{not json".utf8))
            let cases: [String] = [
                "abc", parts[0] + "." + parts[1], valid + ".extra",
                "!!!" + "." + parts[1] + "." + parts[2],  // not base64url
                parts[0] + ".%%%." + parts[2],
                notJSON + "." + parts[1] + "." + parts[2],
                parts[0] + "." + notJSON + "." + parts[2],
                try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(extra: ["exp": .string("tomorrow")])),
                try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(extra: ["sub": .integer(42)])),
                TestKeys.base64URL(Data(#"{"typ":"JWT"}"#.utf8)) + "." + parts[1] + "." + parts[2],
                try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(), extraHeader: ["crit": .array([.string("b64")])]),
            ]
            for token in cases {
                #expect(verifier.refusal(token) == .malformed, "\(token)")
            }
            #expect(verifier.refusal("") == .missing)
        }
    }

    @Test("A validly signed token whose header or claims repeat a name, or are not strictly JSON, is malformed (RFC 7515 §5.2)")
    func repeatedNamesAndLooseJSON() async throws {
        try await withAllKeys { verifier, _ in
            let exp = Int(Date().timeIntervalSince1970) + 3600
            let header = #"{"alg":"ES256","kid":"ec","typ":"JWT"}"#
            let claims = #"{"sub":"user-42","exp":\#(exp),"iat":1700000000"#
            func token(_ header: String, _ claims: String) throws -> String {
                try TestKeys.token(.es256(keys.ec), headerJSON: Data(header.utf8), claimsJSON: Data(claims.utf8))
            }
            // The control: the same texts without the defect verify, so each refusal below is the defect's.
            for valid in [try token(header, claims + "}"), try token(header, claims + #","ctx":{"a":1,"b":2}}"#)] {
                #expect(verifier.refusal(valid) == nil)
            }

            let cases: [(String, String)] = [
                // JSONDecoder takes the first `sub`, JSONSerialization and most JWT libraries the last.
                (header, claims + #","sub":"admin"}"#),
                (header, #"{"sub":"admin","#.appending(claims.dropFirst()) + "}"),
                // What the jwt fuzz target found: the repeated claim's number has a leading zero, never decoded.
                (header, claims + #","iat":09000000}"#),
                (header, claims + #","ctx":{"a":1,"a":2}}"#),
                (#"{"alg":"ES256","kid":"ec","kid":"rsa","typ":"JWT"}"#, claims + "}"),
                (#"{"alg":"ES256","alg":"none","kid":"ec"}"#, claims + "}"),
                (#"{"alg":"ES256","kid":"ec","x-version":01}"#, claims + "}"),
                // Text that ends inside a name after a backslash: refused, not a crash (admin-publish fuzz target).
                (#"{"alg":"ES256","kid":"ec","a\"#, claims + "}"),
                (header, #"{"sub\"#),
            ]
            for (header, claims) in cases {
                let refused = try token(header, claims)
                #expect(verifier.refusal(refused) == .malformed, "\(header).\(claims)")
            }
        }
    }

    @Test("A 64 KiB token is refused by its size, before parsing")
    func tooLarge() async throws {
        try await withAllKeys { verifier, _ in
            let huge = try TestKeys.token(
                .es256(keys.ec), kid: "ec", claims: TestKeys.claims(extra: ["padding": .string(String(repeating: "x", count: 64 * 1024))]))
            #expect(huge.utf8.count > 64 * 1024)
            #expect(verifier.refusal(huge) == .tooLarge)
            #expect(verifier.refusal(String(repeating: "A", count: 64 * 1024)) == .tooLarge)
        }
    }

    @Test("Failures never carry the token: descriptions and WWW-Authenticate are fixed text")
    func failuresAreNotSecret() async throws {
        try await withAllKeys { verifier, _ in
            let token = try TestKeys.token(.es256(keys.otherEC), kid: "ec", claims: TestKeys.claims(sub: "secret-subject"))
            guard case .failure(let failure) = verifier.verify(token) else {
                Issue.record("forged token verified")
                return
            }
            for text in [failure.description, failure.reason, failure.wwwAuthenticate ?? "", "\(failure)"] {
                #expect(!text.contains(token) && !text.contains("secret-subject"))
            }
            let bearer = BearerToken(token, source: .header)
            var dumped = ""
            dump(bearer, to: &dumped)
            for text in ["\(bearer)", String(reflecting: bearer), dumped] {
                #expect(!text.contains(token.prefix(20)))
            }
        }
    }
}
