import Foundation

/// The query string of a request URI, read and redacted by parameter name.
///
/// Names and values are compared after percent-decoding; `+` is kept as it is (tokens never contain spaces, and
/// an opaque token in standard base64 keeps its `+`).
package enum QueryParameters {
    /// The decoded values of every `name=value` pair called `name`, in order; nil when the query cannot be decoded
    /// (a bad `%` escape in a pair of that name).
    static func values(named name: String, in uri: String) -> [String]? {
        var values: [String] = []
        for pair in Self.pairs(in: uri) {
            let (rawName, rawValue) = Self.split(pair)
            guard Self.decode(rawName) == name else { continue }
            guard let value = Self.decode(rawValue ?? "") else { return nil }
            values.append(value)
        }
        return values
    }

    /// `uri` without the query parameter `name` (every occurrence): what may be logged. The rest is kept byte for
    /// byte; a query left empty loses its `?`. `/wss?token=eyJ…&v=2` → `/wss?v=2`.
    package static func removing(_ name: String, from uri: String) -> String {
        guard let question = uri.firstIndex(of: "?") else { return uri }
        let fragmentStart = uri[question...].firstIndex(of: "#") ?? uri.endIndex
        let kept = uri[uri.index(after: question)..<fragmentStart]
            .split(separator: "&", omittingEmptySubsequences: false)
            .filter { pair in
                let rawName = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                // A name that does not decode cannot be `name`; keep it.
                return Self.decode(rawName) != name
            }
        let path = uri[..<question]
        let fragment = uri[fragmentStart...]
        return kept.isEmpty || kept == [""] ? String(path + fragment) : path + "?" + kept.joined(separator: "&") + fragment
    }

    private static func pairs(in uri: String) -> [Substring] {
        guard let question = uri.firstIndex(of: "?") else { return [] }
        let end = uri[question...].firstIndex(of: "#") ?? uri.endIndex
        return uri[uri.index(after: question)..<end].split(separator: "&")
    }

    private static func split(_ pair: Substring) -> (Substring, Substring?) {
        guard let equals = pair.firstIndex(of: "=") else { return (pair, nil) }
        return (pair[..<equals], pair[pair.index(after: equals)...])
    }

    /// RFC 3986 percent-decoding (Foundation's); nil for a bad escape or bytes that are not UTF-8.
    static func decode(_ text: some StringProtocol) -> String? {
        text.removingPercentEncoding
    }
}
