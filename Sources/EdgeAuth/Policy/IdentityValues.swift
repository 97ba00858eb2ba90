/// What placeholders are filled in from, for one session: the verified identity (nil for an anonymous session on
/// a route where auth is not required) and the CONNECT's client id and user name.
struct IdentityValues: Sendable {
    var identity: AuthIdentity?
    var clientID: String?
    var username: String?

    /// A placeholder's value, if it is usable in a topic: present, text, not empty, and without `+`, `#` or `/`
    /// (which would turn one topic level into a wildcard or several levels) or NUL. Anything else refuses the
    /// session: a token must never be able to widen its own access. The reason names the placeholder, never the value.
    func value(for placeholder: IdentityTemplate.Placeholder) -> Result<String, AuthFailure> {
        let value: String? =
            switch placeholder {
            case .subject: self.identity?.subject
            case .claim(let name): self.identity?.claims[name]?.templateText
            case .clientID: self.clientID
            case .username: self.username
            }
        guard let value else {
            return .failure(AuthFailure(.unusableIdentity, "\(placeholder) is missing or not text"))
        }
        guard Self.isUsable(value) else {
            return .failure(AuthFailure(.unusableIdentity, "\(placeholder) is not usable in a topic"))
        }
        return .success(value)
    }

    static func isUsable(_ value: String) -> Bool {
        !value.isEmpty && !value.utf8.contains { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "/") || $0 == 0 }
    }
}
