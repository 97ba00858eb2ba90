/// `routes.<name>.auth.client_id_pattern`, e.g. `mp-{sub}-*`: the CONNECT's client id must match it, so one user
/// cannot take over another's session (the broker disconnects an older session when a new one uses its id).
///
/// Placeholders are filled in from the identity (their values are matched literally: a `*` in a `sub` is just a
/// character); `*` in the pattern matches any run of characters, the empty one included.
package struct ClientIDPattern: Sendable, Hashable, CustomStringConvertible {
    let template: IdentityTemplate

    package init(_ pattern: String) throws(TemplateError) {
        let template = try IdentityTemplate(pattern, wildcards: true)
        if template.placeholders.contains(.clientID) {
            throw TemplateError("'\(pattern)': {client_id} cannot be part of the pattern the client id is matched against")
        }
        self.template = template
    }

    package var description: String { self.template.text }

    /// Whether `clientID` matches; fails when a placeholder's value is missing or unusable.
    func check(_ clientID: String, values: IdentityValues) -> AuthFailure? {
        var pieces: [[UInt8]?] = []  // nil: a wildcard
        for part in self.template.parts {
            switch part {
            case .literal(let text): pieces.append(Array(text.utf8))
            case .wildcard: pieces.append(nil)
            case .placeholder(let placeholder):
                switch values.value(for: placeholder) {
                case .success(let value): pieces.append(Array(value.utf8))
                case .failure(let failure): return failure
                }
            }
        }
        return Self.matches(Array(clientID.utf8), pieces) ? nil : AuthFailure(.clientIDNotAllowed)
    }

    /// Glob matching with `*` only, over bytes: literal pieces must appear in order, the first anchored at the start
    /// unless a wildcard precedes it, the last at the end unless one follows. Greedy with one backtrack point:
    /// linear in practice, quadratic at worst for these short strings.
    static func matches(_ text: [UInt8], _ pieces: [[UInt8]?]) -> Bool {
        var pattern: [UInt8?] = []  // nil: wildcard
        for piece in pieces {
            if let piece { pattern += piece.map { $0 } } else { pattern.append(nil) }
        }
        var (t, p) = (0, 0)
        var backtrack: (pattern: Int, text: Int)? = nil
        while t < text.count {
            if p < pattern.count, let byte = pattern[p], byte == text[t] {
                t += 1
                p += 1
            } else if p < pattern.count, pattern[p] == nil {
                backtrack = (p, t)
                p += 1
            } else if let point = backtrack {
                p = point.pattern + 1
                t = point.text + 1
                backtrack = (point.pattern, point.text + 1)
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == nil { p += 1 }
        return p == pattern.count
    }
}
