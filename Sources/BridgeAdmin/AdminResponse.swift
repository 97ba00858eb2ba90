import NIOCore
import NIOHTTP1

/// One complete answer of the admin listener: status, extra headers and body. `Content-Length` and `Connection` are
/// added when it is written (`parts`).
struct AdminResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: [(String, String)]
    var body: [UInt8]

    init(status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
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
