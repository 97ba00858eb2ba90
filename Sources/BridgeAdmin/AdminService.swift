import ListenerSupport
import Logging
import MosquittoClient
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SessionRegistry
import SettingsSupport
import UpstreamPool

/// The admin listener as a swift-service-lifecycle `Service`: `/healthz`, `/readyz`, `/metrics` and
/// `POST /api/v1/publish` on `admin.address`:`admin.port`, plain HTTP/1.1.
///
/// It owns the readiness probe loop and the publisher pool. Put it **before** the bridge in the `ServiceGroup`: the
/// group shuts services down in reverse order, so on SIGTERM the bridge drains first — `/readyz` turns 503 the moment
/// the bridge's phase becomes `draining` — while this listener keeps answering health checks and scrapes; it stops
/// last, then the pool disconnects. The executable calls `MosquittoLibrary.shutdown()` after the group has returned.
package final class AdminService: Service, Sendable {
    /// HTTP request heads: no admin request needs more.
    static let headFieldLimit = 8 * 1024
    static let headListLimit = 16 * 1024
    static let headFieldCountLimit = 100
    /// `SO_SNDBUF` of admin connections.
    static let sendBufferSize: SocketOptionValue = 64 * 1024

    private let configuration: AdminSettings
    private let group: any EventLoopGroup
    private let logger: Logger
    private let monitor: ReadinessMonitor
    private let publisher: MosquittoPublisherPool?
    private let endpoints: AdminEndpoints
    /// `admin.max_connections`, and the count behind `connectionCount`.
    private let connections: ConnectionLimit
    /// Closes the listener and asks every connection to finish (`HTTPServerPipelineHandler` closes an idle one at
    /// once, a busy one after its answer).
    private let quiescing: ServerQuiescingHelper
    private let started: EventLoopPromise<SocketAddress>

    /// Checks what can be checked without opening anything (the options libmosquitto would refuse, the token rule);
    /// the configuration's own validation is assumed to have passed.
    ///
    /// - Parameters:
    ///   - bridgePhase: the bridge's phase, read on every readiness evaluation (cheap, never blocking).
    ///   - metrics: the same export whose `factory` the bridge's `BridgeMetrics` was made with; `/metrics` renders it.
    ///   - upstreamPool: the bridge's pool (`BridgeServer.upstreamPool`) with `upstream.servers`: `/readyz` and the
    ///     per-server metrics read its health, and the publisher pool connects to a server that is up.
    ///   - sessions: the bridge's open sessions, for the sessions API and the event stream; nil answers them with 404.
    ///   - refusals: the bridge's last refused handshakes (`BridgeMetrics.refusals`), for the event stream.
    ///   - eventInterval: time between two events of `/api/v1/events`.
    package init(
        settings admin: AdminSettings,
        bridgePhase: @escaping @Sendable () -> BridgePhase,
        metrics export: MetricsExport,
        sessions: SessionRegistry? = nil,
        refusals: RefusalLog? = nil,
        eventInterval: Duration = .seconds(1),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mqtt_ws_bridge.admin"),
        upstreamPool: UpstreamPool? = nil
    ) throws(AdminStartupError) {
        self.configuration = admin
        self.group = group
        self.logger = logger
        let publisher = try Self.makePublisher(admin, upstreamPool: upstreamPool, logger: logger)
        self.publisher = publisher
        let metrics = AdminMetrics(factory: export.factory, upstreamServers: upstreamPool?.servers ?? [])
        monitor = ReadinessMonitor(
            probe: MosquittoProbe(options: admin.readiness.probe),
            interval: admin.readiness.interval, staleAfter: admin.readiness.staleAfter,
            failureThreshold: admin.readiness.failureThreshold, successThreshold: admin.readiness.successThreshold,
            bridgePhase: bridgePhase, metrics: metrics, logger: logger, pool: upstreamPool)
        endpoints = AdminEndpoints(
            monitor: monitor, publisher: publisher, export: export, metrics: metrics,
            access: AdminAccess(adminToken: admin.token, publishToken: admin.publishToken),
            sessions: admin.sessionsEnabled ? sessions : nil,
            // Both unused without a publisher.
            refusals: refusals, eventInterval: eventInterval, maxBodySize: admin.publish?.maxBodySize ?? 0,
            ackTimeout: admin.publish?.options.ackTimeout ?? .zero, broker: Self.brokerDescription(admin), logger: logger)
        connections = ConnectionLimit(limit: admin.maxConnections)
        quiescing = ServerQuiescingHelper(group: group)
        started = group.next().makePromise(of: SocketAddress.self)
        if let serverName = admin.upstreamTLSServerName, serverName != admin.readiness.probe.host {
            logger.warning(
                "upstream.tls.server_name does not apply to the readiness probe and the publish API: libmosquitto verifies the broker's certificate against upstream.host",
                metadata: ["server_name": "\(serverName)", "host": "\(admin.readiness.probe.host)"])
        }
    }

    /// What `init` checks, for `--check-config`.
    package static func validate(_ settings: AdminSettings) throws(AdminStartupError) {
        _ = try makePublisher(settings, logger: Logger(label: "mqtt_ws_bridge.admin"))
    }

    private static func makePublisher(
        _ settings: AdminSettings, upstreamPool: UpstreamPool? = nil, logger: Logger
    ) throws(AdminStartupError) -> MosquittoPublisherPool? {
        // Configuration validation says the same; repeated here for settings made in code.
        if !LoopbackAddress.isLoopback(settings.address) {
            if settings.token == nil && settings.sessionsEnabled {
                throw AdminStartupError("admin.token: is required when admin.address is not a loopback address")
            }
            if settings.token == nil && settings.publishToken == nil && settings.publish != nil {
                throw AdminStartupError("admin.publish.token: is required when admin.address is not a loopback address")
            }
        }
        // The probe's options get the same checks: a pool's initialiser validates without connecting.
        do {
            _ = try MosquittoPublisherPool(options: settings.readiness.probe, size: 1, logger: logger)
        } catch {
            throw AdminStartupError("admin.readiness / upstream: \(error.reason)")
        }
        guard let publish = settings.publish else { return nil }
        do {
            return try MosquittoPublisherPool(
                options: publish.options, size: publish.poolSize, logger: logger,
                broker: upstreamPool.map(Self.publisherBroker))
        } catch {
            throw AdminStartupError("admin.publish / upstream: \(error.reason)")
        }
    }

    deinit {
        // A service that was never run must not leave its promise pending.
        started.fail(CancellationError())
    }

    /// The bound address, once listening (port 0 in the configuration → the port picked); throws the bind error.
    package func address() async throws -> SocketAddress {
        try await started.futureResult.get()
    }

    /// What `/readyz` would answer now.
    package var readiness: Readiness { monitor.current() }

    /// Open admin connections.
    package var connectionCount: Int { connections.count }

    /// Publisher pool connections currently up (0 when the publish API is disabled).
    package var publisherConnections: Int { publisher?.connectedCount ?? 0 }

    package func run() async throws {
        let server: NIOAsyncChannel<AcceptedAdminConnection, Never>
        do {
            server = try await bind()
        } catch {
            let failure = AdminStartupError(
                "admin: cannot listen on \(configuration.address) port \(configuration.port): \(error)")
            started.fail(failure)
            throw failure
        }
        let address = server.channel.localAddress
        if let address { started.succeed(address) }
        logger.notice(
            "admin listening",
            metadata: [
                "address": "\(address.map(Self.hostAndPort) ?? "?")",
                "admin_api": "\(configuration.token == nil ? "no token" : "bearer token")",
                "publish_api":
                    "\(publisher == nil ? "disabled" : configuration.token == nil && configuration.publishToken == nil ? "enabled, no token" : "enabled, bearer token")",
            ])
        publisher?.start()

        await withTaskGroup(of: Void.self) { background in
            background.addTask { await self.monitor.run() }
            await withTaskCancellationHandler {
                await withGracefulShutdownHandler {
                    await self.serve(server)
                } onGracefulShutdown: {
                    self.stopAccepting(server)
                }
            } onCancel: {
                self.stopAccepting(server)
            }
            background.cancelAll()
        }
        await publisher?.shutdown()
        logger.notice("admin listener stopped")
    }

    private func stopAccepting(_ server: NIOAsyncChannel<AcceptedAdminConnection, Never>) {
        connections.stopAdmitting()
        quiescing.initiateShutdown(promise: nil)
    }

    /// Accepts until the listener is closed, then waits for the connections still answering a request.
    private func serve(_ server: NIOAsyncChannel<AcceptedAdminConnection, Never>) async {
        let connection = AdminConnection(router: endpoints.router, logger: logger)
        await withDiscardingTaskGroup { tasks in
            do {
                try await server.executeThenClose { accepted in
                    for try await channel in accepted {
                        tasks.addTask { await connection.serve(channel) }
                    }
                }
            } catch {
                logger.debug("admin listener closed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func bind() async throws -> NIOAsyncChannel<AcceptedAdminConnection, Never> {
        let guardLimits = AdminConnectionGuard.Limits(
            idleTimeout: TimeAmount(configuration.idleTimeout), writeTimeout: TimeAmount(configuration.writeTimeout),
            maxPipelinedRequests: AdminConnectionGuard.maxPipelinedRequests)
        let (connections, quiescing, logger) = (self.connections, self.quiescing, self.logger)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: true, backoffProvider: { _ in .milliseconds(100) }))
                    try pipeline.addHandler(AcceptErrorLogger(listener: "admin", logger: logger))
                    try pipeline.addHandler(connections.makeServerChannelHandler())
                    try pipeline.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A fixed kernel send buffer instead of Linux' autotuning (up to 4 MiB): an event stream viewer that stops
            // reading fills it within seconds, its next write waits, and `admin.write_timeout` closes it — instead of
            // megabytes of events piling up in the kernel first. Admin answers are small; /metrics just takes a few writes.
            .childChannelOption(.socketOption(.so_sndbuf), value: Self.sendBufferSize)
        let largestBody = endpoints.router.largestBodyLimit
        let initializer: @Sendable (any Channel) -> EventLoopFuture<AcceptedAdminConnection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                var limits = NIOHTTPDecoderLimitConfiguration()
                limits.maxHeaderFieldSize = Self.headFieldLimit
                limits.maxHeaderListSize = Self.headListLimit
                limits.maxHeaderFieldCount = Self.headFieldCountLimit
                let pipeline = channel.pipeline.syncOperations
                let announcement = ChunkedBodyLimit.Announcement()
                try pipeline.addHandler(ChunkedBodyLimit(limit: largestBody, announcement: announcement))
                try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(limitConfiguration: limits)))
                try pipeline.addHandler(HTTPResponseEncoder())
                try pipeline.addHandler(AdminConnectionGuard(limits: guardLimits, logger: logger))
                try pipeline.addHandler(HTTPServerPipelineHandler())
                return AcceptedAdminConnection(
                    channel: try AdminChannel(wrappingChannelSynchronously: channel), announcement: announcement)
            }
        }
        if let address = try? SocketAddress(ipAddress: configuration.address, port: configuration.port) {
            return try await bootstrap.bind(to: address, childChannelInitializer: initializer)
        }
        return try await bootstrap.bind(host: configuration.address, port: configuration.port, childChannelInitializer: initializer)
    }

    /// With `upstream.servers`, each publisher (re)connects to a server that takes sessions now, the first such in the
    /// list (one broker for every publisher, so their messages keep their order); all down → the first server.
    /// Mosquitto's bridge (or a broker cluster) carries the messages to subscribers on the other brokers.
    static func publisherBroker(_ pool: UpstreamPool) -> @Sendable () -> (host: String, port: Int) {
        {
            let status = pool.status()
            let server = (status.servers.first(where: \.isAvailable) ?? status.servers[0]).server
            return (server.host, server.port)
        }
    }

    /// `127.0.0.1:1883`, `[::1]:1883`: for `/readyz` and logs; with `upstream.servers`, every server.
    static func brokerDescription(_ settings: AdminSettings) -> String {
        if !settings.upstreamServers.isEmpty {
            return settings.upstreamServers.map(\.description).joined(separator: ", ")
        }
        return SettingsSupport.hostAndPort(settings.readiness.probe.host, settings.readiness.probe.port)
    }

    static func hostAndPort(_ address: SocketAddress) -> String {
        SettingsSupport.hostAndPort(address.ipAddress ?? "?", address.port ?? 0)
    }
}
