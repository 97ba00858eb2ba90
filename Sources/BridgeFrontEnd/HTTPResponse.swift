import NIOCore
import NIOHTTP1

/// The HTTP responses the front end writes itself, as raw bytes: the 101, refusals and static files.
///
/// Written by hand rather than through NIOHTTP1's encoder so the 101's header set is exactly what the handshake
/// needs and nothing else (WeChat is strict about the 101); the reason phrases are NIOHTTP1's.
enum HTTPResponse {
    static func switchingProtocols(
        accept: String, subprotocol: String?, extensions: String?, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)]
        if let subprotocol { headers.append(("Sec-WebSocket-Protocol", subprotocol)) }
        if let extensions { headers.append(("Sec-WebSocket-Extensions", extensions)) }
        return Self.head(status: 101, headers: headers, allocator: allocator)
    }

    /// A refusal: a one-line plain-text reason; the connection is closed after it (`Connection: close` unless
    /// `extraHeaders` names a `Connection` itself).
    static func refusal(
        _ status: Int, _ reason: String, extraHeaders: [(String, String)] = [], allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let body = reason + "\n"
        var headers = extraHeaders
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
        headers.append(("Content-Length", "\(body.utf8.count)"))
        if !extraHeaders.contains(where: { $0.0 == "Connection" }) {
            headers.append(("Connection", "close"))
        }
        var buffer = Self.head(status: status, headers: headers, allocator: allocator, bodyCapacity: body.utf8.count)
        buffer.writeString(body)
        return buffer
    }

    /// Status line and headers, up to and including the empty line.
    static func head(
        status: Int, headers: [(String, String)], allocator: ByteBufferAllocator, bodyCapacity: Int = 0
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + bodyCapacity)
        buffer.writeString("HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n")
        for (name, value) in headers {
            buffer.writeString("\(name): \(value)\r\n")
        }
        buffer.writeString("\r\n")
        return buffer
    }
}
