import NIOCore
import NIOHTTP1

/// A body written over time (the event stream): `produce` writes chunks until it returns or a write throws (the
/// client went away). A write waits while the connection is not writable (its write buffer is over the channel's
/// high watermark), so what a slow reader costs is bounded by that buffer.
struct AdminBodyStream: Sendable {
    var produce: @Sendable (_ write: @escaping @Sendable ([UInt8]) async throws -> Void) async throws -> Void
}

/// One answer of the admin listener: status, extra headers and body. `Content-Length` and `Connection` are added when
/// it is written (`parts`). With `stream`, the body is written as it is produced (chunked) and the connection closes
/// after it.
struct AdminResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: [(String, String)]
    var body: [UInt8]
    var stream: AdminBodyStream?

    init(status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    init(status: HTTPResponseStatus, headers: [(String, String)], stream: AdminBodyStream) {
        self.status = status
        self.headers = headers
        self.body = []
        self.stream = stream
    }

    /// A JSON answer; never cached (health and readiness change from one second to the next).
    static func json(_ status: HTTPResponseStatus, _ json: JSONWriter, headers: [(String, String)] = []) -> AdminResponse {
        AdminResponse(
            status: status,
            headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")] + headers,
            body: json.encoded)
    }

    /// `{"error": message, "field": field}`.
    static func error(
        _ status: HTTPResponseStatus, _ message: String, field: String? = nil, headers: [(String, String)] = []
    ) -> AdminResponse {
        json(status, .error(message, field: field), headers: headers)
    }

    /// The response as the parts NIOHTTP1's encoder writes: head (with `Content-Length`, and `Connection: close`
    /// unless `keepAlive`), the body unless `withBody` is false (HEAD requests), end.
    func parts(keepAlive: Bool, withBody: Bool) -> [HTTPServerResponsePart] {
        var headers = HTTPHeaders(self.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        }
        var parts: [HTTPServerResponsePart] = [.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))]
        if withBody && !body.isEmpty {
            parts.append(.body(.byteBuffer(ByteBuffer(bytes: body))))
        }
        parts.append(.end(nil))
        return parts
    }
}
