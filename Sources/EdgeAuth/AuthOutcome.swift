import Foundation
import NIOCore

/// What edge authentication decided at the HTTP upgrade, before the 101.
package enum UpgradeAuthOutcome: Sendable {
    /// A token from the request verified (or the callout allowed it): answer 101. The CONNECT still has to pass
    /// `client_id_pattern` and the topic templates (`EdgeAuthenticator.authorizeConnect`).
    case authenticated(AuthIdentity)
    /// No token, and the route does not require one: answer 101; the session is anonymous.
    case anonymous
    /// The decision waits for the CONNECT (its password is one of the route's sources): answer 101 and hand this
    /// to `authorizeConnect` with the CONNECT.
    case awaitingConnect(PendingAuthentication)
    /// Answer 401 with `failure.wwwAuthenticate` (503 without it when `failure.isServiceUnavailable`); no 101.
    case refused(AuthFailure)
}

/// What the upgrade learnt, kept until the CONNECT arrives: why a request token was refused (reported if the
/// password has no token either), a request token only the callout can judge, and the headers the callout forwards.
package struct PendingAuthentication: Sendable, CustomStringConvertible {
    var requestFailure: AuthFailure?
    var requestToken: BearerToken?
    var forwardedHeaders: [String: String]

    package var description: String {
        "pending(\(self.requestFailure.map { "request token refused: \($0)" } ?? "no request token"))"
    }
}

/// What edge authentication decided once the CONNECT arrived.
package enum ConnectAuthOutcome: Sendable {
    /// Relay the CONNECT (unchanged) and enforce this for the session.
    case accepted(SessionAuthorization)
    /// Answer CONNACK "not authorized" in the client's version (3.1/3.1.1: return code 5, 5.0: reason 0x87) — or
    /// "server unavailable" (3, 0x88) when `failure.isServiceUnavailable` —, then close 1008. Never dial the broker.
    case refused(AuthFailure)
}

/// One session's authorization, settled at the CONNECT and fixed for the session's life.
package struct SessionAuthorization: Sendable, Hashable {
    /// Nil for an anonymous session.
    package var identity: AuthIdentity?
    /// The session's topic allow lists; nil when neither the route's `topic_policy` nor the callout gives any
    /// (no topic checks, as for a route without `topic_policy`).
    package var topics: TopicGrant?
    /// Whether `topics` differs per session (placeholders or callout lists). When false, the route's shared
    /// allow list (built once from `topic_policy`) can serve this session.
    package var topicsArePerSession: Bool
    /// When to end the session (`disconnect_on_expiry`: the token's `exp` plus the leeway); nil: never.
    /// MQTT 5 clients get DISCONNECT 0xA0 (maximum connect time) first, then close 1008.
    package var disconnectAt: Date?

    package init(identity: AuthIdentity?, topics: TopicGrant?, topicsArePerSession: Bool, disconnectAt: Date?) {
        self.identity = identity
        self.topics = topics
        self.topicsArePerSession = topicsArePerSession
        self.disconnectAt = disconnectAt
    }

    /// The time left until `disconnectAt`, for a timer on the session's event loop (zero when it has passed).
    package func timeUntilDisconnect(now: Date = Date()) -> TimeAmount? {
        guard let disconnectAt else { return nil }
        let seconds = max(0, disconnectAt.timeIntervalSince(now))
        return .nanoseconds(Int64(seconds * 1e9))
    }
}
