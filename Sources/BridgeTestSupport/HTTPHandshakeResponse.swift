import Foundation

/// An HTTP response to an upgrade request, exactly as the server sent it.
///
/// Headers are kept in order and with their original spelling so tests can assert what went over the wire
/// (e.g. that no `Sec-WebSocket-Protocol` header exists at all, or that it appears once).
package struct HTTPHandshakeResponse: Sendable, CustomStringConvertible {
    /// `HTTP/1.1` as sent.
    package var version: String
    package var status: Int
    package var reason: String
    package var headers: [(name: String, value: String)]
    /// The body decoded as UTF-8 (invalid bytes replaced); `bodyBytes` has the exact bytes.
    /// A chunked body is de-chunked. A 101 has no body.
    package var body: String { String(decoding: bodyBytes, as: UTF8.self) }
    package var bodyBytes: [UInt8]
    /// The status line and header lines exactly as received, including the terminating empty line (`\r\n\r\n`).
    package var rawHead: String

    package init(
        version: String, status: Int, reason: String, headers: [(name: String, value: String)],
        bodyBytes: [UInt8], rawHead: String
    ) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.bodyBytes = bodyBytes
        self.rawHead = rawHead
    }

    /// Every value of the header `name` (case-insensitive), in order; empty when the header is absent.
    package func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// The comma-separated tokens of every `name` header, lowercased and trimmed
    /// (`Connection: keep-alive, Upgrade` → `["keep-alive", "upgrade"]`).
    package func tokens(_ name: String) -> [String] {
        values(name).flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
    }

    package var description: String {
        rawHead + (bodyBytes.isEmpty ? "" : body)
    }
}

/// Parses a response head (everything up to and including the empty line).
enum HTTPResponseHeadParser {
    /// Returns the parsed head, or a sentence saying what is wrong with it.
    static func parse(_ head: [UInt8]) -> Result<HTTPHandshakeResponse, TestClientError> {
        let text = String(decoding: head, as: UTF8.self)
        func failure(_ why: String) -> Result<HTTPHandshakeResponse, TestClientError> {
            .failure(TestClientError(.handshakeFailed, "malformed HTTP response head (\(why)):\n\(text)"))
        }
        guard head.count >= 4, head.suffix(4).elementsEqual([0x0D, 0x0A, 0x0D, 0x0A]) else {
            return failure("no CRLF CRLF at the end")
        }
        // Cut bytes, not Characters: "\r\n" is a single Character in Swift.
        var lines = String(decoding: head.dropLast(4), as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3, let status = Int(parts[1]) else {
            return failure("bad status line \"\(statusLine)\"")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                return failure("bad header line \"\(line)\"")
            }
            let name = String(line[..<colon])
            guard !name.contains(where: { $0 == " " || $0 == "\t" }) else {
                return failure("whitespace in header name \"\(name)\"")
            }
            headers.append((name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return .success(
            HTTPHandshakeResponse(
                version: String(parts[0]), status: status, reason: parts.count > 2 ? String(parts[2]) : "",
                headers: headers, bodyBytes: [], rawHead: text
            )
        )
    }
}
