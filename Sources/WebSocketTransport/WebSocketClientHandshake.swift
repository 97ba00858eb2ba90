import NIOCore
import TextTrimming

/// The client side of the opening handshake (RFC 6455 §4.1): the upgrade request, and the checks a browser makes on
/// the answer. Pure computation, so it is tested without a network; `WebSocketClientUpgradeHandler` performs it.
package struct WebSocketClientHandshake: Sendable, Hashable {
    /// The largest response head accepted (status line and headers): a 101 is a few hundred bytes.
    package static let maximumResponseHeadLength = 16 * 1024

    /// The `Host` header: `host`, or `host:port` when the port is not the scheme's default.
    package var host: String
    /// The request target, e.g. `/mqtt`.
    package var path: String
    /// The subprotocols offered; empty offers none (no `Sec-WebSocket-Protocol` line, like WeChat's
    /// `wx.connectSocket`).
    package var subprotocols: [String]
    /// Fail when subprotocols were offered and the answer chose none. RFC 6455 allows such an answer; browsers fail
    /// it, so a client that stands in for one (the load generator) checks it too.
    package var requiresSubprotocolAnswer: Bool
    /// A `User-Agent` line, if any.
    package var userAgent: String?
    /// `Sec-WebSocket-Key`, fresh per connection.
    package let key: String

    package init(
        host: String, path: String, subprotocols: [String], requiresSubprotocolAnswer: Bool = false, userAgent: String? = nil,
        key: String = WebSocketHandshake.randomKey()
    ) {
        self.host = host
        self.path = path
        self.subprotocols = subprotocols
        self.requiresSubprotocolAnswer = requiresSubprotocolAnswer
        self.userAgent = userAgent
        self.key = key
    }

    /// The GET request with the upgrade headers, ready to write.
    package var request: String {
        var request = "GET \(self.path) HTTP/1.1\r\nHost: \(self.host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(self.key)\r\nSec-WebSocket-Version: 13\r\n"
        if !self.subprotocols.isEmpty {
            request += "Sec-WebSocket-Protocol: \(self.subprotocols.joined(separator: ", "))\r\n"
        }
        if let userAgent = self.userAgent {
            request += "User-Agent: \(userAgent)\r\n"
        }
        return request + "\r\n"
    }

    /// The number of bytes of the response head (up to and including the blank line), or nil when `buffer` does
    /// not hold all of it yet.
    package static func responseHeadLength(in buffer: ByteBuffer) -> Int? {
        buffer.readableBytesView.firstRange(of: [13, 10, 13, 10]).map { $0.upperBound - buffer.readableBytesView.startIndex }
    }

    /// Checks the response head (without the body) like a browser does; returns the subprotocol the server chose.
    ///
    /// - Throws: `WebSocketClientHandshakeError` naming the first problem: a status other than 101 (with the status
    ///   line), missing `Upgrade: websocket` or `Connection: upgrade`, a wrong `Sec-WebSocket-Accept`, a subprotocol
    ///   answered that was not offered (WeChat fails these handshakes), an offered subprotocol not answered (with
    ///   `requiresSubprotocolAnswer`), or an extension the client did not ask for.
    package func validate(responseHead: String) throws(WebSocketClientHandshakeError) -> String? {
        var lines = responseHead.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else {
            throw WebSocketClientHandshakeError("empty response to the upgrade request")
        }
        let statusLine = lines.removeFirst()
        let statusParts = statusLine.split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1.") else {
            throw WebSocketClientHandshakeError("not an HTTP response: \"\(statusLine.prefix(80))\"")
        }
        guard statusParts[1] == "101" else {
            throw WebSocketClientHandshakeError("upgrade refused: \"\(statusLine.prefix(120))\" to GET \(self.path)")
        }
        var headers: [String: [String]] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                throw WebSocketClientHandshakeError("malformed header line \"\(line.prefix(80))\"")
            }
            headers[line[..<colon].lowercased(), default: []].append(String(line[line.index(after: colon)...].trimmingASCIIWhitespace()))
        }
        func tokens(_ name: String) -> [String] {
            WebSocketHandshake.tokens(in: headers[name] ?? [])
        }
        guard tokens("upgrade").contains(where: { $0.lowercased() == "websocket" }) else {
            throw WebSocketClientHandshakeError("101 without \"Upgrade: websocket\"")
        }
        guard tokens("connection").contains(where: { $0.lowercased() == "upgrade" }) else {
            throw WebSocketClientHandshakeError("101 without \"Connection: Upgrade\"")
        }
        let expectedAccept = WebSocketHandshake.acceptValue(forKey: self.key)
        guard headers["sec-websocket-accept"] == [expectedAccept] else {
            throw WebSocketClientHandshakeError(
                "Sec-WebSocket-Accept is \(headers["sec-websocket-accept"] ?? []), expected \(expectedAccept)")
        }
        let chosen = try self.chosenSubprotocol(answered: tokens("sec-websocket-protocol"))
        let extensions = tokens("sec-websocket-extensions")
        guard extensions.isEmpty else {
            throw WebSocketClientHandshakeError("the server answered extensions \(extensions) that were not offered")
        }
        return chosen
    }

    private func chosenSubprotocol(answered: [String]) throws(WebSocketClientHandshakeError) -> String? {
        let offered = self.subprotocols.joined(separator: ", ")
        switch (self.subprotocols.isEmpty, answered.count) {
        case (true, 0):
            return nil
        case (true, _):
            throw WebSocketClientHandshakeError(
                "the server answered Sec-WebSocket-Protocol \(answered.joined(separator: ", ")) although none was offered (WeChat fails such a handshake)"
            )
        case (false, 0):
            guard !self.requiresSubprotocolAnswer else {
                throw WebSocketClientHandshakeError(
                    "offered Sec-WebSocket-Protocol \(offered) but the answer has none (browsers fail such a handshake)")
            }
            return nil
        case (false, _):
            guard answered.count == 1, self.subprotocols.contains(answered[0]) else {
                throw WebSocketClientHandshakeError(
                    "offered Sec-WebSocket-Protocol \(offered), the server answered \(answered.joined(separator: ", "))")
            }
            return answered[0]
        }
    }
}

/// Why a WebSocket server's answer to the upgrade request was refused, or the handshake did not complete.
package struct WebSocketClientHandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    package var reason: String

    package init(_ reason: String) {
        self.reason = reason
    }

    package var description: String { self.reason }
}
