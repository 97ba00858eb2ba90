import NIOHTTP1

/// Who may call what on the admin listener: `admin.token` opens the admin API (sessions, events, the operations
/// page's data) and the publish API; `admin.publish.token` opens the publish API only. A route whose scope has no
/// token configured is open — configuration validation allows that only on a loopback address. Probes and
/// `/metrics` have no scope: they stay open, as load balancers and scrapers expect.
struct AdminAccess: Sendable {
    enum Scope: Sendable {
        /// The sessions API and the event stream: `admin.token`.
        case admin
        /// `POST /api/v1/publish`: either token.
        case publish
    }

    enum Verdict: Equatable, Sendable {
        case allowed
        case missing
        case invalid
    }

    private let adminToken: BearerToken?
    private let publishToken: BearerToken?

    init(adminToken: String?, publishToken: String?) {
        self.adminToken = adminToken.map(BearerToken.init)
        self.publishToken = publishToken.map(BearerToken.init)
    }

    /// Whether a scope needs a token at all.
    func isProtected(_ scope: Scope) -> Bool {
        !tokens(for: scope).isEmpty
    }

    func verdict(_ head: HTTPRequestHead, scope: Scope) -> Verdict {
        verdict(authorization: head.headers.first(name: "Authorization"), scope: scope)
    }

    func verdict(authorization: String?, scope: Scope) -> Verdict {
        let tokens = tokens(for: scope)
        guard !tokens.isEmpty else { return .allowed }
        guard let authorization else { return .missing }
        // Every token is compared (no early exit), so timing does not tell which one came close.
        var accepted = false
        for token in tokens where token.accepts(authorization: authorization) { accepted = true }
        return accepted ? .allowed : .invalid
    }

    /// The 401 for a refused verdict, with the challenge RFC 6750 asks for; nil when allowed.
    func refusal(_ head: HTTPRequestHead, scope: Scope) -> AdminResponse? {
        let verdict = verdict(head, scope: scope)
        guard verdict != .allowed else { return nil }
        return Self.unauthorized(verdict, scope: scope)
    }

    static func unauthorized(_ verdict: Verdict, scope: Scope) -> AdminResponse {
        let key = scope == .admin ? "admin.token" : "admin.token or admin.publish.token"
        let missing = verdict == .missing
        return .error(
            .unauthorized, missing ? "missing bearer token (Authorization: Bearer <\(key)>)" : "invalid bearer token",
            headers: [
                ("WWW-Authenticate", missing ? #"Bearer realm="mqtt-ws-bridge""# : #"Bearer realm="mqtt-ws-bridge", error="invalid_token""#)
            ])
    }

    private func tokens(for scope: Scope) -> [BearerToken] {
        switch scope {
        case .admin: [adminToken].compactMap { $0 }
        case .publish: [adminToken, publishToken].compactMap { $0 }
        }
    }
}
