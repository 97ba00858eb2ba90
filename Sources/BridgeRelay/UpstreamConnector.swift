import BridgeTLS
import NIOCore
import NIOPosix
import NIOSSL

/// How one kind of upstream (`upstream.kind`) opens a connection to one broker, on the session's own event loop.
///
/// A connector only opens the connection and installs the handlers. Which server, when, how often and what happens
/// on failure is decided elsewhere: `UpstreamDial` (the servers, the deadline, the metrics) for `ClientSessionHandler`
/// (after the CONNECT, or before the 101 when `dialsBeforeUpgrade`).
package protocol UpstreamConnector: Sendable {
    /// Whether the client's 101 waits for the broker connection. True for the `ws` kind: on a passthrough route the
    /// broker's subprotocol answer is the client's, so the session dials before the 101 (knowing no client id yet)
    /// and an unreachable broker is an HTTP 502. False for `tcp`: the session dials after the CONNECT, and an
    /// unreachable broker is a CONNACK "server unavailable".
    var dialsBeforeUpgrade: Bool { get }

    /// A short description for logs, e.g. `tcp://127.0.0.1:1883` or `wss://broker.example:443/mqtt`.
    func endpointDescription(of server: UpstreamServer) -> String

    /// Opens a connection to `server` and adds `handler` as the last handler of its pipeline once the connection
    /// carries MQTT bytes (for `ws`: after the WebSocket handshake, with `handler.negotiatedSubprotocol` set). The
    /// future succeeds with the channel once it is connected; `handler` reports when it is ready for MQTT (after the
    /// TLS handshake, if any). `options.dialSlot`, when given, goes first in the pipeline, before the connect. Nothing
    /// may take longer than `options.deadline`.
    func connect(
        to server: UpstreamServer, on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, options: UpstreamConnectOptions
    ) -> EventLoopFuture<any Channel>
}

/// What one connection attempt needs besides the server.
package struct UpstreamConnectOptions: Sendable {
    /// Written first, in the clear, before any TLS: a PROXY protocol v2 header naming the client.
    package var prelude: ByteBuffer?
    /// Offered to a `ws` broker in `Sec-WebSocket-Protocol` (nil: no header); `tcp` has no use for it.
    package var subprotocols: [String]?
    /// The end of the whole dial (`upstream.connect_timeout` from its start), on the event loop's clock
    /// (`EventLoop.now`): the attempt gets what is left.
    package var deadline: NIODeadline
    /// The dial's slot at the gate (`upstream.max_concurrent_dials`), to add as the pipeline's first handler: it holds
    /// the slot until the broker's first bytes. nil: the dial holds no slot (no limit).
    package var dialSlot: NIOLoopBound<UpstreamDialSlotHolder>?

    package init(
        prelude: ByteBuffer? = nil, subprotocols: [String]? = nil, deadline: NIODeadline,
        dialSlot: NIOLoopBound<UpstreamDialSlotHolder>? = nil
    ) {
        self.prelude = prelude
        self.subprotocols = subprotocols
        self.deadline = deadline
        self.dialSlot = dialSlot
    }
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
package struct TCPUpstreamConnector: UpstreamConnector {
    /// The context, and `upstream.tls.server_name` (nil: each server's own host).
    private let tls: (context: NIOSSLContext, configuredServerName: String?)?

    /// - Parameter tls: nil: plain TCP.
    package init(tls: UpstreamTLSSettings?) throws {
        self.tls = try tls.map { (try UpstreamTLS.makeContext($0), $0.serverName) }
    }

    package var dialsBeforeUpgrade: Bool { false }

    package func endpointDescription(of server: UpstreamServer) -> String {
        "\(self.tls == nil ? "tcp" : "tls")://\(server)"
    }

    package func connect(
        to server: UpstreamServer, on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, options: UpstreamConnectOptions
    ) -> EventLoopFuture<any Channel> {
        let tls = self.tls
        let prelude = options.prelude
        let dialSlot = options.dialSlot
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(max(options.deadline - eventLoop.now, .zero))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: RelayChannelOptions.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let dialSlot { try pipeline.addHandler(dialSlot.value) }
                    if let prelude {
                        try pipeline.addHandler(PreludeWriter(prelude))
                    }
                    if let tls {
                        let serverName = UpstreamTLS.serverName(configured: tls.configuredServerName, host: server.host)
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: serverName))
                    }
                    handler.value.expectsTLSHandshake = tls != nil
                    try pipeline.addHandler(handler.value)
                }
            }
            .connect(host: server.host, port: server.port)
    }
}

/// Socket options shared by the client and broker channels of a session.
package enum RelayChannelOptions {
    /// Each channel keeps its last receive buffer for reuse. NIO's default first buffer is 2 KiB; an idle MQTT
    /// session reads a few hundred bytes, so it starts at 512 B and grows (to 64 KiB) only when reads fill it.
    package static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
}
