/// A route's `allowed_origins`: which browser pages may open sessions on it.
///
/// Browsers send the page's origin on every WebSocket handshake and cannot forge it, so this stops
/// other web sites from using a visitor's browser (and cookies, and network position) to connect.
/// Non-browser clients (WeChat's socket API, native apps, backends) usually send no `Origin`;
/// `allow_missing_origin` decides about them. Comparison is ASCII case-insensitive, with default ports
/// made explicit (`https://a.example` equals `https://a.example:443`).
struct OriginPolicy: Sendable {
    private struct Pattern: Sendable {
        var scheme: String
        /// The host, or the suffix after `*.` for a wildcard pattern.
        var host: String
        var isWildcard: Bool
        var port: Int?
    }

    private let patterns: [Pattern]
    private let allowMissing: Bool

    /// nil when the route has no `allowed_origins` (any origin is fine).
    init?(allowedOrigins: [String]?, allowMissing: Bool) {
        guard let allowedOrigins else { return nil }
        self.patterns = allowedOrigins.compactMap { text in
            guard var parsed = Self.parse(text) else { return nil }
            let isWildcard = parsed.host.hasPrefix("*.")
            if isWildcard { parsed.host.removeFirst(2) }
            return Pattern(scheme: parsed.scheme, host: parsed.host, isWildcard: isWildcard, port: parsed.port)
        }
        self.allowMissing = allowMissing
    }

    /// nil when allowed, else the one-line reason for the 403.
    func refusal(for originHeader: String?) -> String? {
        guard let originHeader, !originHeader.isEmpty else {
            return self.allowMissing ? nil : "an Origin header is required on this route"
        }
        if let origin = Self.parse(originHeader), self.patterns.contains(where: { Self.matches($0, origin) }) {
            return nil
        }
        return "origin \(originHeader) is not allowed on this route"
    }

    private static func matches(_ pattern: Pattern, _ origin: (scheme: String, host: String, port: Int?)) -> Bool {
        guard pattern.scheme == origin.scheme, pattern.port == origin.port else { return false }
        if pattern.isWildcard {
            return origin.host.hasSuffix("." + pattern.host)
        }
        return pattern.host == origin.host
    }

    /// `scheme://host[:port]` → lowercased parts with the scheme's default port filled in.
    private static func parse(_ text: String) -> (scheme: String, host: String, port: Int?)? {
        let lowered = text.lowercased()
        guard let separator = lowered.range(of: "://") else { return nil }
        let scheme = String(lowered[..<separator.lowerBound])
        var rest = Substring(lowered[separator.upperBound...])
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var host = String(rest)
        var port: Int?
        // The port follows the last ':' unless that colon is inside an IPv6 literal.
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            guard let number = Int(rest[rest.index(after: colon)...]) else { return nil }
            host = String(rest[..<colon])
            port = number
        }
        if port == nil {
            port = ["https": 443, "wss": 443, "http": 80, "ws": 80][scheme]
        }
        guard !host.isEmpty, !host.contains("/") else { return nil }
        return (scheme, host, port)
    }
}
