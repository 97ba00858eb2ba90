import NIOCore
import NIOPosix
import NIOSSL
import WebSocketTransport

/// An established connection of the generator (CONNACK received; SUBACK too for a subscriber).
struct BenchConnection: Sendable {
    let channel: any Channel
    /// Monotonic nanoseconds when the connection became ready.
    let readyAt: UInt64
    /// Monotonic nanoseconds when TLS and the WebSocket upgrade were done (nil for plain TCP).
    let transportReadyAt: UInt64?
    private let client: NIOLoopBound<BenchClientHandler>

    init(channel: any Channel, readyAt: UInt64, transportReadyAt: UInt64?, client: NIOLoopBound<BenchClientHandler>) {
        self.channel = channel
        self.readyAt = readyAt
        self.transportReadyAt = transportReadyAt
        self.client = client
    }

    /// DISCONNECT, then close; completes when the channel is closed.
    func disconnect() -> EventLoopFuture<Void> {
        let client = self.client
        return self.channel.eventLoop.flatSubmit { client.value.disconnect() }
    }
}

/// Opens the generator's connections: TCP (bound to the next source address, if any), TLS for `wss`, the
/// WebSocket handshake for `ws`/`wss`, then MQTT, spread over the group's event loops.
struct BenchConnector: Sendable {
    let configuration: BenchConfiguration
    let group: any EventLoopGroup
    let workers: LoopWorkers
    private let address: SocketAddress
    private let sourceAddresses: [SocketAddress]
    private let reconnectSourceAddresses: [SocketAddress]
    private let tls: NIOSSLContext?
    private let serverName: String?
    private let settings: BenchClientHandler.Settings

    /// Resolves the target once and builds the TLS context once (so a bad CA file fails before any connection).
    init(configuration: BenchConfiguration, group: any EventLoopGroup, workers: LoopWorkers) throws {
        self.configuration = configuration
        self.group = group
        self.workers = workers
        let target = configuration.target
        do {
            self.address = try SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
        } catch {
            throw BenchUsageError("cannot resolve \(target.host): \(error)")
        }
        func bindable(_ list: SourceAddressList?, option: String) throws -> [SocketAddress] {
            try (list?.addresses ?? []).map { text in
                do {
                    return try SocketAddress(ipAddress: text, port: 0)
                } catch {
                    throw BenchUsageError("\(option): \(text): \(error)")
                }
            }
        }
        self.sourceAddresses = try bindable(configuration.sourceAddresses, option: "--source-ips")
        self.reconnectSourceAddresses = try bindable(configuration.reconnectSourceAddresses, option: "--reconnect-source-ips")
        if target.transport.usesTLS {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            if configuration.tls.insecure {
                tls.certificateVerification = .none
            } else if let caFile = configuration.tls.caFile {
                tls.trustRoots = .file(caFile)
            }
            do {
                self.tls = try NIOSSLContext(configuration: tls)
            } catch {
                throw BenchUsageError("TLS configuration (--ca-file \(configuration.tls.caFile ?? "-")): \(error)")
            }
            let name = configuration.tls.serverName ?? target.host
            self.serverName = Self.isIPLiteral(name) ? nil : name
        } else {
            self.tls = nil
            self.serverName = nil
        }
        self.settings = BenchClientHandler.Settings(
            version: configuration.mqttVersion, qos: configuration.qos, keepAlive: configuration.keepAlive,
            username: configuration.username, password: configuration.password,
            clientIDPrefix: configuration.clientIDPrefix, topicPrefix: configuration.topicPrefix,
            payloadSize: configuration.payloadSize, stampsPayloads: configuration.stampsPayloads,
            batchBytes: configuration.batchBytes, ratePerPublisher: configuration.ratePerPublisher,
            inflight: configuration.inflight, closedLoop: configuration.closedLoop,
            outstanding: configuration.maxOutstanding.map { OutstandingWindow(limit: $0) },
            fanOut: (0..<configuration.topics).map { configuration.subscribers(ofTopic: $0) },
            connectTimeout: TimeAmount(configuration.connectTimeout))
    }

    /// Opens one connection; the future succeeds once it is ready, or fails with a `BenchClientError`.
    /// `index` picks the source address (round-robin); a storm's `reconnecting` client uses the reconnect addresses
    /// if there are any.
    func connect(role: BenchClientRole, index: Int, reconnecting: Bool = false) -> EventLoopFuture<BenchConnection> {
        let eventLoop = self.group.next()
        let ready = eventLoop.makePromise(of: UInt64.self)
        let configuration = self.configuration
        let tls = self.tls
        let serverName = self.serverName
        let settings = self.settings
        let workers = self.workers
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let worker = workers.worker(for: channel.eventLoop) else {
                        throw BenchClientError(.connect, "no worker for the channel's event loop")
                    }
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(AbruptCloseHandler())  // first, so that a cut closes below TLS
                    if let tls {
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    var upgraded: EventLoopFuture<String?>?
                    if configuration.target.transport.isWebSocket {
                        let promise = channel.eventLoop.makePromise(of: String?.self)
                        upgraded = promise.futureResult
                        try sync.addHandlers(
                            Self.webSocketHandlers(target: configuration.target, subprotocol: configuration.subprotocol, upgraded: promise))
                    }
                    try sync.addHandler(
                        BenchClientHandler(settings: settings, role: role, worker: worker, readyPromise: ready, transportReady: upgraded))
                }
            }
        let sources = reconnecting && !self.reconnectSourceAddresses.isEmpty ? self.reconnectSourceAddresses : self.sourceAddresses
        if !sources.isEmpty {
            bootstrap = bootstrap.bind(to: sources[index % sources.count])
        }
        let address = self.address
        return bootstrap.connect(to: address).flatMapError { error in
            let failure = BenchClientError(.connect, "connect to \(address): \(error)")
            ready.fail(failure)
            return eventLoop.makeFailedFuture(failure)
        }.flatMap { channel in
            ready.futureResult.flatMapThrowing { readyAt in
                let client = try channel.pipeline.syncOperations.handler(type: BenchClientHandler.self)
                return BenchConnection(
                    channel: channel, readyAt: readyAt, transportReadyAt: client.transportReadyAt,
                    client: NIOLoopBound(client, eventLoop: channel.eventLoop))
            }
        }
    }

    /// The transport's client handshake (checked like a browser does) and client-role codec, and the adapter that
    /// sends each MQTT packet as one message.
    /// `subprotocol` nil offers none, as WeChat does.
    static func webSocketHandlers(
        target: BenchTarget, subprotocol: String?, key: String = WebSocketHandshake.randomKey(), upgraded: EventLoopPromise<String?>
    ) -> [any ChannelHandler] {
        let handshake = WebSocketClientHandshake(
            host: target.hostHeader, path: target.path, subprotocols: subprotocol.map { [$0] } ?? [], requiresSubprotocolAnswer: true,
            userAgent: "mqtt-ws-bench", key: key)
        return [
            WebSocketClientUpgradeHandler(handshake: handshake, codec: .init(role: .client), upgraded: upgraded),
            MQTTWebSocketAdapter(),
        ]
    }

    static func isIPLiteral(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }
}

extension Duration {
    /// Seconds as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
