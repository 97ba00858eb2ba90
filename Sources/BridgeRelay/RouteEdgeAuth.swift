import EdgeAuth

/// A route's edge authentication as the front end and the relay use it: the bridge's one `EdgeAuthenticator`, the
/// route's name in it, and how a session's own topic lists become a `TopicAuthorizer`.
///
/// Built by the server for each route with `routes.<name>.auth`; a route without it has none, and its sessions run
/// exactly as before (no extra handler, no per-message cost).
public struct RouteEdgeAuth: Sendable {
    package let authenticator: EdgeAuthenticator
    package let route: String
    /// A session's lists (placeholders filled in, or the callout's lists) as an authorizer, matched like the route's
    /// `topic_policy` (the server passes `TopicAllowList(grant:)`, so the relay does not link libmosquitto). Throws
    /// for a filter that is not valid.
    package let makeTopicAuthorizer: @Sendable (TopicGrant) throws -> any TopicAuthorizer

    package init(
        authenticator: EdgeAuthenticator, route: String, makeTopicAuthorizer: @escaping @Sendable (TopicGrant) throws -> any TopicAuthorizer
    ) {
        self.authenticator = authenticator
        self.route = route
        self.makeTopicAuthorizer = makeTopicAuthorizer
    }
}

/// What the access log says about a session's authentication: `auth=` and `sub=`.
package struct SessionAuthRecord: Sendable, Hashable {
    /// `jwt`, `callout`, `fail_open`, `anonymous`, or `refused`.
    package var result: String
    /// The token's (or the callout's) `sub`; nil when there is none.
    package var subject: String?

    package init(result: String, subject: String?) {
        self.result = result
        self.subject = subject
    }

    package static let refused = SessionAuthRecord(result: "refused", subject: nil)

    /// The record of an accepted session.
    package init(_ authorization: SessionAuthorization) {
        self.result = authorization.identity?.method.rawValue ?? "anonymous"
        self.subject = authorization.identity?.subject
    }
}
