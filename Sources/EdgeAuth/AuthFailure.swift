/// Why an attempt was refused: a short reason that is safe to show to the client and to log.
///
/// Nothing here comes from the token or the credentials themselves, only from the configuration and fixed text,
/// so `reason` can go into `WWW-Authenticate`, a close reason and a log line. `label` is the value of the
/// refusal counter's `reason` label.
public struct AuthFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// No token in any of the route's sources.
        case missing
        /// Not a compact JWS, bad base64url, bad JSON, a duplicate source (two `token` parameters), a `crit` header.
        case malformed
        /// Longer than the size limit: refused before parsing.
        case tooLarge = "too_large"
        /// `alg: none`, or an algorithm that no configured key accepts (e.g. HS256 against an RSA key).
        case algorithmNotAccepted = "algorithm_not_accepted"
        /// The `kid` names no configured key.
        case unknownKey = "unknown_key"
        /// The signature does not verify with the selected key(s).
        case badSignature = "bad_signature"
        /// `exp` (plus leeway) has passed.
        case expired
        /// `nbf` (minus leeway) is still ahead.
        case notYetValid = "not_yet_valid"
        /// `iss` is not `auth.jwt.issuer`.
        case wrongIssuer = "wrong_issuer"
        /// `aud` names none of `auth.jwt.audience`.
        case wrongAudience = "wrong_audience"
        /// A claim in `auth.jwt.required_claims` is absent.
        case missingClaim = "missing_claim"
        /// An identity value (`sub`, a claim, the client id, the user name) that a topic template or the client id
        /// pattern needs is absent, empty, not text, or contains `+`, `#`, `/` or NUL: it could widen access.
        case unusableIdentity = "unusable_identity"
        /// The CONNECT's client id does not match `client_id_pattern`.
        case clientIDNotAllowed = "client_id_not_allowed"
        /// The auth callout answered "deny".
        case denied
        /// The auth callout did not answer usably in time (down, slow, bad answer) and `fail_open` is false.
        case unavailable
    }

    public let kind: Kind
    /// The short text for clients and logs, e.g. "token expired".
    public let reason: String

    package init(_ kind: Kind, _ reason: String? = nil) {
        self.kind = kind
        self.reason = reason ?? Self.defaultReason(kind)
    }

    /// The value of the refusal counter's `reason` label (`expired`, `wrong_audience`, …).
    package var label: String { self.kind.rawValue }

    /// True when the service, not the client, is at fault: HTTP 503 rather than 401, MQTT "server unavailable"
    /// rather than "not authorized".
    package var isServiceUnavailable: Bool { self.kind == .unavailable }

    /// The `WWW-Authenticate` value for a 401 (RFC 6750 §3): no error code when the request carried no token at all
    /// (§3.1), `invalid_token` with the reason otherwise. Nil when the answer is not a 401 (`isServiceUnavailable`).
    package var wwwAuthenticate: String? {
        switch self.kind {
        case .unavailable: nil
        case .missing: #"Bearer error_description="\#(self.reason)""#
        default: #"Bearer error="invalid_token", error_description="\#(self.reason)""#
        }
    }

    public var description: String { self.reason }

    private static func defaultReason(_ kind: Kind) -> String {
        switch kind {
        case .missing: "no token"
        case .malformed: "malformed token"
        case .tooLarge: "token too large"
        case .algorithmNotAccepted: "algorithm not accepted"
        case .unknownKey: "unknown key"
        case .badSignature: "bad signature"
        case .expired: "token expired"
        case .notYetValid: "token not yet valid"
        case .wrongIssuer: "wrong issuer"
        case .wrongAudience: "wrong audience"
        case .missingClaim: "missing claim"
        case .unusableIdentity: "identity not usable for topics"
        case .clientIDNotAllowed: "client id not allowed"
        case .denied: "denied"
        case .unavailable: "authentication service unavailable"
        }
    }
}
