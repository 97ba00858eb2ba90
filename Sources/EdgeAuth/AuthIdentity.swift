import Foundation

/// Who a session belongs to, once authenticated: from a verified JWT, from the auth callout's answer, or nobody in
/// particular when the callout was down and `fail_open` let the session in.
///
/// The description names the method and the subject only; claims can carry personal data and stay out of it.
public struct AuthIdentity: Sendable, Hashable, CustomStringConvertible {
    package enum Method: String, Sendable, Hashable {
        /// A JWT verified with the configured keys.
        case jwt
        /// The auth callout answered "allow".
        case callout
        /// The auth callout was unavailable and `auth.http.fail_open` is true: no subject, no claims.
        case failOpen = "fail_open"
    }

    package var method: Method
    /// `sub` of the token, or the callout's `sub`.
    public var subject: String?
    /// Every claim of a verified JWT by name (`sub`, `exp` and the rest); empty for the callout.
    package var claims: [String: ClaimValue]
    /// `exp` of the token; nil for tokens without one and for the callout.
    package var expiresAt: Date?
    /// Where the token was found; nil when the callout judged a request without one.
    package var source: TokenSource?
    /// The CONNECT's client id and user name, once the CONNECT has been seen (`SessionAuthorization.identity`).
    package var clientID: String?
    package var username: String?
    /// Topic lists from the callout's answer; they replace the route's lists for this session.
    package var calloutPublish: [String]?
    package var calloutSubscribe: [String]?

    package init(
        method: Method, subject: String? = nil, claims: [String: ClaimValue] = [:], expiresAt: Date? = nil,
        source: TokenSource? = nil, calloutPublish: [String]? = nil, calloutSubscribe: [String]? = nil
    ) {
        self.method = method
        self.subject = subject
        self.claims = claims
        self.expiresAt = expiresAt
        self.source = source
        self.calloutPublish = calloutPublish
        self.calloutSubscribe = calloutSubscribe
    }

    public var description: String {
        "\(self.method.rawValue)(sub: \(self.subject ?? "-"))"
    }
}
