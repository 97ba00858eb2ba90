/// Text with placeholders for a session's identity: `{sub}`, `{client_id}`, `{username}`, `{claim:NAME}`; a client
/// id pattern may also hold `*` wildcards. Parsed once, when the settings are built; filled in per session.
///
/// Braces have no other meaning: a `{` or `}` outside a placeholder is an error, not a literal character.
struct IdentityTemplate: Sendable, Hashable {
    enum Placeholder: Sendable, Hashable, CustomStringConvertible {
        case subject
        case clientID
        case username
        case claim(String)

        /// Whether filling it in needs a verified identity (rather than the CONNECT alone).
        var needsIdentity: Bool {
            switch self {
            case .subject, .claim: true
            case .clientID, .username: false
            }
        }

        var description: String {
            switch self {
            case .subject: "{sub}"
            case .clientID: "{client_id}"
            case .username: "{username}"
            case .claim(let name): "{claim:\(name)}"
            }
        }
    }

    enum Part: Sendable, Hashable {
        case literal(String)
        case placeholder(Placeholder)
        /// `*` in a client id pattern: any run of characters, the empty one included.
        case wildcard
    }

    let text: String
    let parts: [Part]

    init(_ text: String, wildcards: Bool) throws(TemplateError) {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        func flush() {
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
        }
        while let character = rest.first {
            rest = rest.dropFirst()
            switch character {
            case "{":
                guard let close = rest.firstIndex(of: "}") else {
                    throw TemplateError("'\(text)': '{' without '}'")
                }
                let name = rest[..<close]
                rest = rest[rest.index(after: close)...]
                flush()
                parts.append(.placeholder(try Self.placeholder(String(name), in: text)))
            case "}":
                throw TemplateError("'\(text)': '}' without '{'")
            case "*" where wildcards:
                flush()
                parts.append(.wildcard)
            default:
                literal.append(character)
            }
        }
        flush()
        self.text = text
        self.parts = parts
    }

    private static func placeholder(_ name: String, in text: String) throws(TemplateError) -> Placeholder {
        switch name {
        case "sub": return .subject
        case "client_id": return .clientID
        case "username": return .username
        default:
            if name.hasPrefix("claim:") {
                let claim = String(name.dropFirst("claim:".count))
                guard !claim.isEmpty, !claim.contains("{") else { throw TemplateError("'\(text)': {claim:} needs a claim name") }
                return .claim(claim)
            }
            throw TemplateError("'\(text)': unknown placeholder {\(name)} (use {sub}, {client_id}, {username} or {claim:NAME})")
        }
    }

    var placeholders: [Placeholder] {
        self.parts.compactMap { if case .placeholder(let placeholder) = $0 { placeholder } else { nil } }
    }

    var hasPlaceholders: Bool { !self.placeholders.isEmpty }

    /// Whether the text starts with a literal `$` (a `$SYS/…` filter written by the operator).
    var startsWithLiteralDollar: Bool {
        if case .literal(let text) = self.parts.first { text.hasPrefix("$") } else { false }
    }

    /// The text with every placeholder replaced by its value; wildcards stay `*` (the client id pattern reads them
    /// from `parts`). Fails when a value is absent or unusable (`IdentityValues.value(for:)`).
    func filled(with values: IdentityValues) -> Result<String, AuthFailure> {
        var result = ""
        for part in self.parts {
            switch part {
            case .literal(let text): result += text
            case .wildcard: result += "*"
            case .placeholder(let placeholder):
                switch values.value(for: placeholder) {
                case .success(let value): result += value
                case .failure(let failure): return .failure(failure)
                }
            }
        }
        return .success(result)
    }
}

/// A template that does not parse; the settings mapper adds the key (`routes.<name>.topic_policy.subscribe[0]`).
package struct TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    package let message: String

    init(_ message: String) {
        self.message = message
    }

    package var description: String { self.message }
}
