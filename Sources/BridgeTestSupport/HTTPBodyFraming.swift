import Foundation

/// How the end of a non-101 response body is found (RFC 9112 §6.3), and chunked decoding.
enum HTTPBodyFraming: Equatable {
    case none
    case length(Int)
    case chunked
    case untilClose

    /// The framing a response head announces, or a reason it is unusable.
    static func of(_ response: HTTPHandshakeResponse) -> Result<HTTPBodyFraming, TestClientError> {
        if (100..<200).contains(response.status) || response.status == 204 || response.status == 304 {
            return .success(.none)
        }
        if response.tokens("Transfer-Encoding").last == "chunked" {
            return .success(.chunked)
        }
        let lengths = Set(
            response.values("Content-Length").flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) })
        guard let first = lengths.first else { return .success(.untilClose) }
        guard lengths.count == 1, let length = Int(first), length >= 0 else {
            return .failure(TestClientError(.handshakeFailed, "unusable Content-Length in:\n\(response.rawHead)"))
        }
        return .success(length == 0 ? .none : .length(length))
    }
}

/// Decodes a `Transfer-Encoding: chunked` body from all raw body bytes received so far.
enum ChunkedBody {
    enum Outcome: Equatable {
        case complete([UInt8])
        case incomplete
        case malformed(String)
    }

    static func decode(_ raw: [UInt8]) -> Outcome {
        var index = 0
        var body: [UInt8] = []
        while true {
            guard let lineEnd = raw.firstCRLF(from: index) else { return .incomplete }
            let line = String(decoding: raw[index..<lineEnd], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                return .malformed("bad chunk-size line \"\(line)\"")
            }
            index = lineEnd + 2
            if size == 0 {
                // Trailer fields until an empty line.
                while true {
                    guard let end = raw.firstCRLF(from: index) else { return .incomplete }
                    if end == index { return .complete(body) }
                    index = end + 2
                }
            }
            guard raw.count >= index + size + 2 else { return .incomplete }
            body.append(contentsOf: raw[index..<(index + size)])
            guard raw[index + size] == 0x0D, raw[index + size + 1] == 0x0A else {
                return .malformed("chunk of \(size) bytes not followed by CRLF")
            }
            index += size + 2
        }
    }
}

extension Array where Element == UInt8 {
    /// Index of the next `\r\n` at or after `start`.
    func firstCRLF(from start: Int) -> Int? {
        var index = start
        while index + 1 < count {
            if self[index] == 0x0D && self[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    /// Index of the first `\r\n\r\n` (the end of an HTTP head).
    func firstEmptyLine() -> Int? {
        var index = 0
        while index + 3 < count {
            if self[index] == 0x0D && self[index + 1] == 0x0A && self[index + 2] == 0x0D && self[index + 3] == 0x0A {
                return index
            }
            index += 1
        }
        return nil
    }
}
