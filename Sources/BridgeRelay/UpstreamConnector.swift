import BridgeConfig
import BridgeTLS
import NIOCore
import NIOPosix
import NIOSSL

/// Dials the broker for one session, on the session's own event loop.
///
/// The connector only opens the connection and installs the handlers; `ClientSessionHandler`
/// decides when (after the CONNECT) and what happens on failure (CONNACK "server unavailable").
public protocol UpstreamConnector: Sendable {
    /// A short description for logs, e.g. `tcp://127.0.0.1:1883`.
    var endpointDescription: String { get }

    /// Opens a connection on `eventLoop` and adds `handler` as the last handler of its pipeline.
    /// The future succeeds once TCP is connected; `handler` reports when the connection is ready for
    /// MQTT (after the TLS handshake, if any). `prelude` (a PROXY protocol header) is written first, in
    /// the clear, before any TLS.
    func connect(on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, prelude: ByteBuffer?) -> EventLoopFuture<any Channel>
}

/// Writes fixed bytes as the very first bytes of a connection and leaves: placed at the head of the
/// pipeline, it runs before the TLS handler starts its handshake.
final class PreludeWriter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let prelude: ByteBuffer

    init(_ prelude: ByteBuffer) {
        self.prelude = prelude
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(self.wrapOutboundOut(self.prelude), promise: nil)
        context.fireChannelActive()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// The `tcp` upstream: Mosquitto's MQTT listener, plain or TLS.
public struct TCPUpstreamConnector: UpstreamConnector {
    public let host: String
    public let port: Int
    public let connectTimeout: TimeAmount
    private let tls: (context: NIOSSLContext, serverName: String?)?

    public init(configuration: UpstreamConfiguration, configDirectory: String? = nil) throws {
        self.host = configuration.host
        self.port = configuration.port
        self.connectTimeout = TimeAmount(configuration.connectTimeout)
        self.tls = try configuration.tls.map { try UpstreamTLS.makeContext($0, host: configuration.host) }
    }

    public var endpointDescription: String {
        "\(self.tls == nil ? "tcp" : "tls")://\(self.host):\(self.port)"
    }

    public func connect(on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, prelude: ByteBuffer?) -> EventLoopFuture<any Channel> {
        let tls = self.tls
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(self.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: RelayChannelOptions.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let prelude {
                        try pipeline.addHandler(PreludeWriter(prelude))
                    }
                    if let tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
                    }
                    handler.value.expectsTLSHandshake = tls != nil
                    try pipeline.addHandler(handler.value)
                }
            }
            .connect(host: self.host, port: self.port)
    }
}

/// Socket options shared by the client and broker channels of a session.
public enum RelayChannelOptions {
    /// Each channel keeps its last receive buffer for reuse. NIO's default first buffer is 2 KiB; an idle MQTT
    /// session reads a few hundred bytes, so it starts at 512 B and grows (to 64 KiB) only when reads fill it.
    public static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
}
