import Crypto
import CryptoExtras
import EdgeAuth
import Foundation
import Logging

/// The jwt target's fixed key set: test keys made for this harness only (never used anywhere else), so that the
/// committed seeds stay valid tokens. The harness signs with the private halves and verifies independently of
/// jwt-kit with swift-crypto; the verifier under test gets the public halves as key files, as an operator writes them.
enum FuzzKeys {
    enum Material {
        case ec(P256.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
        case ed(Curve25519.Signing.PublicKey)
        case hmac([UInt8])
    }

    struct Key {
        /// The `kid`: the key file's name without its extension.
        let id: String
        let material: Material
    }

    static let ecPrivate = load {
        try P256.Signing.PrivateKey(rawRepresentation: hex("548b7c944ee6b0988f9f85875c2ec493952e5a06bc8f5e5ac300b6f7417c8765"))
    }
    static let edPrivate = load {
        try Curve25519.Signing.PrivateKey(rawRepresentation: hex("b47d5b749562d05b66bec6f413bf2f449f8ac41c6dc59a38ac68ce203e7ab157"))
    }
    static let rsaPrivate = load { try _RSA.Signing.PrivateKey(pemRepresentation: rsaPEM) }
    static let secret = Array("fuzz-only HMAC secret, 64 bytes so that HS256/384/512 all apply!!".utf8)

    /// A key of the harness; one that does not load is a broken harness, not a finding.
    private static func load<Value>(_ make: () throws -> Value) -> Value {
        do {
            return try make()
        } catch {
            fatalError("the jwt fuzz target's test key does not load: \(error)")
        }
    }

    static let keys: [Key] = [
        Key(id: "ec", material: .ec(ecPrivate.publicKey)), Key(id: "rsa", material: .rsa(rsaPrivate.publicKey)),
        Key(id: "ed", material: .ed(edPrivate.publicKey)), Key(id: "hmac", material: .hmac(secret)),
    ]

    /// Writes the public keys and the secret to a fresh temporary directory and loads them as the bridge would.
    static func makeVerifier(issuer: String, audience: String) throws -> TokenVerifier {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let settings = JWTVerifierSettings(
            keyFiles: [
                try write("ec.pem", ecPrivate.publicKey.pemRepresentation), try write("rsa.pem", rsaPrivate.publicKey.pemRepresentation),
                try write("ed.pem", edPrivate.publicKey.pemRepresentation),
            ],
            secretFile: try write("hmac.secret", String(decoding: secret, as: UTF8.self) + "\n"),
            issuer: issuer, audiences: [audience])
        // The verifier loads its keys asynchronously; the harness has nothing else to do meanwhile.
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                outcome.result = .success(
                    try await TokenVerifier(settings: settings, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }))
            } catch {
                outcome.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        try? FileManager.default.removeItem(at: directory)
        return try outcome.result!.get()
    }

    private final class Outcome: @unchecked Sendable {
        var result: Result<TokenVerifier, any Error>?
    }

    /// `base64url(header).base64url(claims).base64url(signature)`, signed by `signer` (see `JWTFuzz`).
    static func sign(header: [UInt8], claims: [UInt8], signer: Int, flipBit: Int?) -> String {
        let input = base64URL(header) + "." + base64URL(claims)
        let data = Data(input.utf8)
        var signature: [UInt8]
        switch signer {
        case 0: signature = (try? Array(ecPrivate.signature(for: data).rawRepresentation)) ?? []
        case 1: signature = (try? Array(rsaPrivate.signature(for: data, padding: .insecurePKCS1v1_5).rawRepresentation)) ?? []
        case 2: signature = (try? Array(rsaPrivate.signature(for: data, padding: .PSS).rawRepresentation)) ?? []
        case 3: signature = (try? Array(edPrivate.signature(for: data))) ?? []
        case 4: signature = Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: secret)))
        // Algorithm confusion: HS256 keyed with the RSA public key's PEM text, which an attacker knows.
        case 5:
            signature = Array(
                HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: Data(rsaPrivate.publicKey.pemRepresentation.utf8))))
        case 6: signature = []
        default: signature = Array(SHA512.hash(data: data))
        }
        if let flipBit, !signature.isEmpty {
            signature[flipBit / 8 % signature.count] ^= 1 << (flipBit % 8)
        }
        return input + "." + base64URL(signature)
    }

    /// Whether `signature` signs `input` under `alg` with `key`, by swift-crypto alone.
    static func verify(_ signature: [UInt8], of input: [UInt8], alg: String, with key: Key) -> Bool {
        switch (key.material, alg) {
        case (.ec(let publicKey), "ES256"):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return publicKey.isValidSignature(parsed, for: input)
        case (.rsa(let publicKey), _):
            let padding: _RSA.Signing.Padding
            switch alg.prefix(2) {
            case "RS": padding = .insecurePKCS1v1_5
            case "PS": padding = .PSS
            default: return false
            }
            let parsed = _RSA.Signing.RSASignature(rawRepresentation: signature)
            switch alg.dropFirst(2) {
            case "256": return publicKey.isValidSignature(parsed, for: SHA256.hash(data: input), padding: padding)
            case "384": return publicKey.isValidSignature(parsed, for: SHA384.hash(data: input), padding: padding)
            case "512": return publicKey.isValidSignature(parsed, for: SHA512.hash(data: input), padding: padding)
            default: return false
            }
        case (.ed(let publicKey), "EdDSA"), (.ed(let publicKey), "Ed25519"):
            return publicKey.isValidSignature(signature, for: input)
        case (.hmac(let secret), "HS256"):
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: SymmetricKey(data: secret))
        case (.hmac(let secret), "HS384"):
            return HMAC<SHA384>.isValidAuthenticationCode(signature, authenticating: input, using: SymmetricKey(data: secret))
        case (.hmac(let secret), "HS512"):
            return HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: input, using: SymmetricKey(data: secret))
        default:
            return false
        }
    }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Lenient on purpose (either alphabet, padding optional): the invariants are about what was signed, not about
    /// how strictly the verifier reads base64url.
    static func base64URLDecode(_ text: some StringProtocol) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.hasSuffix("=") { standard.removeLast() }
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }

    static func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map { UInt8(text.dropFirst($0).prefix(2), radix: 16) ?? 0 }
    }

    /// A 2048-bit RSA key made with `openssl genpkey` for this harness.
    static let rsaPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCcFqPfmfk9y/8I
        AjkRlFP6JPXfTzZinnvH3Ij4t+5n02kP6SmKcnrm0j5+PMS5pbH4JVqFPFwJ1Qi8
        0lYFXw5eXJHIxf6KwwIFx8JAx2RzoGK41Te0nIPYgYOfabB7o1pxSEWtQawVdITB
        S2VfmawIkyLX6UtxTD/WspKG2a/2TCex4pUUT3u4EJcqRlVUGXlMpV4Mk+NptH0n
        2PLydvYgl1ZDJlsU8pkm9U+uRZ2Jlu0gRwie3d+ARQ2zLWZJLqfaSMKm5FQ6nPCI
        XpMh6Dx0mVyIsEJPx29h14Cgy3rwlG9iWFYJergOCDCDkroXisLzkHAlJ1k37573
        Wf1f3QRVAgMBAAECggEADWUyznz//+n494t7sU+gJPICEpZRZ2vZcwDKonZ9sVxa
        NY4Ms7LfOESBYRA/A8pw0dTTn8z0l+vRhaVGOGZjE2PXWqC45D8X3KSH8UsLV5Ip
        yfOTOPh+2iUQ3vmEUBmbQk7xzj+6EHDnXOoaOsOZ5dx9G4SlpeuYxbvQ4ypdNWix
        csWCaay9enc7UqIcpwfmiX5+QEBGMLeLRVT+gdH5IfMM+x6kkLnU2cLh4OpHZsER
        fERPc2uq2R9W/iY2hL3JBXG9Ek2rIUekKqLRAkmHpX6yuBMARXQE2UxpTTYCu3k3
        MOFUqVofCFlD4+IK7UVaJwNHhyr3Xd7G0QHN82G52wKBgQDbsk1Q+J9F+Y84bz5d
        RtL2Nuv9WecKCJ4oAW3MSr1grbeqQ3zRdqXa+LGJpyYLTVOrC9ZY2/2ufSGnX6Ys
        YSaR2RP78bSqaL0nSq8I8Ktj25E/L3e3Errp3Zp2P6S5Bl+dXmEvijTgShY1rY4r
        GuJKTEAfkzF7IZwky1Npd47zLwKBgQC14Y/nppES9JaCMJOddTcTAALhdoA4/NXB
        BE4qBKl368RcRK7MzEkX8KyrcQwfBGyTkkx+0M2UwO4czt6MCyEgXhbqnluSZjSe
        PzFt0lHdPByZ4jiNCdj4Gq/VdxlZz0NE3j/OkZJEJZMDCTMuUVtOP0d1uS2NGiNv
        VKOtIQBvuwKBgQDZOBwV+RyRtUQUSnlhBIvFgVwnrWIwm4C0kWUcXrGMC3bTU9Lv
        z94A+W+gaLHG7vfQ4O1YAnt6sKI7uOi2bIAUKIwHyV4WN2T+mmsh7cOoAgpEbQxy
        6IQCg2cbj6Wwg0q6b/yrYn0RXm9DN4yftf8T8vxbu89qrTqTbq3UU6/1ZQKBgC8N
        4wgATMoFoyadYKM83vm4aAZifPvBVZ+w+HPgbuOKiGuCjWKIe2SJLHLSNVuU7m4j
        TE0Gwhj47OFhF6xNeM2B6hXa0EAI1xYVrTkHT4yX76JUJ2M9p/dQGCt2u4VDnNil
        UwajHJ8qxWTkrWwPOjr9HgSz2rgFiiNUV2AECLPfAoGBAMJWaCANIlQ54DCbZVin
        9LubByRTlVaqVkG0mF7qF1TCr9eV3epU72HqLcasFGMiZU4JpTZBWOOduLJaNkqP
        B/oZunV1lYqqer1xH/CVj+Dk9djLkD4BZyGqUwgUCmllulyntS53VHJbD8jhdzNd
        TnTsGu0USIhEmaJEHF2A6UP8
        -----END PRIVATE KEY-----
        """
}
