/// One route's authentication: the module's own form of `routes.<name>.auth` (plus the route's `topic_policy`,
/// parsed as templates). A route without these settings is not authenticated at all.
package struct RouteAuthSettings: Sendable, Hashable {
    /// The route's name (`routes.<name>`), for logs and the callout.
    package var route: String
    /// `required`: without a token the session is refused (true), or let in anonymously (false) — a token that is
    /// present is verified either way, and a bad one is refused.
    package var required: Bool
    /// `sources`: where the token is looked for, in order (see `TokenSource` for where `mqtt_password` fits).
    package var sources: [TokenSource]
    /// `query_parameter`: the `query` source's parameter name.
    package var queryParameter: String
    /// `cookie`: the `cookie` source's cookie name; the source finds nothing without one.
    package var cookie: String?
    /// `disconnect_on_expiry`: end the session when the token's `exp` (plus leeway) passes.
    package var disconnectOnExpiry: Bool
    /// `client_id_pattern`: the CONNECT's client id must match it.
    package var clientIDPattern: ClientIDPattern?
    /// `topic_policy` with placeholders; nil when the route has no topic policy.
    package var topicPolicy: TopicPolicyTemplate?

    package init(
        route: String,
        required: Bool = true,
        sources: [TokenSource] = Self.defaultSources,
        queryParameter: String = "token",
        cookie: String? = nil,
        disconnectOnExpiry: Bool = false,
        clientIDPattern: ClientIDPattern? = nil,
        topicPolicy: TopicPolicyTemplate? = nil
    ) {
        self.route = route
        self.required = required
        self.sources = sources
        self.queryParameter = queryParameter
        self.cookie = cookie
        self.disconnectOnExpiry = disconnectOnExpiry
        self.clientIDPattern = clientIDPattern
        self.topicPolicy = topicPolicy
    }

    /// `Authorization: Bearer` (WeChat), the `token` query parameter (browsers), the CONNECT's password (mqtt.js).
    package static let defaultSources: [TokenSource] = [.header, .query, .mqttPassword]

    /// Whether the decision can wait for the CONNECT (its password is a source).
    var acceptsPassword: Bool { self.sources.contains(.mqttPassword) }
}
