import Crypto
import CryptoExtras
import Foundation
import Testing
import X509

@testable import EdgeAuth

/// Key files: what is accepted (PEM, certificate, JWKS, secret), what is refused and why, and reloading.
@Suite("Key files and reload")
struct KeyFileTests {
    let keys = TestKeys()

    /// The start-up problems for these settings (empty when they load).
    func problems(_ settings: JWTVerifierSettings) async -> [String] {
        do {
            _ = try await TokenVerifier.make(settings)
            return []
        } catch let error as EdgeAuthError {
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test("JWKS files: EC with alg, RSA without alg (all RSA algorithms), kids from the set; encryption keys skipped")
    func jwks() async throws {
        try await KeyDirectory.with { directory in
            var encryptionKey = try TestKeys.jwk(TestKeys.rsa.publicKey, kid: "enc")
            encryptionKey["use"] = .string("enc")
            let file = try directory.write(
                "jwks.json",
                try TestKeys.jwks([
                    TestKeys.jwk(keys.ec.publicKey, kid: "2026-05"), try TestKeys.jwk(TestKeys.rsa.publicKey, kid: "rsa-1"), encryptionKey,
                ]))
            let verifier = try await TokenVerifier.make(JWTVerifierSettings(keyFiles: [file]))
            #expect(verifier.keyIDs == ["2026-05", "rsa-1"])
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "2026-05", claims: TestKeys.claims())) == nil)
            #expect(verifier.refusal(try TestKeys.token(.rs256(keys.rsa), kid: "rsa-1", claims: TestKeys.claims())) == nil)
            #expect(verifier.refusal(try TestKeys.token(.ps256(keys.rsa), kid: "rsa-1", claims: TestKeys.claims())) == nil)
            #expect(verifier.refusal(try TestKeys.token(.rs256(keys.rsa), kid: "enc", claims: TestKeys.claims())) == .unknownKey)
        }
    }

    @Test("A JWK's alg narrows what it accepts: an RS256 key refuses PS256 tokens, before and after other tokens")
    func jwkAlgorithmIsFixed() async throws {
        try await KeyDirectory.with { directory in
            var rsa = try TestKeys.jwk(TestKeys.rsa.publicKey, kid: "rsa")
            rsa["alg"] = .string("RS256")
            let verifier = try await TokenVerifier.make(
                JWTVerifierSettings(keyFiles: [try directory.write("jwks.json", try TestKeys.jwks([rsa]))]))
            // jwt-kit's own JWK signer would adopt the first token's alg; here the first token changes nothing.
            #expect(verifier.refusal(try TestKeys.token(.ps256(keys.rsa), kid: "rsa", claims: TestKeys.claims())) == .algorithmNotAccepted)
            #expect(verifier.refusal(try TestKeys.token(.rs256(keys.rsa), kid: "rsa", claims: TestKeys.claims())) == nil)
        }
    }

    @Test("A certificate's public key is used; an RSA PUBLIC KEY (PKCS#1) is read")
    func certificateAndPKCS1() async throws {
        try await KeyDirectory.with { directory in
            let pkcs1 = try directory.write("pkcs1.pem", TestKeys.rsa.publicKey.pkcs1PEMRepresentation)
            let name = try DistinguishedName { CommonName("issuer.example.com") }
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(keys.ec.publicKey), notValidBefore: Date(),
                notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: Certificate.Extensions {}, issuerPrivateKey: .init(keys.ec))
            let certificateFile = try directory.write("issuer.crt", try certificate.serializeAsPEM().pemString)
            let verifier = try await TokenVerifier.make(JWTVerifierSettings(keyFiles: [pkcs1, certificateFile]))
            #expect(verifier.keyIDs == ["pkcs1", "issuer"])
            #expect(verifier.refusal(try TestKeys.token(.rs256(keys.rsa), kid: "pkcs1", claims: TestKeys.claims())) == nil)
            #expect(verifier.refusal(try TestKeys.token(.es256(keys.ec), kid: "issuer", claims: TestKeys.claims())) == nil)
        }
    }

    @Test("Refused at start, naming the file and the reason")
    func refusedFiles() async throws {
        try await KeyDirectory.with { directory in
            let weakRSA = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
            let cases: [(String, String, String)] = [
                ("private.pem", keys.ec.pemRepresentation, "private key"),
                ("weak.pem", weakRSA.publicKey.pemRepresentation, "1024 bits"),
                ("notes.txt", "hello", "neither a PEM public key nor a JWKS document"),
                ("broken.json", "{\"keys\": [", "not a JWKS document"),
                ("oct.json", #"{"keys": [{"kty": "oct", "kid": "s", "k": "AAAA"}]}"#, "symmetric (oct) key"),
                (
                    "privjwk.json",
                    try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "x").merging(["d": .string("AAAA")]) { _, new in new }]),
                    "private key"
                ),
                ("badalg.json", try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "x", alg: "RS256")]), "does not fit"),
                ("two.pem", keys.ecPEM + keys.edPEM, "2 PEM blocks"),
                ("empty.pem", "", "empty"),
            ]
            for (name, contents, reason) in cases {
                let file = try directory.write(name, contents)
                let found = await self.problems(JWTVerifierSettings(keyFiles: [file]))
                #expect(
                    found.count == 1 && found[0].hasPrefix("auth.jwt.keys: \(file): ") && found[0].contains(reason), "\(name): \(found)")
            }
            let missing = await self.problems(JWTVerifierSettings(keyFiles: [directory.path + "/missing.pem"]))
            #expect(missing == ["auth.jwt.keys: \(directory.path)/missing.pem: file does not exist"])

            let short = try directory.write("short.secret", "too short")
            #expect(await self.problems(JWTVerifierSettings(secretFile: short)).first?.contains("at least 32") == true)
            let pemSecret = try directory.write("pem.secret", keys.rsaPEM)
            #expect(await self.problems(JWTVerifierSettings(secretFile: pemSecret)).first?.contains("holds a PEM block") == true)

            let one = try directory.write("dup.pem", keys.ecPEM)
            let sub = directory.path + "/sub"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let other = try directory.write("sub/dup.pem", keys.edPEM)
            #expect(
                await self.problems(JWTVerifierSettings(keyFiles: [one, other])).first?.contains("kid 'dup' is also in \(one)") == true)
            #expect(
                await self.problems(JWTVerifierSettings()) == [
                    "auth.jwt: needs keys or secret_file: without a key no token can be verified"
                ])
        }
    }

    @Test("Rotation through a JWKS file and reload(): add the new kid, then drop the old one")
    func rotation() async throws {
        try await KeyDirectory.with { directory in
            let old = P256.Signing.PrivateKey()
            let new = P256.Signing.PrivateKey()
            let file = try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(old.publicKey, kid: "old")]))
            let verifier = try await TokenVerifier.make(JWTVerifierSettings(keyFiles: [file]))
            let oldToken = try TestKeys.token(.es256(old), kid: "old", claims: TestKeys.claims())
            let newToken = try TestKeys.token(.es256(new), kid: "new", claims: TestKeys.claims())
            #expect(verifier.refusal(oldToken) == nil)
            #expect(verifier.refusal(newToken) == .unknownKey)

            try directory.write(
                "jwks.json", try TestKeys.jwks([TestKeys.jwk(old.publicKey, kid: "old"), TestKeys.jwk(new.publicKey, kid: "new")]))
            let added = await verifier.reload()
            #expect(added.outcome(file: file) == .loaded(keyIDs: ["old", "new"], previousKeyIDs: ["old"]))
            #expect(verifier.refusal(oldToken) == nil)
            #expect(verifier.refusal(newToken) == nil)

            let unchanged = await verifier.reload()
            #expect(unchanged.outcome(file: file) == .unchanged(keyIDs: ["old", "new"]))

            try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(new.publicKey, kid: "new")]))
            #expect(await verifier.reload().isSuccess)
            #expect(verifier.refusal(oldToken) == .unknownKey)
            #expect(verifier.refusal(newToken) == nil)
        }
    }

    @Test("A bad or missing file on reload is refused with the file and the reason; the old keys stay, other files reload")
    func badReloadKeepsOldKeys() async throws {
        try await KeyDirectory.with { directory in
            let jwks = try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "ec")]))
            let pem = try directory.write("ed.pem", keys.edPEM)
            let verifier = try await TokenVerifier.make(JWTVerifierSettings(keyFiles: [jwks, pem]))
            let ecToken = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims())

            try directory.write("jwks.json", "{\"keys\": [{\"kty\": \"EC\"")
            let newEd = Curve25519.Signing.PrivateKey()
            try directory.write("ed.pem", newEd.publicKey.pemRepresentation)
            let report = await verifier.reload()
            #expect(!report.isSuccess)
            guard case .refused(let reason, let kept) = report.outcome(file: jwks) else {
                Issue.record("expected a refusal: \(report)")
                return
            }
            #expect(reason.contains("not a JWKS document") && kept == ["ec"])
            #expect(report.description.contains("\(jwks): refused, keeping ec: not a JWKS document"))
            #expect(report.outcome(file: pem) == .loaded(keyIDs: ["ed"], previousKeyIDs: ["ed"]))
            #expect(verifier.refusal(ecToken) == nil)
            #expect(verifier.refusal(try TestKeys.token(.eddsa(newEd), kid: "ed", claims: TestKeys.claims())) == nil)
            #expect(verifier.refusal(try TestKeys.token(.eddsa(keys.ed), kid: "ed", claims: TestKeys.claims())) == .badSignature)

            try directory.remove("jwks.json")
            #expect(await verifier.reload().outcome(file: jwks) == .refused(reason: "file does not exist", keptKeyIDs: ["ec"]))
            #expect(verifier.refusal(ecToken) == nil)

            // A new key may not take a kid another file already has.
            try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "ed")]))
            guard case .refused(let duplicate, _) = await verifier.reload().outcome(file: jwks) else {
                Issue.record("a duplicate kid was accepted")
                return
            }
            #expect(duplicate.contains("kid 'ed' is also in \(pem)"))
        }
    }

    @Test("A timer reload reports only changes, and a refusal once")
    func timerReload() async throws {
        try await KeyDirectory.with { directory in
            let file = try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "a")]))
            let verifier = try await TokenVerifier.make(JWTVerifierSettings(keyFiles: [file], reloadInterval: .seconds(1)))
            #expect(await verifier.reload(trigger: .timer).entries.isEmpty)
            try directory.write("jwks.json", "garbage")
            #expect(await verifier.reload(trigger: .timer).refused.count == 1)
            #expect(await verifier.reload(trigger: .timer).entries.isEmpty)
            try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "b")]))
            #expect(await verifier.reload(trigger: .timer).outcome(file: file) == .loaded(keyIDs: ["b"], previousKeyIDs: ["a"]))
        }
    }

    @Test("Concurrent reloads run one after the other and end with the file's last contents")
    func concurrentReloads() async throws {
        try await KeyDirectory.with { directory in
            let file = try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "a")]))
            let verifier = try await TokenVerifier.make(JWTVerifierSettings(keyFiles: [file]))
            try directory.write("jwks.json", try TestKeys.jwks([TestKeys.jwk(keys.ec.publicKey, kid: "b")]))
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { await verifier.reload() } }
            }
            #expect(verifier.keyIDs == ["b"])
        }
    }
}
