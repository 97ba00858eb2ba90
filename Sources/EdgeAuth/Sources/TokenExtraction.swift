import Foundation
import MQTTWire

/// Finds the token in the places a route names (`routes.<name>.auth.sources`).
///
/// An empty value counts as no token (the next source is tried); a value that cannot be a token on its own terms
/// (two `Authorization: Bearer` headers, two `token` parameters, a bad `%` escape, a password that is not UTF-8)
/// is malformed, since guessing which one was meant could pick the attacker's.
enum TokenExtraction {
    /// The first token in the request's sources, in the route's order; `mqtt_password` is skipped (it is in the CONNECT).
    static func token(
        in request: UpgradeRequest, sources: [TokenSource], queryParameter: String, cookie: String?
    )
        -> Result<BearerToken?, AuthFailure>
    {
        for source in sources {
            let found: Result<String?, AuthFailure> =
                switch source {
                case .header: Self.bearer(in: request)
                case .query: Self.query(queryParameter, in: request)
                case .cookie: cookie.map { Self.cookie($0, in: request) } ?? .success(nil)
                case .mqttPassword: .success(nil)
                }
            switch found {
            case .failure(let failure): return .failure(failure)
            case .success(let value?): return .success(BearerToken(value, source: source))
            case .success(nil): continue
            }
        }
        return .success(nil)
    }

    /// The CONNECT's password as a token.
    static func token(in connect: MQTTConnectInfo) -> Result<BearerToken?, AuthFailure> {
        guard let password = connect.password, !password.bytes.isEmpty else { return .success(nil) }
        guard let text = password.string else { return .failure(AuthFailure(.malformed, "password is not UTF-8")) }
        return .success(BearerToken(text, source: .mqttPassword))
    }

    /// `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive). Other schemes are not ours.
    private static func bearer(in request: UpgradeRequest) -> Result<String?, AuthFailure> {
        var found: [String] = []
        for value in request.values(of: "authorization") {
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            guard let space = trimmed.firstIndex(of: " ") else {
                if trimmed.lowercased() == "bearer" { found.append("") }
                continue
            }
            guard trimmed[..<space].lowercased() == "bearer" else { continue }
            found.append(trimmed[space...].trimmingCharacters(in: .whitespaces))
        }
        guard found.count <= 1 else { return .failure(AuthFailure(.malformed, "several bearer tokens")) }
        return .success(found.first.flatMap { $0.isEmpty ? nil : $0 })
    }

    private static func query(_ name: String, in request: UpgradeRequest) -> Result<String?, AuthFailure> {
        guard let values = QueryParameters.values(named: name, in: request.uri) else {
            return .failure(AuthFailure(.malformed, "bad escape in query"))
        }
        guard values.count <= 1 else { return .failure(AuthFailure(.malformed, "several token parameters")) }
        return .success(values.first.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The first cookie called `name` (RFC 6265 §4.2; a browser may send several of one name, most specific path
    /// first). Surrounding double quotes are removed.
    private static func cookie(_ name: String, in request: UpgradeRequest) -> Result<String?, AuthFailure> {
        for header in request.values(of: "cookie") {
            for pair in header.split(separator: ";") {
                let trimmed = pair.trimmingCharacters(in: .whitespaces)
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                var value = trimmed[trimmed.index(after: equals)...]
                if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
                    value = value.dropFirst().dropLast()
                }
                return .success(value.isEmpty ? nil : String(value))
            }
        }
        return .success(nil)
    }
}
