import Logging
import NIOCore
import NIOHTTP1

/// One accepted admin connection as seen through `NIOAsyncChannel`.
typealias AdminChannel = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

/// What the listener hands over for each accepted connection.
struct AcceptedAdminConnection: Sendable {
    var channel: AdminChannel
    /// Set by `ChunkedBodyLimit` when a chunked body announced more than any route reads.
    var announcement: ChunkedBodyLimit.Announcement
}

/// Serves the requests of one admin connection, one at a time (HTTP/1.1 keep-alive; NIOHTTP1's
/// `HTTPServerPipelineHandler` holds pipelined requests back until the previous answer is written). Runs in its own
/// task, off the event loop, so a publish waiting for the broker blocks nothing but itself.
///
/// Memory and time per connection are bounded: request heads by the decoder's limits, bodies by the route's limit (a
/// larger body is answered with 413 and the rest is read and thrown away, at most `discardLimit` bytes, so the client
/// sees the answer instead of a reset connection), everything else by `AdminConnectionGuard`. On shutdown the
/// pipeline handler closes the connection once it is idle or has finished its answer.
struct AdminConnection {
    /// After an early answer (413, 401 …), at most this much of the unwanted body is read before closing.
    static let discardLimit = 16 << 20

    let router: AdminRouter
    let logger: Logger

    func serve(_ accepted: AcceptedAdminConnection) async {
        let channel = accepted.channel
        let raw = channel.channel
        do {
            try await channel.executeThenClose { inbound, outbound in
                var parts = inbound.makeAsyncIterator()
                while try await serveRequest(&parts, outbound, channel: raw, announcement: accepted.announcement) {}
                // A full close would drop a response still queued in the channel; shutting the output down first
                // sends it, then FIN (bounded: `AdminConnectionGuard` closes a client that never reads).
                try? await raw.close(mode: .output).get()
            }
        } catch {
            logger.debug("admin connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// Reads and answers one request; returns whether the connection stays open for another.
    private func serveRequest(
        _ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        channel: any Channel, announcement: ChunkedBodyLimit.Announcement
    ) async throws -> Bool {
        let first: HTTPServerRequestPart?
        do {
            first = try await parts.next()
        } catch {
            try await answerMalformed(error, outbound)
            return false
        }
        guard case .head(let head) = first else { return false }  // EOF between requests (or a decoder bug)

        switch router.plan(for: head) {
        case .reject(let response):
            guard Self.hasBody(head) else {
                guard try await readToEnd(&parts, outbound) else { return false }
                return try await write(response, for: head, outbound)
            }
            _ = try await write(response, for: head, outbound, close: true)
            await finishEarly(raw: channel, &parts)
            return false

        case .read(let route):
            if Self.expectsContinue(head) {
                try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .continue)))
            }
            var body = ByteBuffer()
            do {
                readLoop: while true {
                    switch try await parts.next() {
                    case .body(let chunk):
                        guard body.readableBytes + chunk.readableBytes <= route.bodyLimit else {
                            _ = try await write(route.tooLarge(), for: head, outbound, close: true)
                            await finishEarly(raw: channel, &parts)
                            return false
                        }
                        body.writeImmutableBuffer(chunk)
                    case .end:
                        break readLoop
                    case .head, nil:
                        return false  // the client went away mid-request
                    }
                }
            } catch {
                if announcement.isTooLarge {
                    // A chunk header announced more than any route reads: 413 now, not after reading up to the limit.
                    _ = try await write(route.tooLarge(), for: head, outbound, close: true)
                } else {
                    try await answerMalformed(error, outbound)
                }
                return false
            }
            let response = await route.respond(head, body)
            return try await write(response, for: head, outbound)
        }
    }

    /// A request without a body still ends with `.end`; anything else means the connection is unusable.
    private func readToEnd(
        _ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws -> Bool {
        do {
            while let part = try await parts.next() {
                if case .end = part { return true }
            }
            return false
        } catch {
            try await answerMalformed(error, outbound)
            return false
        }
    }

    /// After answering before the body was read: send the answer and FIN, then read and drop the rest of the
    /// request, so that closing does not reset the connection (and the answer with it) while the client still sends.
    private func finishEarly(
        raw: any Channel, _ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    ) async {
        try? await raw.close(mode: .output).get()
        await discardBody(&parts)
    }

    /// Reads and drops the rest of a request we already answered, up to `discardLimit` bytes.
    private func discardBody(_ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator) async {
        var discarded = 0
        do {
            while let part = try await parts.next() {
                switch part {
                case .body(let chunk):
                    discarded += chunk.readableBytes
                    if discarded > Self.discardLimit { return }
                case .end, .head:
                    return
                }
            }
        } catch {
            return
        }
    }

    /// 431 for a head over the decoder's limits, 400 for anything else the HTTP decoder refused; then close.
    /// Other errors (the connection was closed under us) end the connection without an answer.
    private func answerMalformed(_ error: any Error, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        guard let parserError = error as? HTTPParserError else { return }
        let response: AdminResponse
        if case .headerOverflow = parserError {
            response = .error(.requestHeaderFieldsTooLarge, "the request head is too large")
        } else {
            response = .error(.badRequest, "malformed HTTP request: \(error)")
        }
        try await outbound.write(contentsOf: response.parts(keepAlive: false, withBody: true))
    }

    /// Writes `response` (no body for HEAD requests); returns whether the connection stays open. On shutdown the
    /// pipeline handler turns a keep-alive answer into `Connection: close` itself.
    private func write(
        _ response: AdminResponse, for head: HTTPRequestHead,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, close: Bool = false
    ) async throws -> Bool {
        if let stream = response.stream {
            return try await write(stream, response, for: head, outbound)
        }
        let keepAlive = !close && head.isKeepAlive
        var parts = response.parts(keepAlive: keepAlive, withBody: head.method != .HEAD)
        if keepAlive, head.version == .http1_0, case .head(var responseHead) = parts[0] {
            responseHead.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
            parts[0] = .head(responseHead)
        }
        try await outbound.write(contentsOf: parts)
        return keepAlive
    }

    /// A streamed answer: the head (no `Content-Length`: NIOHTTP1 sends the body chunked), the chunks as they come,
    /// the end; then the connection closes. HEAD gets the head only.
    private func write(
        _ stream: AdminBodyStream, _ response: AdminResponse, for head: HTTPRequestHead,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws -> Bool {
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "Connection", value: "close")
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)))
        if head.method != .HEAD {
            try await stream.produce { chunk in try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk)))) }
        }
        try await outbound.write(.end(nil))
        return false
    }

    /// A body follows the head when it announces one (RFC 9112 §6.3: requests without either have none).
    static func hasBody(_ head: HTTPRequestHead) -> Bool {
        if head.headers.contains(name: "Transfer-Encoding") { return true }
        return head.headers.first(name: "Content-Length").flatMap { Int($0) }.map { $0 > 0 } ?? false
    }

    /// `Expect: 100-continue` (HTTP/1.1 only): the client waits for our go-ahead before sending the body.
    static func expectsContinue(_ head: HTTPRequestHead) -> Bool {
        head.version == .http1_1 && head.headers["Expect"].contains { $0.lowercased() == "100-continue" }
    }
}
