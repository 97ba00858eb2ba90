import Foundation
import MQTTWire

/// What the bridge POSTs to `auth.http.url`: a JSON description of one attempt.
///
/// ```json
/// {"route": "miniprogram", "stage": "connect", "client_address": "203.0.113.7",
///  "headers": {"x-wx-openid": "…"}, "token": "…", "token_source": "query",
///  "client_id": "mp-42", "username": "u42", "password": "…"}
/// ```
/// `stage` is `upgrade` when the decision is made before the 101 (no client id or user name yet), `connect` when it
/// waits for the CONNECT. `token` is the token from the route's request sources; the CONNECT's password is sent only
/// with `send_password: true` (as `password`, or `password_base64` when it is not UTF-8). Absent values are left out.
///
/// It holds credentials, so its description and mirror show the route and stage only.
struct CalloutRequest: Encodable, Sendable, CustomStringConvertible, CustomReflectable {
    enum Stage: String, Encodable, Sendable {
        case upgrade, connect
    }

    var route: String
    var stage: Stage
    var clientAddress: String
    var headers: [String: String]
    var token: String?
    var tokenSource: TokenSource?
    var clientID: String?
    var username: String?
    var password: String?
    var passwordBase64: String?

    enum CodingKeys: String, CodingKey {
        case route, stage, headers, token, username, password
        case clientAddress = "client_address"
        case tokenSource = "token_source"
        case clientID = "client_id"
        case passwordBase64 = "password_base64"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.route, forKey: .route)
        try container.encode(self.stage, forKey: .stage)
        try container.encode(self.clientAddress, forKey: .clientAddress)
        try container.encode(self.headers, forKey: .headers)
        try container.encodeIfPresent(self.token, forKey: .token)
        try container.encodeIfPresent(self.tokenSource?.rawValue, forKey: .tokenSource)
        try container.encodeIfPresent(self.clientID, forKey: .clientID)
        try container.encodeIfPresent(self.username, forKey: .username)
        try container.encodeIfPresent(self.password, forKey: .password)
        try container.encodeIfPresent(self.passwordBase64, forKey: .passwordBase64)
    }

    /// The allow-listed headers of a request, by lower-case name; several values of one name are joined with ", ".
    static func forwardedHeaders(of request: UpgradeRequest, allowed: Set<String>) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in request.headers {
            let name = name.lowercased()
            guard allowed.contains(name) else { continue }
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        return headers
    }

    mutating func setPassword(_ password: MQTTPassword?) {
        guard let password else { return }
        if let text = password.string {
            self.password = text
        } else {
            self.passwordBase64 = Data(password.bytes).base64EncodedString()
        }
    }

    /// The body: JSON with sorted keys, so that the same attempt always gives the same bytes (the cache key).
    func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    var description: String { "callout(route: \(self.route), stage: \(self.stage.rawValue))" }
    var customMirror: Mirror { Mirror(self, children: ["description": self.description], displayStyle: .struct) }
}

/// The backend's answer: `{"allow": true, "sub": "42", "publish": ["up/42/+"], "subscribe": ["push/user/42/#"]}`.
/// `sub`, `publish` and `subscribe` are optional; given lists replace the route's `topic_policy` lists for the
/// session. HTTP 401 or 403 is a deny too; any other status, or a body that is not this, counts as unavailable.
struct CalloutAnswer: Decodable, Sendable, Hashable {
    var allow: Bool
    var sub: String?
    var publish: [String]?
    var subscribe: [String]?

    /// Empty strings are not topics or subjects; the answer is then unusable (a backend bug, treated as unavailable).
    var isUsable: Bool {
        self.sub?.isEmpty != true && ([self.publish, self.subscribe].allSatisfy { $0?.contains("") != true })
    }
}
