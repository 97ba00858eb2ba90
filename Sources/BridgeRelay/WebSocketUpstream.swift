import BridgeConfig
import BridgeTLS
import NIOCore
import NIOPosix
import NIOSSL
import WebSocketTransport

/// The `ws` upstream: a broker's WebSocket listener (Mosquitto's `protocol websockets`).
///
/// It needs the broker's answer before the client's 101 (`dialsBeforeUpgrade`): on a passthrough route the client's
/// subprotocol answer is the broker's. The session therefore dials it before the 101; the connection is upgraded
/// (`WebSocketUpstreamHandshake`), then a client-role `WebSocketMessageCodec` (frames towards the broker are masked,
/// RFC 6455 §5.3) and the session's `UpstreamHandler` carry MQTT exactly as with a TCP broker.
public struct WebSocketUpstreamConnector: UpstreamConnector {
    public let path: String
    /// The context, and `upstream.tls.server_name` (nil: each server's own host).
    private let tls: (context: NIOSSLContext, configuredServerName: String?)?

    public init(configuration: UpstreamConfiguration) throws {
        self.path = configuration.path
        self.tls = try configuration.tls.map { (try UpstreamTLS.makeContext($0, host: configuration.host).context, $0.serverName) }
    }

    public var dialsBeforeUpgrade: Bool { true }

    public func endpointDescription(of server: UpstreamServer) -> String {
        "\(self.tls == nil ? "ws" : "wss")://\(server)\(self.path)"
    }

    /// Connects, sends `options.prelude` (a PROXY header) first, upgrades offering `options.subprotocols` (nil: no
    /// header), and adds `handler` once the broker has answered the upgrade. The future succeeds then, or fails with
    /// the reason; the upgrade must be done by `options.deadline`.
    public func connect(
        to server: UpstreamServer, on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, options: UpstreamConnectOptions
    ) -> EventLoopFuture<any Channel> {
        let answered = eventLoop.makePromise(of: String?.self)
        let tls = self.tls
        let hostHeader = server.port == (tls == nil ? 80 : 443) ? server.host : "\(server.host):\(server.port)"
        let path = self.path
        let prelude = options.prelude
        let subprotocols = options.subprotocols
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(max(options.deadline - eventLoop.now, .zero))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: RelayChannelOptions.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let prelude { try pipeline.addHandler(PreludeWriter(prelude)) }
                    if let tls {
                        let serverName = UpstreamTLS.serverName(configured: tls.configuredServerName, host: server.host)
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: serverName))
                    }
                    try pipeline.addHandler(
                        WebSocketUpstreamHandshake(host: hostHeader, path: path, subprotocols: subprotocols, answered: answered))
                }
            }
            .connect(host: server.host, port: server.port)
        // TCP, TLS and the upgrade together within the deadline.
        let deadline = eventLoop.scheduleTask(deadline: options.deadline) {
            answered.fail(UpstreamHandshakeError("no WebSocket handshake with the broker by the connect deadline"))
        }
        connected.whenFailure { answered.fail($0) }
        answered.futureResult.whenComplete { result in
            deadline.cancel()
            if case .failure = result { connected.whenSuccess { $0.close(promise: nil) } }
        }
        // The handshake replaced itself with the client-role codec; the session's handler goes behind it.
        return connected.and(answered.futureResult).flatMapThrowing { channel, subprotocol in
            handler.value.negotiatedSubprotocol = subprotocol
            try channel.pipeline.syncOperations.addHandler(handler.value)
            return channel
        }
    }
}

extension SubprotocolOffer {
    /// What a `ws` broker is offered. A mini-program route offers `mqtt` for a client that offered nothing (the client
    /// still gets no header) and the client's offer otherwise; a passthrough route forwards the client's offer as it is.
    var towardsWebSocketBroker: [String]? {
        if self.forwardsBrokerAnswer { return self.offered.isEmpty ? nil : self.offered }
        return self.offered.isEmpty ? ["mqtt"] : self.offered
    }

    /// The client's 101 answer once a `ws` broker answered `brokerAnswer`: the broker's on a passthrough route, the
    /// route's own on a mini-program route.
    func clientAnswer(brokerAnswered brokerAnswer: String?) -> String? {
        self.forwardsBrokerAnswer ? brokerAnswer : self.routeAnswer
    }
}

/// Why the broker's WebSocket handshake failed.
public struct UpstreamHandshakeError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The client side of the opening handshake towards the broker (RFC 6455 §4.1): writes the request,
/// checks the 101, then replaces itself with a client-role codec and passes on any bytes that came
/// with the response.
final class WebSocketUpstreamHandshake: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A 101 is a few hundred bytes; more without an end is not a WebSocket server.
    private static let maximumResponseHead = 16 * 1024

    private let host: String
    private let path: String
    private let subprotocols: [String]?
    private let key = WebSocketHandshake.randomKey()
    private let answered: EventLoopPromise<String?>
    private var received: ByteBuffer?
    private var done = false

    init(host: String, path: String, subprotocols: [String]?, answered: EventLoopPromise<String?>) {
        self.host = host
        self.path = path
        self.subprotocols = subprotocols
        self.answered = answered
    }

    func channelActive(context: ChannelHandlerContext) {
        var request = "GET \(self.path) HTTP/1.1\r\nHost: \(self.host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(self.key)\r\nSec-WebSocket-Version: 13\r\n"
        if let subprotocols, !subprotocols.isEmpty {
            request += "Sec-WebSocket-Protocol: \(subprotocols.joined(separator: ", "))\r\n"
        }
        request += "\r\n"
        context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.done else { return }
        var bytes = self.unwrapInboundIn(data)
        if self.received == nil {
            self.received = bytes
        } else {
            self.received!.writeBuffer(&bytes)
        }
        guard let buffer = self.received else { return }
        guard let end = buffer.readableBytesView.firstRange(of: [13, 10, 13, 10]) else {
            if buffer.readableBytes > Self.maximumResponseHead { self.fail(context, "the broker's handshake answer is too long") }
            return
        }
        let headLength = end.upperBound - buffer.readableBytesView.startIndex
        let head = String(decoding: buffer.readableBytesView.prefix(headLength), as: UTF8.self)
        let leftover = buffer.getSlice(at: buffer.readerIndex + headLength, length: buffer.readableBytes - headLength)
        self.received = nil
        switch self.check(head) {
        case .failure(let error):
            self.fail(context, error.description)
        case .success(let subprotocol):
            self.done = true
            do {
                let codec = WebSocketMessageCodec(configuration: .init(role: .client))
                try context.pipeline.syncOperations.addHandler(codec, position: .after(self))
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                self.answered.succeed(subprotocol)
                if let leftover, leftover.readableBytes > 0 {
                    context.fireChannelRead(self.wrapInboundOut(leftover))
                    context.fireChannelReadComplete()
                }
            } catch {
                self.fail(context, "\(error)")
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !self.done {
            self.done = true
            self.answered.fail(UpstreamHandshakeError("the broker closed the connection during the WebSocket handshake"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(context, UpstreamErrorDescription.describe(error))
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        guard !self.done else { return }
        self.done = true
        self.answered.fail(UpstreamHandshakeError(reason))
        context.close(promise: nil)
    }

    /// The subprotocol the broker chose, or why its answer is not a valid 101 for our request.
    private func check(_ head: String) -> Result<String?, UpstreamHandshakeError> {
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { return .failure(UpstreamHandshakeError("empty handshake answer from the broker")) }
        let status = lines.removeFirst()
        let parts = status.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1] == "101" else {
            return .failure(UpstreamHandshakeError("the broker answered '\(status)' instead of 101 to GET \(self.path)"))
        }
        var headers: [String: [String]] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingASCIIWhitespace()
            headers[name, default: []].append(value)
        }
        guard headers["sec-websocket-accept"]?.first == WebSocketHandshake.acceptValue(forKey: self.key) else {
            return .failure(UpstreamHandshakeError("the broker's Sec-WebSocket-Accept does not match the key"))
        }
        let answered = WebSocketHandshake.tokens(in: headers["sec-websocket-protocol"] ?? [])
        guard answered.count <= 1 else { return .failure(UpstreamHandshakeError("the broker answered several subprotocols")) }
        if let chosen = answered.first, !(self.subprotocols ?? []).contains(chosen) {
            return .failure(UpstreamHandshakeError("the broker answered subprotocol '\(chosen)', which was not offered"))
        }
        guard (headers["sec-websocket-extensions"] ?? []).isEmpty else {
            return .failure(UpstreamHandshakeError("the broker answered an extension that was not offered"))
        }
        return .success(answered.first)
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
