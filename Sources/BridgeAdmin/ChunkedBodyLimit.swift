import NIOCore
import NIOHTTP1
import Synchronization
import TextTrimming

/// Answers a chunked request body with 413 as soon as a chunk header announces more than any route reads, instead of
/// after reading up to the limit: NIOHTTP1's decoder parses chunk sizes but does not report them.
///
/// It sits in front of the HTTP decoder and follows the byte stream's HTTP/1.1 framing — request heads (for
/// `Transfer-Encoding: chunked` and `Content-Length`), fixed-length bodies, chunk sizes, trailers — without judging
/// anything else (the decoder does). When the chunks announced for one body add up to more than `limit`, it flags
/// `announcement`, stops passing bytes on, and raises `HTTPParserError.invalidChunkSize` through the decoder's path, so
/// `HTTPServerPipelineHandler` delivers it in order with the requests before it; `AdminConnection` answers that
/// request with the route's 413. Input it cannot follow (a CONNECT, an absurd line) turns it off for the connection:
/// the route's own body limit still applies, just later.
final class ChunkedBodyLimit: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Set once a body announced more than the limit; read by the connection's task.
    final class Announcement: Sendable {
        private let exceeded = Atomic(false)
        var isTooLarge: Bool { exceeded.load(ordering: .acquiring) }
        fileprivate func flag() { exceeded.store(true, ordering: .releasing) }
    }

    private enum State {
        /// Reading a request head, line by line.
        case head(HeadFraming)
        /// A fixed-length body: this many bytes to pass.
        case fixedBody(remaining: Int)
        case chunkSizeLine
        /// Chunk data and its CRLF.
        case chunkData(remaining: Int)
        case trailers
        /// Stopped following (over the limit, or lost): bytes pass through, or are dropped once over the limit.
        case off
    }

    /// What the head says about the body.
    private struct HeadFraming {
        var sawRequestLine = false
        var chunked = false
        var contentLength = 0
    }

    /// A line longer than this is beyond what the decoder accepts anyway.
    static let maximumLineLength = 16 * 1024

    private let limit: Int
    private let announcement: Announcement
    private var state = State.head(HeadFraming())
    private var line: [UInt8] = []
    /// Chunk bytes announced so far for the current body.
    private var announced = 0
    private var exceeded = false

    init(limit: Int, announcement: Announcement) {
        self.limit = limit
        self.announcement = announcement
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !exceeded else { return }  // the request is answered with 413; nothing more for the decoder
        let buffer = unwrapInboundIn(data)
        if case .off = state {
            context.fireChannelRead(data)
            return
        }
        let bytes = buffer.readableBytesView
        var index = bytes.startIndex
        while index < bytes.endIndex, !exceeded {
            index = follow(bytes, from: index)
        }
        guard exceeded else {
            context.fireChannelRead(data)
            return
        }
        // Pass on what precedes the oversized chunk's data, so the request before it is whole; then the error.
        if let before = buffer.getSlice(at: buffer.readerIndex, length: index - bytes.startIndex), before.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(before))
        }
        announcement.flag()
        context.fireErrorCaught(HTTPParserError.invalidChunkSize)
    }

    /// Advances through `bytes` from `index` in the current state; returns where it stopped.
    private func follow(_ bytes: ByteBufferView, from index: Int) -> Int {
        switch state {
        case .fixedBody(let remaining):
            let taken = min(remaining, bytes.endIndex - index)
            state = remaining - taken == 0 ? .head(HeadFraming()) : .fixedBody(remaining: remaining - taken)
            return index + taken
        case .chunkData(let remaining):
            let taken = min(remaining, bytes.endIndex - index)
            state = remaining - taken == 0 ? .chunkSizeLine : .chunkData(remaining: remaining - taken)
            return index + taken
        case .off:
            return bytes.endIndex
        case .head, .chunkSizeLine, .trailers:
            guard let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else {
                line += bytes[index...]
                if line.count > Self.maximumLineLength { state = .off }
                return bytes.endIndex
            }
            line += bytes[index..<newline]
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            endOfLine()
            line.removeAll(keepingCapacity: true)
            return newline + 1
        }
    }

    private func endOfLine() {
        switch state {
        case .head(var framing):
            if !framing.sawRequestLine {
                // Empty lines before a request are allowed; a CONNECT's data after it is not HTTP.
                guard !line.isEmpty else { return }
                framing.sawRequestLine = true
                state = line.starts(with: Array("CONNECT ".utf8)) ? .off : .head(framing)
                return
            }
            guard line.isEmpty else {
                header(&framing)
                state = .head(framing)
                return
            }
            announced = 0
            state =
                framing.chunked
                ? .chunkSizeLine : framing.contentLength > 0 ? .fixedBody(remaining: framing.contentLength) : .head(HeadFraming())
        case .chunkSizeLine:
            let text = String(decoding: line, as: UTF8.self)
            let digits = (text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingASCIIWhitespace()
            guard !digits.isEmpty, digits.count <= 16, let size = UInt64(digits, radix: 16) else {
                state = .off  // the decoder will say what is wrong with it
                return
            }
            if size == 0 {
                state = .trailers
                return
            }
            let (total, overflow) = announced.addingReportingOverflow(Int(clamping: size))
            guard !overflow, total <= limit else {
                exceeded = true
                state = .off
                return
            }
            announced = total
            state = .chunkData(remaining: Int(size) + 2)  // the data, then its CRLF
        case .trailers:
            if line.isEmpty { state = .head(HeadFraming()) }
        case .fixedBody, .chunkData, .off:
            break
        }
    }

    /// `Transfer-Encoding` (chunked when it is the final coding) and `Content-Length`.
    private func header(_ framing: inout HeadFraming) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingASCIIWhitespace()
        switch name {
        case "transfer-encoding":
            let codings = value.split(separator: ",").map { $0.trimmingASCIIWhitespace().lowercased() }
            framing.chunked = codings.last == "chunked"
        case "content-length":
            framing.contentLength = Int(value) ?? 0
        default:
            break
        }
    }
}
