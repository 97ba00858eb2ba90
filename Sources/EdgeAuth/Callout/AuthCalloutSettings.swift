/// The auth callout: the module's own form of `auth.http`.
package struct AuthCalloutSettings: Sendable, Hashable {
    /// `url`: where the attempt is POSTed (`http://` or `https://`).
    package var url: String
    /// `timeout`: the whole exchange (connect, send, answer); after it the attempt counts as "unavailable".
    package var timeout: Duration
    /// `cache_ttl`: how long an allow or deny is reused for the same attempt (zero: never). Unavailable is not cached.
    package var cacheTTL: Duration
    /// `fail_open`: let attempts in (anonymously) when the backend is unavailable. Off: refuse them.
    package var failOpen: Bool
    /// `send_password`: include the CONNECT's password in the callout.
    package var sendPassword: Bool
    /// `headers`: request headers forwarded to the backend (names, case-insensitive); others are not sent.
    package var headers: [String]
    /// Connections to the backend at most (HTTP/1.1); attempts beyond wait within their timeout.
    package var maximumConnections: Int
    /// Cached answers at most; the oldest go first.
    package var maximumCacheEntries: Int

    package init(
        url: String,
        timeout: Duration = .seconds(2),
        cacheTTL: Duration = .seconds(60),
        failOpen: Bool = false,
        sendPassword: Bool = false,
        headers: [String] = [],
        maximumConnections: Int = 8,
        maximumCacheEntries: Int = 10_000
    ) {
        self.url = url
        self.timeout = timeout
        self.cacheTTL = cacheTTL
        self.failOpen = failOpen
        self.sendPassword = sendPassword
        self.headers = headers
        self.maximumConnections = maximumConnections
        self.maximumCacheEntries = maximumCacheEntries
    }
}
