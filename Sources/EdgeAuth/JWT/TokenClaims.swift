import Foundation
import JWTKit

/// A token's payload: the registered claims the verifier checks, typed with jwt-kit's claim types, and every
/// claim by name for topic templates (`{claim:NAME}`) and `required_claims`.
struct TokenClaims: JWTPayload {
    var subject: SubjectClaim?
    var issuer: IssuerClaim?
    var audience: AudienceClaim?
    var expiration: ExpirationClaim?
    var notBefore: NotBeforeClaim?
    var all: [String: ClaimValue]

    private struct Name: CodingKey {
        let stringValue: String
        init(_ name: String) { self.stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// A registered claim of the wrong type (`"exp": "tomorrow"`, `"sub": 42`) fails decoding: the token is malformed.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Name.self)
        self.subject = try container.decodeIfPresent(SubjectClaim.self, forKey: Name("sub"))
        self.issuer = try container.decodeIfPresent(IssuerClaim.self, forKey: Name("iss"))
        self.audience = try container.decodeIfPresent(AudienceClaim.self, forKey: Name("aud"))
        self.expiration = try container.decodeIfPresent(ExpirationClaim.self, forKey: Name("exp"))
        self.notBefore = try container.decodeIfPresent(NotBeforeClaim.self, forKey: Name("nbf"))
        var all: [String: ClaimValue] = [:]
        for key in container.allKeys {
            all[key.stringValue] = try container.decode(ClaimValue.self, forKey: key)
        }
        self.all = all
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Name.self)
        for (name, value) in self.all {
            try container.encode(value, forKey: Name(name))
        }
    }

    /// jwt-kit calls this from its own `verify`, which the bridge does not use: `ClaimsCheck` checks the claims
    /// against the configured issuer, audience and leeway, synchronously.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// The configured claim rules, applied after the signature has been verified.
struct ClaimsCheck: Sendable {
    let issuer: String?
    let audiences: [String]
    let leeway: Duration
    let requiredClaims: [String]

    init(_ settings: JWTVerifierSettings) {
        self.issuer = settings.issuer
        self.audiences = settings.audiences
        self.leeway = settings.leeway
        self.requiredClaims = settings.requiredClaims
    }

    /// Expiry first (the most common reason), then validity start, issuer, audience, required claims.
    func check(_ claims: TokenClaims, now: Date) -> AuthFailure? {
        let leeway = self.leeway.timeInterval
        do {
            try claims.expiration?.verifyNotExpired(currentDate: now.addingTimeInterval(-leeway))
        } catch {
            return AuthFailure(.expired)
        }
        do {
            try claims.notBefore?.verifyNotBefore(currentDate: now.addingTimeInterval(leeway))
        } catch {
            return AuthFailure(.notYetValid)
        }
        if let issuer, claims.issuer?.value != issuer {
            return AuthFailure(.wrongIssuer)
        }
        if !self.audiences.isEmpty {
            guard let audience = claims.audience, self.audiences.contains(where: audience.value.contains) else {
                return AuthFailure(.wrongAudience)
            }
        }
        for name in self.requiredClaims {
            if claims.all[name] == nil || claims.all[name] == .null {
                return AuthFailure(.missingClaim, "missing claim \(name)")
            }
        }
        return nil
    }
}
