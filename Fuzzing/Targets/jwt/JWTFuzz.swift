import Crypto
import CryptoExtras
import EdgeAuth
import Foundation
import FuzzSupport
import Logging

/// EdgeAuth's JWT path: `TokenVerifier.verify` (size, compact JWS shape, base64url, header and claims JSON, `alg` and
/// `kid` against the configured keys, the signature, then `exp`/`nbf`/`iss`/`aud`/required claims) with a fixed key
/// set: a P-256 key (`ec`), an RSA key (`rsa`), an Ed25519 key (`ed`) and an HMAC secret (`hmac`) — the test keys
/// of `FuzzKeys` — at a fixed time.
///
/// Input: 1 control byte, then either the token text (bits 0-1 zero), or a header JSON, NUL, a claims JSON, NUL, a
/// byte that chooses which signature bit to flip: the harness signs them with the signer bits 2-4 choose (ES256,
/// RS256, PS256, EdDSA, HS256, HS256 keyed with the RSA public key — the algorithm-confusion attack —, `none`, a
/// random signature) and, with bit 5, flips one bit of the signature. The fuzzer so reaches the claim checks that
/// only a signed token gets to, with the header (alg, kid, crit) in its hands.
///
/// Invariants:
/// - an accepted token is a compact JWS whose header's `alg` is not `none`, whose `kid` (when given) names the key
///   that verifies it, and whose signature verifies with that key under that `alg` — checked here with
///   swift-crypto directly, not with jwt-kit; so a forged, tampered, `none` or confused-algorithm token never passes;
/// - an accepted token's header and claims are JSON objects (Foundation's `JSONSerialization` reads them) in which no
///   object gives a name twice (RFC 7515 §5.2: the bridge refuses them, since Foundation's `JSONDecoder` would take
///   the first and other readers the last), checked here by `repeatedName`;
/// - an accepted token's claims hold `exp` in the future (within the 30 s leeway), `nbf` not ahead, the issuer and
///   the audience, read here with Foundation's JSON; the identity's subject is the `sub` claim;
/// - a refusal has a short, one-line, non-empty reason, and a token over the size limit is `too_large`;
/// - verifying is deterministic.
enum JWTFuzz: FuzzTarget {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let issuer = "https://auth.example.com"
    static let audience = "mqtt-bridge"

    /// The verifier over the key files written once per process (libFuzzer runs every input in the same process).
    static let verifier: TokenVerifier = {
        do {
            return try FuzzKeys.makeVerifier(issuer: issuer, audience: audience)
        } catch {
            fatalError("cannot set up the JWT verifier: \(error)")
        }
    }()

    static func test(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let control = input.byte()
        let token: String
        if control & 3 == 0 {
            token = String(decoding: input.rest(), as: UTF8.self)
        } else {
            let parts = input.rest().parts(separatedBy: 0, maximumParts: 3)
            let flip = parts.count > 2 ? parts[2].first : nil
            token = FuzzKeys.sign(
                header: Array(parts[0]), claims: parts.count > 1 ? Array(parts[1]) : [], signer: Int(control >> 2 & 7),
                flipBit: control & 0x20 != 0 ? Int(flip ?? 0) : nil)
        }

        let result = verifier.verify(BearerToken(token, source: .header), now: now)
        fuzzCheck(result == verifier.verify(BearerToken(token, source: .header), now: now), "two verifications of one token differ")
        switch result {
        case .failure(let failure):
            fuzzCheck(
                !failure.reason.isEmpty && failure.reason.count <= 80 && !failure.reason.contains(where: \.isNewline),
                "refusal reason \(failure.reason.debugDescription)")
            if token.utf8.count > verifier.settings.maximumTokenSize {
                fuzzCheck(failure.kind == .tooLarge, "a \(token.utf8.count)-byte token refused as \(failure.kind), not too_large")
            }
        case .success(let identity):
            checkAccepted(token, identity: identity)
        }
    }

    static func checkAccepted(_ token: String, identity: AuthIdentity) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = FuzzKeys.base64URLDecode(parts[0]), let claimsBytes = FuzzKeys.base64URLDecode(parts[1]),
            let signature = FuzzKeys.base64URLDecode(parts[2]),
            let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: Data(claimsBytes))) as? [String: Any]
        else {
            fuzzCheck(false, "accepted a token that is not a compact JWS of two JSON objects: \(token.debugDescription)")
            return
        }
        for (part, bytes) in [("header", headerBytes), ("claims", claimsBytes)] {
            let repeated = repeatedName(in: bytes)
            fuzzCheck(repeated == nil, "accepted a token whose \(part) gives \(repeated ?? "") more than once")
        }
        guard let alg = header["alg"] as? String else {
            fuzzCheck(false, "accepted a token without a string alg: \(header)")
            return
        }
        fuzzCheck(alg.lowercased() != "none", "accepted alg \(alg)")
        let kid = header["kid"] as? String
        fuzzCheck(header["kid"] == nil || kid != nil, "accepted a non-string kid \(String(describing: header["kid"]))")
        let signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        let verifying = FuzzKeys.keys.filter { key in
            (kid == nil || kid == key.id) && FuzzKeys.verify(signature, of: signingInput, alg: alg, with: key)
        }
        fuzzCheck(!verifying.isEmpty, "accepted alg \(alg) kid \(kid ?? "-") whose signature no configured key verifies")

        func number(_ name: String) -> Double? {
            (claims[name] as? NSNumber)?.doubleValue
        }
        let seconds = now.timeIntervalSince1970
        guard let exp = number("exp") else {
            fuzzCheck(false, "accepted without a numeric exp: \(String(describing: claims["exp"]))")
            return
        }
        fuzzCheck(exp >= seconds - 30, "accepted exp \(exp) at \(seconds)")
        if claims["nbf"] != nil && !(claims["nbf"] is NSNull) {
            fuzzCheck((number("nbf") ?? .infinity) <= seconds + 30, "accepted nbf \(String(describing: claims["nbf"])) at \(seconds)")
        }
        fuzzCheck(claims["iss"] as? String == issuer, "accepted iss \(String(describing: claims["iss"]))")
        let audiences = (claims["aud"] as? String).map { [$0] } ?? (claims["aud"] as? [String]) ?? []
        fuzzCheck(audiences.contains(audience), "accepted aud \(String(describing: claims["aud"]))")
        fuzzCheck(
            identity.subject == claims["sub"] as? String,
            "subject \(String(describing: identity.subject)), sub \(String(describing: claims["sub"]))")
    }

    /// The first name an object in `json` (text `JSONSerialization` accepts) gives twice, escapes decoded
    /// (`"a"` and `"\u0061"` are one name); nil when there is none.
    static func repeatedName(in json: [UInt8]) -> String? {
        var names: [Set<String>] = []  // per open object or array (arrays never get names)
        var index = 0
        while index < json.count {
            switch json[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                names.append([])
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                names.removeLast()
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while json[index] != UInt8(ascii: "\"") { index += json[index] == UInt8(ascii: "\\") ? 2 : 1 }
                var next = index + 1
                while next < json.count, [0x20, 0x09, 0x0A, 0x0D].contains(json[next]) { next += 1 }
                if next < json.count, json[next] == UInt8(ascii: ":") {
                    let literal = Data([UInt8(ascii: "[")] + json[start...index] + [UInt8(ascii: "]")])
                    let name = ((try? JSONSerialization.jsonObject(with: literal)) as? [String])?.first ?? ""
                    if !names[names.count - 1].insert(name).inserted { return name }
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let exp = Int(now.timeIntervalSince1970) + 3600
        let claims = #"{"sub":"user-42","iss":"\#(issuer)","aud":"\#(audience)","exp":\#(exp),"iat":\#(exp - 3600),"tenant":"acme"}"#
        func signed(_ signer: Int, header: String, claims: String = claims, tamper: Bool = false) -> [UInt8] {
            [UInt8(1 | signer << 2 | (tamper ? 0x20 : 0))] + Array(header.utf8) + [0] + Array(claims.utf8) + [0, 77]
        }
        func raw(_ token: String) -> [UInt8] { [0] + Array(token.utf8) }
        var seeds: [(String, [UInt8])] = [
            ("es256-kid", signed(0, header: #"{"alg":"ES256","typ":"JWT","kid":"ec"}"#)),
            ("rs256-no-kid", signed(1, header: #"{"alg":"RS256","typ":"JWT"}"#)),
            ("ps256-kid", signed(2, header: #"{"alg":"PS256","kid":"rsa"}"#)),
            ("eddsa-kid", signed(3, header: #"{"alg":"EdDSA","kid":"ed"}"#)),
            ("hs256-kid", signed(4, header: #"{"alg":"HS256","typ":"JWT","kid":"hmac"}"#)),
            ("hs256-with-rsa-public-key", signed(5, header: #"{"alg":"HS256","kid":"rsa"}"#)),
            ("alg-none", signed(6, header: #"{"alg":"none","typ":"JWT"}"#)),
            ("alg-none-uppercase", signed(6, header: #"{"alg":"NONE","kid":"hmac"}"#)),
            ("random-signature", signed(7, header: #"{"alg":"ES256","kid":"ec"}"#)),
            ("es256-tampered", signed(0, header: #"{"alg":"ES256","kid":"ec"}"#, tamper: true)),
            ("es256-wrong-kid", signed(0, header: #"{"alg":"ES256","kid":"rsa"}"#)),
            ("unknown-kid", signed(4, header: #"{"alg":"HS256","kid":"2025-01"}"#)),
            ("crit-header", signed(0, header: #"{"alg":"ES256","kid":"ec","crit":["exp"]}"#)),
            ("repeated-sub", signed(0, header: #"{"alg":"ES256","kid":"ec"}"#, claims: #"{"sub":"admin","#.appending(claims.dropFirst()))),
            ("repeated-kid", signed(0, header: #"{"alg":"ES256","kid":"ec","kid":"rsa"}"#)),
            (
                "repeated-claim-leading-zero",
                signed(0, header: #"{"alg":"ES256","kid":"ec"}"#, claims: String(claims.dropLast()) + #","iat":09000000}"#)
            ),
            (
                "expired",
                signed(
                    0, header: #"{"alg":"ES256","kid":"ec"}"#,
                    claims: #"{"sub":"u","iss":"\#(issuer)","aud":["x","\#(audience)"],"exp":1700000000}"#)
            ),
            (
                "not-yet-valid",
                signed(
                    4, header: #"{"alg":"HS256"}"#,
                    claims: #"{"sub":"u","iss":"\#(issuer)","aud":"\#(audience)","exp":\#(exp),"nbf":\#(exp)}"#)
            ),
            ("wrong-audience", signed(3, header: #"{"alg":"EdDSA"}"#, claims: #"{"iss":"\#(issuer)","aud":"other","exp":\#(exp)}"#)),
            (
                "exp-as-string",
                signed(4, header: #"{"alg":"HS256"}"#, claims: #"{"iss":"\#(issuer)","aud":"\#(audience)","exp":"tomorrow"}"#)
            ),
            ("exp-null", signed(4, header: #"{"alg":"HS256"}"#, claims: #"{"iss":"\#(issuer)","aud":"\#(audience)","exp":null}"#)),
        ]
        // The same tokens as text, for the raw mode.
        for (name, seed) in seeds.prefix(6) {
            var input = FuzzInput(seed)
            let control = input.byte()
            let parts = input.rest().parts(separatedBy: 0, maximumParts: 3)
            seeds.append(
                (
                    "\(name)-text",
                    raw(FuzzKeys.sign(header: Array(parts[0]), claims: Array(parts[1]), signer: Int(control >> 2 & 7), flipBit: nil))
                ))
        }
        seeds.append(("not-a-jwt", raw("opaque-session-token-0123456789")))
        seeds.append(("two-parts", raw("eyJhbGciOiJIUzI1NiJ9.e30")))
        return seeds
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    let status = FuzzEntry.initialize(JWTFuzz.self)
    _ = JWTFuzz.verifier  // Load the keys before the first input, so that its time is not counted against it.
    return status
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(JWTFuzz.self, data, size)
}
