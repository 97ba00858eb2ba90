import Foundation
import NIOCore
import WebSocketTransport

/// The client side of the opening handshake (RFC 6455 §4.1): the upgrade request, and the checks a browser makes
/// on the answer. Pure computation, so it is tested without a network.
public struct WebSocketClientHandshake: Sendable, Hashable {
    /// The largest response head accepted (status line and headers).
    public static let maximumResponseHeadLength = 16 * 1024

    /// `Sec-WebSocket-Key`, fresh per connection.
    public let key: String
    /// The subprotocol offered, or nil to offer none (WeChat's `wx.connectSocket`).
    public let subprotocol: String?

    public init(key: String = WebSocketHandshake.randomKey(), subprotocol: String?) {
        self.key = key
        self.subprotocol = subprotocol
    }

    /// The GET request with the upgrade headers, ready to write.
    public func request(for target: BenchTarget) -> String {
        var request = "GET \(target.path) HTTP/1.1\r\n"
        request += "Host: \(target.hostHeader)\r\n"
        request += "Upgrade: websocket\r\n"
        request += "Connection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(self.key)\r\n"
        request += "Sec-WebSocket-Version: 13\r\n"
        if let subprotocol = self.subprotocol {
            request += "Sec-WebSocket-Protocol: \(subprotocol)\r\n"
        }
        request += "User-Agent: mqtt-ws-bench\r\n"
        request += "\r\n"
        return request
    }

    /// The number of bytes of the response head (up to and including the blank line), or nil when `buffer` does
    /// not hold all of it yet.
    public static func responseHeadLength(in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= 4 else { return nil }
            for index in 3..<bytes.count
            where bytes[index] == 0x0A && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
                return index + 1
            }
            return nil
        }
    }

    /// Checks the response head (without the body) like a browser does.
    ///
    /// - Throws: `BenchClientError` of kind `.upgrade` naming the first problem: a status other than 101 (with
    ///   the status line), missing `Upgrade: websocket` or `Connection: upgrade`, a wrong `Sec-WebSocket-Accept`,
    ///   a subprotocol answered that was not offered (WeChat fails these handshakes), an offered subprotocol not
    ///   answered (browsers fail these), or an extension the client did not ask for.
    public func validate(responseHead: String) throws(BenchClientError) {
        var lines = responseHead.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else {
            throw BenchClientError(.upgrade, "empty response to the upgrade request")
        }
        let statusLine = lines.removeFirst()
        let statusParts = statusLine.split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1.") else {
            throw BenchClientError(.upgrade, "not an HTTP response: \"\(statusLine.prefix(80))\"")
        }
        guard statusParts[1] == "101" else {
            throw BenchClientError(.upgrade, "upgrade refused: \"\(statusLine.prefix(120))\"")
        }
        var headers: [String: [String]] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                throw BenchClientError(.upgrade, "malformed header line \"\(line.prefix(80))\"")
            }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name, default: []].append(value)
        }
        func tokens(_ name: String) -> [String] {
            WebSocketHandshake.tokens(in: headers[name] ?? [])
        }
        guard tokens("upgrade").contains(where: { $0.lowercased() == "websocket" }) else {
            throw BenchClientError(.upgrade, "101 without \"Upgrade: websocket\"")
        }
        guard tokens("connection").contains(where: { $0.lowercased() == "upgrade" }) else {
            throw BenchClientError(.upgrade, "101 without \"Connection: Upgrade\"")
        }
        let expectedAccept = WebSocketHandshake.acceptValue(forKey: self.key)
        guard headers["sec-websocket-accept"] == [expectedAccept] else {
            throw BenchClientError(
                .upgrade, "Sec-WebSocket-Accept is \(headers["sec-websocket-accept"] ?? []), expected \(expectedAccept)")
        }
        let answered = tokens("sec-websocket-protocol")
        switch (self.subprotocol, answered.count) {
        case (nil, 0):
            break
        case (nil, _):
            throw BenchClientError(
                .upgrade,
                "the server answered Sec-WebSocket-Protocol \(answered.joined(separator: ", ")) although none was offered (WeChat fails such a handshake)"
            )
        case (let offered?, 0):
            throw BenchClientError(
                .upgrade, "offered Sec-WebSocket-Protocol \(offered) but the answer has none (browsers fail such a handshake)")
        case (let offered?, _):
            guard answered == [offered] else {
                throw BenchClientError(
                    .upgrade, "offered Sec-WebSocket-Protocol \(offered), the server answered \(answered.joined(separator: ", "))")
            }
        }
        let extensions = tokens("sec-websocket-extensions")
        guard extensions.isEmpty else {
            throw BenchClientError(.upgrade, "the server answered extensions \(extensions) that were not offered")
        }
    }
}
