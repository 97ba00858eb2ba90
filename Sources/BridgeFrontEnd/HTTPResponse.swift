import NIOCore

/// The few HTTP responses the front end sends, written as raw bytes.
///
/// The 101 is written by hand rather than through NIOHTTP1's encoder so its header set is exactly
/// what the handshake needs and nothing else (WeChat is strict about the 101).
struct HTTPResponse: Sendable, Hashable {
    var status: Int
    var reasonPhrase: String
    var headers: [(String, String)]
    var body: String

    static func switchingProtocols(accept: String, subprotocol: String?, extensions: String? = nil) -> HTTPResponse {
        var headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)]
        if let subprotocol { headers.append(("Sec-WebSocket-Protocol", subprotocol)) }
        if let extensions { headers.append(("Sec-WebSocket-Extensions", extensions)) }
        return HTTPResponse(status: 101, reasonPhrase: "Switching Protocols", headers: headers, body: "")
    }

    /// A refusal: a one-line plain-text reason, and the connection is closed after it.
    static func refusal(_ status: Int, _ reason: String, extraHeaders: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, reasonPhrase: Self.reasonPhrase(for: status), headers: extraHeaders, body: reason + "\n")
    }

    func encode(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + self.body.utf8.count)
        buffer.writeString("HTTP/1.1 \(self.status) \(self.reasonPhrase)\r\n")
        for (name, value) in self.headers {
            buffer.writeString("\(name): \(value)\r\n")
        }
        if self.status != 101 {
            buffer.writeString("Content-Type: text/plain; charset=utf-8\r\n")
            buffer.writeString("Content-Length: \(self.body.utf8.count)\r\n")
            if !self.headers.contains(where: { $0.0 == "Connection" }) {
                buffer.writeString("Connection: close\r\n")
            }
        }
        buffer.writeString("\r\n")
        buffer.writeString(self.body)
        return buffer
    }

    static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }

    static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.reasonPhrase == rhs.reasonPhrase && lhs.body == rhs.body
            && lhs.headers.map { "\($0.0): \($0.1)" } == rhs.headers.map { "\($0.0): \($0.1)" }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(self.status)
        hasher.combine(self.body)
    }
}
