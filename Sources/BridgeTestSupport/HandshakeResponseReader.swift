import NIOCore

/// Reads the HTTP response to the upgrade request byte by byte (no NIOHTTP1), so that the test sees the head
/// exactly as sent, then steps aside: after a 101 every byte goes on to the frame decoder, starting with any
/// bytes that arrived in the same read as the head.
///
/// It is also the pipeline's raw writer: bytes written through its context skip the frame encoder.
final class HandshakeResponseReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let name = "BridgeTestSupport.HandshakeResponseReader"
    /// Heads larger than this are reported as a failure rather than buffered forever.
    static let maximumHeadSize = 64 * 1024

    private enum Phase {
        case head([UInt8])
        case body(HTTPHandshakeResponse, HTTPBodyFraming, [UInt8])
        /// After a 101: bytes are frames.
        case passThrough
        /// After a complete non-101 response or a failure: nothing more matters.
        case finished
    }

    private var phase: Phase = .head([])
    private let state: WaitableState<WebSocketConnectionState>

    init(state: WaitableState<WebSocketConnectionState>) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .passThrough:
            context.fireChannelRead(data)
        case .finished:
            break
        case .head(var bytes):
            bytes.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            readHead(bytes, context: context)
        case .body(let response, let framing, var body):
            body.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            readBody(response, framing, body)
        }
    }

    private func readHead(_ bytes: [UInt8], context: ChannelHandlerContext) {
        let received = bytes
        state.update { $0.handshakeBytes = received }
        guard let end = bytes.firstEmptyLine() else {
            if bytes.count > Self.maximumHeadSize {
                fail(TestClientError(.handshakeFailed, "response head larger than \(Self.maximumHeadSize) bytes"), context: context)
            } else {
                phase = .head(bytes)
            }
            return
        }
        let rest = Array(bytes[(end + 4)...])
        let response: HTTPHandshakeResponse
        switch HTTPResponseHeadParser.parse(Array(bytes[..<(end + 4)])) {
        case .failure(let error):
            fail(error, context: context)
            return
        case .success(let parsed):
            response = parsed
        }
        if response.status == 101 {
            phase = .passThrough
            state.update { $0.response = response }
            if !rest.isEmpty {
                context.fireChannelRead(wrapInboundOut(ByteBuffer(bytes: rest)))
            }
            return
        }
        switch HTTPBodyFraming.of(response) {
        case .failure(let error):
            fail(error, context: context)
        case .success(let framing):
            readBody(response, framing, rest)
        }
    }

    private func readBody(_ response: HTTPHandshakeResponse, _ framing: HTTPBodyFraming, _ body: [UInt8]) {
        switch framing {
        case .none:
            complete(response, body: [])
        case .length(let length) where body.count >= length:
            complete(response, body: Array(body.prefix(length)))
        case .chunked:
            switch ChunkedBody.decode(body) {
            case .complete(let decoded):
                complete(response, body: decoded)
            case .incomplete:
                phase = .body(response, framing, body)
            case .malformed(let why):
                phase = .finished
                let error = TestClientError(.handshakeFailed, "\(why) in chunked body of:\n\(response.rawHead)")
                state.update { $0.handshakeFailure = error }
            }
        case .length, .untilClose:
            phase = .body(response, framing, body)
        }
    }

    private func complete(_ response: HTTPHandshakeResponse, body: [UInt8]) {
        phase = .finished
        var response = response
        response.bodyBytes = body
        state.update { $0.response = response }
    }

    private func fail(_ error: TestClientError, context: ChannelHandlerContext) {
        phase = .finished
        state.update { $0.handshakeFailure = error }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch phase {
        case .head(let bytes):
            phase = .finished
            let error = state.read { $0.errors }
            let why =
                bytes.isEmpty
                ? "connection closed before any response" + (error.isEmpty ? "" : " (\(error.joined(separator: "; ")))")
                : "connection closed before a complete response head; received \(bytes.count) bytes:\n"
                    + String(decoding: bytes, as: UTF8.self)
            // Closed with an error and no byte at all: the TLS handshake (or the connection) failed.
            let kind: TestClientError.Kind = bytes.isEmpty && !error.isEmpty ? .connectFailed : .connectionClosed
            state.update { $0.handshakeFailure = TestClientError(kind, why) }
        case .body(let response, .untilClose, let body):
            complete(response, body: body)
        case .body(let response, _, let body):
            phase = .finished
            let error = TestClientError(
                .connectionClosed,
                "connection closed in the middle of the body (\(body.count) bytes received) of:\n\(response.rawHead)"
            )
            state.update { $0.handshakeFailure = error }
        case .passThrough, .finished:
            break
        }
        context.fireChannelInactive()
    }
}
