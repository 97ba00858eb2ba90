/// The HTTP upgrade request, as plain values: what edge authentication reads from it (the token, the headers the
/// callout forwards). The front end builds it from its request head (`HTTPHeaders` is a sequence of these pairs).
///
/// The URI and the headers can hold a token, so the description shows the method, the path with the token
/// parameter removed, and header names only.
package struct UpgradeRequest: Sendable, CustomStringConvertible, CustomReflectable {
    package var method: String
    /// The request target as sent (`/wss?token=…`).
    package var uri: String
    package var headers: [(name: String, value: String)]

    package init(method: String, uri: String, headers: some Sequence<(name: String, value: String)>) {
        self.method = method
        self.uri = uri
        self.headers = Array(headers)
    }

    /// The values of every header called `name` (given in lower case; header names compare case-insensitively), in order.
    func values(of name: String) -> [String] {
        self.headers.compactMap { $0.name.lowercased() == name ? $0.value : nil }
    }

    package var description: String {
        let path = self.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? self.uri
        return "\(self.method) \(path) [\(self.headers.map(\.name).joined(separator: ", "))]"
    }

    package var customMirror: Mirror { Mirror(self, children: ["description": self.description], displayStyle: .struct) }
}
