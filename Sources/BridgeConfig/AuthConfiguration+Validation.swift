/// Rules for `auth` and `routes.<name>.auth`, in the style of `BridgeConfiguration+Validation.swift`. The key files'
/// contents and the topic templates are checked when the server starts (`--check-config` too), by EdgeAuth.
extension AuthConfiguration {
    func validate(into report: inout ValidationReport) {
        jwt?.validate(into: &report)
        http?.validate(into: &report)
    }
}

extension JWTAuthConfiguration {
    /// More skew than this is not clock drift but a token lifetime in disguise.
    static let maximumLeeway = Duration.seconds(600)

    func validate(into report: inout ValidationReport) {
        if keys.isEmpty && secretFile == nil {
            report.add("auth.jwt", "needs keys (PEM or JWKS files) or secret_file: without a key no token can be verified")
        }
        for (index, path) in keys.enumerated() {
            report.checkReadableFile(path, "auth.jwt.keys[\(index)]")
        }
        if let secretFile {
            report.checkReadableFile(secretFile, "auth.jwt.secret_file")
        }
        if issuer?.isEmpty == true {
            report.add("auth.jwt.issuer", "must not be empty (leave it out to accept any issuer)")
        }
        if audience.contains("") {
            report.add("auth.jwt.audience", "must not contain an empty value")
        }
        if leeway < .zero || leeway > Self.maximumLeeway {
            report.add("auth.jwt.leeway", "must be between 0s and 10m (it only absorbs clock differences)")
        }
        for name in requiredClaims where !Self.isClaimName(name) {
            report.add("auth.jwt.required_claims", "'\(name)' is not a claim name (letters, digits, _ - . :)")
        }
        if reloadInterval < .zero || (reloadInterval > .zero && reloadInterval < .seconds(1)) {
            report.add("auth.jwt.reload_interval", "must be 0 (reload on SIGHUP only) or at least 1s")
        }
    }

    /// Claim names appear in refusal reasons (`missing claim tenant`), so they keep to a plain alphabet.
    static func isClaimName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.:".contains($0)) }
    }
}

extension HTTPAuthConfiguration {
    func validate(into report: inout ValidationReport) {
        if url.isEmpty {
            report.add("auth.http.url", "is required: the backend URL attempts are POSTed to (http:// or https://)")
        } else if !Self.isHTTPURL(url) {
            report.add("auth.http.url", "'\(url)' is not an http:// or https:// URL with a host")
        }
        report.checkPositive(timeout, "auth.http.timeout")
        if cacheTTL < .zero {
            report.add("auth.http.cache_ttl", "must not be negative (0 turns the cache off)")
        }
        for header in headers where !RouteConfiguration.isToken(header) {
            report.add("auth.http.headers", "'\(header)' is not a header name")
        }
    }

    static func isHTTPURL(_ url: String) -> Bool {
        let lowered = url.lowercased()
        guard let scheme = ["http://", "https://"].first(where: lowered.hasPrefix) else { return false }
        let rest = url.dropFirst(scheme.count)
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return !host.isEmpty && !url.contains(where: { $0.isWhitespace })
    }
}

extension RouteAuthConfiguration {
    func validate(into report: inout ValidationReport, route: String, auth: AuthConfiguration) {
        let key = "routes.\(route).auth"
        if auth.jwt == nil && auth.http == nil {
            report.add(key, "needs auth.jwt or auth.http: there is nothing to check this route's tokens with")
        }
        if sources.isEmpty {
            report.add("\(key).sources", "must list at least one of: \(AuthTokenSource.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if Set(sources).count != sources.count {
            report.add("\(key).sources", "lists a source twice")
        }
        if sources.contains(.cookie) && (cookie ?? "").isEmpty {
            report.add("\(key).cookie", "must name the cookie when sources lists cookie")
        }
        if let cookie, !RouteConfiguration.isToken(cookie) {
            report.add("\(key).cookie", "'\(cookie)' is not a cookie name")
        }
        if queryParameter.isEmpty || queryParameter.contains(where: { "&=#?%+ ".contains($0) || $0.isWhitespace }) {
            report.add("\(key).query_parameter", "'\(queryParameter)' is not a plain query parameter name")
        }
        if clientIDPattern?.isEmpty == true {
            report.add("\(key).client_id_pattern", "must not be empty (leave it out to allow any client id)")
        }
    }
}

extension RouteConfiguration {
    /// Placeholders (`{sub}`) are filled in from a session's identity, which only a route with `auth` has.
    func validateTopicTemplates(into report: inout ValidationReport) {
        guard auth == nil, let topicPolicy else { return }
        for (list, filters) in [("publish", topicPolicy.publish), ("subscribe", topicPolicy.subscribe)] {
            for (index, filter) in (filters ?? []).enumerated() where filter.contains("{") || filter.contains("}") {
                report.add(
                    "routes.\(name).topic_policy.\(list)[\(index)]",
                    "'\(filter)' has a placeholder, which needs routes.\(name).auth (identities come from tokens)")
            }
        }
    }
}
