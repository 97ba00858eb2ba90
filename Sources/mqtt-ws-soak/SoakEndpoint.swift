import BenchCore
import NIOCore
import NIOPosix
import NIOSSL

/// Where a soak client connects: `mqtt://` (TCP straight to the broker) or `ws://`/`wss://` (through the bridge),
/// reusing the load generator's WebSocket client role so that the soak speaks exactly what `mqtt-ws-bench` speaks.
struct SoakEndpoint: Sendable {
    let target: BenchTarget
    private let address: SocketAddress
    private let tls: NIOSSLContext?
    private let serverName: String?

    /// Resolves the address and builds the TLS context once, so a bad URL or CA file fails before any connection.
    init(url: String, caFile: String?, serverName: String?) throws {
        self.target = try BenchTarget(parsing: url)
        self.address = try SocketAddress.makeAddressResolvingHost(self.target.host, port: self.target.port)
        if self.target.transport.usesTLS {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let caFile {
                configuration.trustRoots = .file(caFile)
            }
            self.tls = try NIOSSLContext(configuration: configuration)
            self.serverName = serverName
        } else {
            self.tls = nil
            self.serverName = nil
        }
    }

    /// Opens one connection on `loop`; `events` receives what `MQTTLinkHandler` reports, on that loop.
    func connect(on loop: any EventLoop, events: NIOLoopBound<(MQTTLinkEvent) -> Void>) -> EventLoopFuture<any Channel> {
        let tls = self.tls
        let serverName = self.serverName
        let target = self.target
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    var upgraded: EventLoopFuture<String?>?
                    if target.transport.isWebSocket {
                        // The bridge's WeChat-style default: no subprotocol needed.
                        let promise = channel.eventLoop.makePromise(of: String?.self)
                        upgraded = promise.futureResult
                        try sync.addHandlers(MQTTWebSocketClient.handlers(target: target, subprotocol: nil, upgraded: promise))
                    }
                    try sync.addHandler(MQTTLinkHandler(transportReady: upgraded, events: events.value))
                }
            }
            .connect(to: self.address)
    }
}
