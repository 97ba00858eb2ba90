/// Where the load goes: `mqtt://host:port` (MQTT over TCP), `ws://host:port/path` or `wss://host:port/path`.
///
/// Parsed by hand rather than with Foundation's `URL` so that the rules are explicit and identical on every
/// platform: a scheme is required, the port defaults per scheme (1883, 80, 443), IPv6 literals go in brackets,
/// the path (and query, kept as is for the request line) only exists for WebSocket targets.
package struct BenchTarget: Sendable, Hashable, CustomStringConvertible {
    /// How bytes reach the server.
    package enum Transport: String, Sendable, Hashable, Codable, CaseIterable {
        /// MQTT straight over TCP (a broker's MQTT listener).
        case mqtt
        /// MQTT over WebSocket, no TLS.
        case ws
        /// MQTT over WebSocket over TLS.
        case wss

        /// The port used when the URL names none.
        package var defaultPort: Int {
            switch self {
            case .mqtt: 1883
            case .ws: 80
            case .wss: 443
            }
        }

        /// True when the transport carries MQTT inside WebSocket frames.
        package var isWebSocket: Bool { self != .mqtt }

        /// True when the transport is TLS.
        package var usesTLS: Bool { self == .wss }
    }

    package var transport: Transport
    /// A host name or an IP literal (IPv6 without the brackets).
    package var host: String
    package var port: Int
    /// The request target of the upgrade request ("/" when the URL has no path); always "/" for `mqtt`.
    package var path: String

    package init(transport: Transport, host: String, port: Int? = nil, path: String = "/") {
        self.transport = transport
        self.host = host
        self.port = port ?? transport.defaultPort
        self.path = path
    }

    /// Parses a target URL.
    ///
    /// - Throws: `BenchUsageError` naming what is wrong (unknown scheme, missing host, bad port, a path on `mqtt://`).
    package init(parsing text: String) throws(BenchUsageError) {
        guard let schemeEnd = text.range(of: "://") else {
            throw BenchUsageError("target \"\(text)\": expected mqtt://host[:port], ws://host[:port]/path or wss://host[:port]/path")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard let transport = Transport(rawValue: scheme) else {
            throw BenchUsageError("target \"\(text)\": unknown scheme \"\(scheme)\" (use mqtt, ws or wss)")
        }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.hasPrefix("?") {
            path = "/" + path
        }
        if path.isEmpty {
            path = "/"
        }
        if transport == .mqtt && path != "/" {
            throw BenchUsageError("target \"\(text)\": mqtt:// takes no path")
        }
        if authority.contains("@") {
            throw BenchUsageError("target \"\(text)\": credentials in the URL are not supported (use --username/--password)")
        }

        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw BenchUsageError("target \"\(text)\": unterminated IPv6 literal")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterBracket = authority[authority.index(after: close)...]
            if !afterBracket.isEmpty {
                guard afterBracket.hasPrefix(":") else {
                    throw BenchUsageError("target \"\(text)\": unexpected \"\(afterBracket)\" after the IPv6 literal")
                }
                portText = afterBracket.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else {
            throw BenchUsageError("target \"\(text)\": missing host")
        }
        var port: Int?
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw BenchUsageError("target \"\(text)\": port must be 1-65535, got \"\(portText)\"")
            }
            port = value
        }
        self.init(transport: transport, host: String(host), port: port, path: path)
    }

    /// The `Host` header value: the host (bracketed when IPv6) plus the port when it is not the default.
    package var hostHeader: String {
        let bracketed = self.host.contains(":") ? "[\(self.host)]" : self.host
        return self.port == self.transport.defaultPort ? bracketed : "\(bracketed):\(self.port)"
    }

    package var description: String {
        let bracketed = self.host.contains(":") ? "[\(self.host)]" : self.host
        let suffix = self.transport.isWebSocket ? self.path : ""
        return "\(self.transport.rawValue)://\(bracketed):\(self.port)\(suffix)"
    }
}
