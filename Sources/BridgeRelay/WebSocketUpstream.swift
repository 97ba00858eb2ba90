import BridgeTLS
import NIOCore
import NIOPosix
import NIOSSL
import WebSocketTransport

/// The `ws` upstream: a broker's WebSocket listener (Mosquitto's `protocol websockets`).
///
/// It needs the broker's answer before the client's 101 (`dialsBeforeUpgrade`): on a passthrough route the client's
/// subprotocol answer is the broker's. The session therefore dials it before the 101; the transport's
/// `WebSocketClientUpgradeHandler` upgrades the connection and puts a client-role `WebSocketMessageCodec` in its place
/// (frames towards the broker are masked, RFC 6455 §5.3), and behind it a `WebSocketByteStreamAdapter` lets the
/// session's `UpstreamHandler` carry MQTT exactly as with a TCP broker.
package struct WebSocketUpstreamConnector: UpstreamConnector {
    package let path: String
    /// The context, and `upstream.tls.server_name` (nil: each server's own host).
    private let tls: (context: NIOSSLContext, configuredServerName: String?)?

    /// - Parameters:
    ///   - path: the request path on the broker's WebSocket listener.
    ///   - tls: nil: plain `ws`.
    package init(path: String, tls: UpstreamTLSSettings?) throws {
        self.path = path
        self.tls = try tls.map { (try UpstreamTLS.makeContext($0), $0.serverName) }
    }

    package var dialsBeforeUpgrade: Bool { true }

    package func endpointDescription(of server: UpstreamServer) -> String {
        "\(self.tls == nil ? "ws" : "wss")://\(server)\(self.path)"
    }

    /// Connects, sends `options.prelude` (a PROXY header) first, upgrades offering `options.subprotocols` (nil: no
    /// header), and adds `handler` once the broker has answered the upgrade. The future succeeds then, or fails with
    /// the reason; the upgrade must be done by `options.deadline`.
    package func connect(
        to server: UpstreamServer, on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, options: UpstreamConnectOptions
    ) -> EventLoopFuture<any Channel> {
        let answered = eventLoop.makePromise(of: String?.self)
        let tls = self.tls
        let hostHeader = server.port == (tls == nil ? 80 : 443) ? server.host : "\(server.host):\(server.port)"
        let path = self.path
        let prelude = options.prelude
        let subprotocols = options.subprotocols
        let dialSlot = options.dialSlot
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(max(options.deadline - eventLoop.now, .zero))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: RelayChannelOptions.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let dialSlot { try pipeline.addHandler(dialSlot.value) }
                    if let prelude { try pipeline.addHandler(PreludeWriter(prelude)) }
                    if let tls {
                        let serverName = UpstreamTLS.serverName(configured: tls.configuredServerName, host: server.host)
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: serverName))
                    }
                    try pipeline.addHandlers(
                        Self.upgradeHandlers(host: hostHeader, path: path, subprotocols: subprotocols, answered: answered))
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
package struct UpstreamHandshakeError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

extension WebSocketUpstreamConnector {
    /// The client side of the opening handshake towards the broker (RFC 6455 §4.1), to add after TLS: the transport's
    /// upgrade handler, which replaces itself with a client-role codec once the broker's 101 checks out, and behind it
    /// the adapter that lets `UpstreamHandler` write its byte stream into that codec (one binary message per burst).
    /// `answered` gets the subprotocol the broker chose, or an `UpstreamHandshakeError`.
    static func upgradeHandlers(
        host: String, path: String, subprotocols: [String]?, answered: EventLoopPromise<String?>
    ) -> [any ChannelHandler] {
        let upgraded = answered.futureResult.eventLoop.makePromise(of: String?.self)
        upgraded.futureResult.flatMapErrorThrowing { error in
            switch error {
            case let error as WebSocketClientHandshakeError: throw UpstreamHandshakeError(error.reason)
            default: throw UpstreamHandshakeError(UpstreamErrorDescription.describe(error))
            }
        }.cascade(to: answered)
        let handshake = WebSocketClientHandshake(host: host, path: path, subprotocols: subprotocols ?? [])
        return [
            WebSocketClientUpgradeHandler(handshake: handshake, codec: .init(role: .client), upgraded: upgraded),
            WebSocketByteStreamAdapter(),
        ]
    }
}
