import BridgeConfig
import NIOCore
import NIOPosix
import NIOSSL
import WebSocketTransport

/// The `ws` upstream: a broker's WebSocket listener (Mosquitto's `protocol websockets`).
///
/// It is dialled *before* the client gets its 101, because on a passthrough route the client's answer
/// is the broker's answer. The connection comes back already upgraded, with a client-role
/// `WebSocketMessageCodec` in its pipeline (frames towards the broker are masked, RFC 6455 §5.3)
/// and a `WebSocketByteStreamAdapter` behind it;
/// `PreconnectedUpstream` then hands it to the session, which relays exactly as with a TCP broker.
public struct WebSocketUpstreamConnector: Sendable {
    public let host: String
    public let port: Int
    public let path: String
    public let connectTimeout: TimeAmount
    private let tls: (context: NIOSSLContext, serverName: String?)?

    public init(configuration: UpstreamConfiguration) throws {
        self.host = configuration.host
        self.port = configuration.port
        self.path = configuration.path
        self.connectTimeout = TimeAmount(configuration.connectTimeout)
        self.tls = try configuration.tls.map { try UpstreamTLS.makeContext($0, host: configuration.host) }
    }

    public var endpointDescription: String {
        "\(self.tls == nil ? "ws" : "wss")://\(self.host):\(self.port)\(self.path)"
    }

    /// Connects on `eventLoop`, sends `prelude` (a PROXY header) first, upgrades offering `subprotocols`
    /// (nil: no header) and returns the connection with the subprotocol the broker answered.
    public func open(on eventLoop: any EventLoop, subprotocols: [String]?, prelude: ByteBuffer?) -> EventLoopFuture<(channel: any Channel, subprotocol: String?)> {
        let answered = eventLoop.makePromise(of: String?.self)
        let tls = self.tls
        let hostHeader = self.port == (tls == nil ? 80 : 443) ? self.host : "\(self.host):\(self.port)"
        let path = self.path
        let timeout = self.connectTimeout
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: RelayChannelOptions.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let prelude { try pipeline.addHandler(PreludeWriter(prelude)) }
                    if let tls { try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName)) }
                    try pipeline.addHandlers(
                        WebSocketUpstreamHandshake.handlers(host: hostHeader, path: path, subprotocols: subprotocols, answered: answered))
                }
            }
            .connect(host: self.host, port: self.port)
        // One deadline for TCP, TLS and the upgrade together.
        let deadline = eventLoop.scheduleTask(in: timeout) {
            answered.fail(UpstreamHandshakeError("no WebSocket handshake with the broker within \(timeout.humanDescription)"))
        }
        connected.whenFailure { answered.fail($0) }
        answered.futureResult.whenComplete { result in
            deadline.cancel()
            if case .failure = result { connected.whenSuccess { $0.close(promise: nil) } }
        }
        return connected.and(answered.futureResult).map { (channel: $0, subprotocol: $1) }
    }
}

/// Gives the session a broker connection that is already open (a `ws` upstream, upgraded before the 101).
public struct PreconnectedUpstream: UpstreamConnector {
    public let channel: any Channel
    public let endpointDescription: String

    public init(channel: any Channel, endpointDescription: String) {
        self.channel = channel
        self.endpointDescription = endpointDescription
    }

    public func connect(on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, prelude: ByteBuffer?) -> EventLoopFuture<any Channel> {
        // The prelude, if any, went out when the connection was opened.
        let channel = self.channel
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(handler.value)
            return channel
        }
    }
}

/// Why the broker's WebSocket handshake failed.
public struct UpstreamHandshakeError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The client side of the opening handshake towards the broker (RFC 6455 §4.1): the transport's upgrade handler,
/// which replaces itself with a client-role codec once the broker's 101 checks out, and behind it the adapter that
/// lets `UpstreamHandler` write its byte stream into that codec (one binary message per burst).
enum WebSocketUpstreamHandshake {
    /// The handlers to add after TLS; `answered` gets the subprotocol the broker chose, or an `UpstreamHandshakeError`.
    static func handlers(host: String, path: String, subprotocols: [String]?, answered: EventLoopPromise<String?>) -> [any ChannelHandler] {
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
