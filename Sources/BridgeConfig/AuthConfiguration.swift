// MARK: - Edge authentication

/// `auth`: how tokens are checked (issue 13). Routes opt in with `routes.<name>.auth`; without any route doing so,
/// this section does nothing.
package struct AuthConfiguration: Sendable, Equatable {
    /// `jwt`: verify JWTs with these keys. Absent → no local verification.
    package var jwt: JWTAuthConfiguration?
    /// `http`: ask a backend about each attempt. Absent → no callout.
    package var http: HTTPAuthConfiguration?

    package init(jwt: JWTAuthConfiguration? = nil, http: HTTPAuthConfiguration? = nil) {
        self.jwt = jwt
        self.http = http
    }
}

/// `auth.jwt`: the keys and the claims rules.
package struct JWTAuthConfiguration: Sendable, Equatable {
    /// `keys`: PEM public keys (RSA, EC P-256/384/521, Ed25519; or a certificate) and JWKS JSON files. A PEM key's
    /// `kid` is its file name without the extension.
    package var keys: [String]
    /// `secret_file`: a file holding an HMAC secret (HS256; at least 32 bytes).
    package var secretFile: String?
    /// `issuer`: the `iss` every token must carry; absent → not checked.
    package var issuer: String?
    /// `audience`: `aud` must name one of these; empty → not checked.
    package var audience: [String]
    /// `leeway`: clock skew allowed on `exp` and `nbf`.
    package var leeway: Duration
    /// `required_claims`: claims every token must carry.
    package var requiredClaims: [String]
    /// `reload_interval`: how often the key files are checked for changes; 0 → only on SIGHUP.
    package var reloadInterval: Duration

    package init(
        keys: [String] = [], secretFile: String? = nil, issuer: String? = nil, audience: [String] = [],
        leeway: Duration = .seconds(30), requiredClaims: [String] = ["exp"], reloadInterval: Duration = .zero
    ) {
        self.keys = keys
        self.secretFile = secretFile
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.requiredClaims = requiredClaims
        self.reloadInterval = reloadInterval
    }
}

/// `auth.http`: the auth callout.
package struct HTTPAuthConfiguration: Sendable, Equatable {
    /// `url`: where attempts are POSTed (http:// or https://). Required.
    package var url: String
    /// `timeout`: how long the backend may take to answer.
    package var timeout: Duration
    /// `cache_ttl`: how long an allow or deny is reused for the same attempt; 0 → never.
    package var cacheTTL: Duration
    /// `fail_open`: let attempts in when the backend is down or slow (default: refuse them).
    package var failOpen: Bool
    /// `send_password`: include the CONNECT's password in the callout.
    package var sendPassword: Bool
    /// `headers`: request headers forwarded to the backend.
    package var headers: [String]

    package init(
        url: String = "", timeout: Duration = .seconds(2), cacheTTL: Duration = .seconds(60), failOpen: Bool = false,
        sendPassword: Bool = false, headers: [String] = []
    ) {
        self.url = url
        self.timeout = timeout
        self.cacheTTL = cacheTTL
        self.failOpen = failOpen
        self.sendPassword = sendPassword
        self.headers = headers
    }
}

/// Where a route looks for a token (`routes.<name>.auth.sources`).
package enum AuthTokenSource: String, Sendable, Equatable, CaseIterable {
    /// `Authorization: Bearer <token>`.
    case header
    /// The `query_parameter` of the request URI.
    case query
    /// The `cookie` cookie.
    case cookie
    /// The CONNECT's password.
    case mqttPassword = "mqtt_password"
}

/// `routes.<name>.auth`: this route's sessions need a token.
public struct RouteAuthConfiguration: Sendable, Equatable {
    /// `required`: false lets sessions without a token in (anonymously; a token that is present is still checked).
    package var required: Bool
    /// `sources`: where the token is looked for, in order.
    package var sources: [AuthTokenSource]
    /// `query_parameter`: the query parameter of the `query` source.
    package var queryParameter: String
    /// `cookie`: the cookie of the `cookie` source.
    package var cookie: String?
    /// `disconnect_on_expiry`: end the session when the token expires.
    package var disconnectOnExpiry: Bool
    /// `client_id_pattern`: the CONNECT's client id must match it (`mp-{sub}-*`).
    package var clientIDPattern: String?

    package init(
        required: Bool = true, sources: [AuthTokenSource] = [.header, .query, .mqttPassword], queryParameter: String = "token",
        cookie: String? = nil, disconnectOnExpiry: Bool = false, clientIDPattern: String? = nil
    ) {
        self.required = required
        self.sources = sources
        self.queryParameter = queryParameter
        self.cookie = cookie
        self.disconnectOnExpiry = disconnectOnExpiry
        self.clientIDPattern = clientIDPattern
    }
}
