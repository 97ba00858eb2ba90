/// One entry of `listeners.<name>.tls.sni.<name>.server_names`: an exact DNS name (`api.example.com`) or a wildcard
/// for exactly one leftmost label (`*.example.com`), the same rule certificates use (RFC 6125 §6.4.3), so a
/// pattern selects the certificate that can actually serve the name.
///
/// It lives in SettingsSupport because configuration validation (BridgeConfig) and the runtime lookup (BridgeTLS) must
/// agree on what a name is.
package struct ServerNamePattern: Sendable, Hashable, CustomStringConvertible {
    /// Why a text is not a usable pattern; the message describes the value, the caller adds the key.
    package struct Invalid: Error, Sendable, CustomStringConvertible {
        package let description: String
    }

    /// The name, lowercased and without a trailing dot; for a wildcard, the part after `*.`.
    package let name: String
    /// `*.name`: matches `<one label>.name`.
    package let isWildcard: Bool

    package init(_ text: String) throws(Invalid) {
        let normalized = Self.normalize(text)
        if normalized.isEmpty {
            throw Invalid(description: "a server name must not be empty")
        }
        if Self.isIPAddress(normalized) {
            throw Invalid(
                description: "'\(text)' is an IP address; clients never send an IP address as SNI (they get the default certificate)")
        }
        var host = Substring(normalized)
        var isWildcard = false
        if host.hasPrefix("*.") {
            host = host.dropFirst(2)
            isWildcard = true
        }
        if host.contains("*") {
            throw Invalid(description: "'\(text)': a wildcard must be the whole first label, as in *.example.com")
        }
        if isWildcard && !host.contains(".") {
            throw Invalid(description: "'\(text)' is too broad: a wildcard needs at least two labels after '*.' (e.g. *.example.com)")
        }
        guard Self.isHostName(host) else {
            throw Invalid(
                description:
                    "'\(text)' is not a DNS name (labels of letters, digits, '-' and '_', up to 63 characters each, separated by dots)")
        }
        self.name = String(host)
        self.isWildcard = isWildcard
    }

    package var description: String { self.isWildcard ? "*." + self.name : self.name }

    /// Whether `serverName` (already `normalize`d) is covered by this pattern.
    package func matches(_ serverName: String) -> Bool {
        guard self.isWildcard else { return serverName == self.name }
        return Self.parentDomain(of: serverName) == self.name
    }

    /// What a wildcard pattern for `serverName` would carry as its `name`: everything after the first label, or
    /// `nil` when there is no label to drop (`example` alone).
    package static func parentDomain(of serverName: String) -> String? {
        guard let dot = serverName.firstIndex(of: "."), dot != serverName.startIndex else { return nil }
        let parent = serverName[serverName.index(after: dot)...]
        return parent.isEmpty ? nil : String(parent)
    }

    /// Lowercased (DNS names are case-insensitive) and without one trailing dot (`example.com.` is the same name).
    package static func normalize(_ serverName: String) -> String {
        var lowered = serverName.lowercased()
        if lowered.hasSuffix(".") { lowered.removeLast() }
        return lowered
    }

    private static func isHostName(_ host: Substring) -> Bool {
        guard host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
    }

    /// Dotted-quad IPv4 or anything with a colon (IPv6); host names never contain a colon.
    private static func isIPAddress(_ text: String) -> Bool {
        if text.contains(":") { return true }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isNumber) }
    }
}
