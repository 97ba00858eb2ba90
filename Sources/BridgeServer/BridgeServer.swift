import BridgeConfig
import BridgeFrontEnd
import BridgeRelay
import BridgeTLS
import ClientAddress
import CoreMetrics
import EdgeAuth
import ListenerSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SessionRegistry
import SettingsSupport
import Synchronization
import UpstreamPool

/// The bridge as a swift-service-lifecycle `Service`: opens the listeners, relays until a graceful
/// shutdown is requested (SIGTERM/SIGINT through the `ServiceGroup`), then drains.
///
/// Accepting (`ListenerSockets`): on Linux each listener has one socket per event loop on its port (`SO_REUSEPORT`);
/// each loop accepts its own connections and keeps them, so an accept never waits behind another loop's handshakes.
///
/// Drain (NIOExtras' `ServerQuiescingHelper`, one per listening socket): listeners close (no new connections), every
/// connection gets `ChannelShouldQuiesceEvent` in its turn (`DrainPacer`, `shutdown.drain_rate`) — a session answers
/// with WebSocket close 1001 and its upstream is closed, a handshake in progress is closed — and `run()` returns when
/// all connections are gone; whatever is still open when the grace period ends is closed hard (`DrainDeadline`).
///
/// Certificates: each TLS listener has one `NIOSSLContext`, built here, that takes its certificate per handshake from
/// a `CertificateStore` (SNI selection, reload without restart). `reloadCertificates()` re-reads them (the executable
/// calls it on SIGHUP); `listeners.<name>.tls.reload_interval` also re-reads them on a timer while `run()` runs.
package final class BridgeServer: Service, Sendable {
    package enum Phase: String, Sendable {
        case starting, listening, draining, stopped
    }

    /// A bound listener, for logs and for tests that bind port 0.
    package struct BoundListener: Sendable {
        package var name: String
        package var address: SocketAddress
        package var mode: ListenerMode
        /// The loop of each of its sockets (`ListenerSockets`): all of the group's on Linux with `reuse_port`, else one.
        package var acceptLoops: [any EventLoop]
        package var isTLS: Bool { self.mode != .plain }
        package var port: Int { self.address.port ?? 0 }

        /// `127.0.0.1:8443` or `[::]:8443`.
        package var hostAndPort: String {
            SettingsSupport.hostAndPort(self.address.ipAddress ?? "?", self.port)
        }
    }

    private let configuration: BridgeConfiguration
    private let group: any EventLoopGroup
    let logger: Logger
    package let metrics: BridgeMetrics
    /// The open sessions (from their CONNECT until they close), for the admin API.
    package let sessions = SessionRegistry()
    private let frontEnd: WebSocketFrontEnd
    private let upstreamDescription: String
    /// The brokers of `upstream.servers`; nil with the one-server form (`upstream.host`, `upstream.port`).
    package let upstreamPool: UpstreamPool?
    /// Probes every server of `upstreamPool` while the bridge runs; nil without a pool or a probe.
    private let healthChecker: UpstreamHealthChecker?
    private let tlsContexts: [String: NIOSSLContext]
    /// By listener name.
    private let certificateStores: [String: CertificateStore]
    /// `limits.max_connections` over all listeners, and the count behind `connectionCount`.
    private let connections: ConnectionLimit
    /// Connections the grace period had to close.
    private let hardClosed = Synchronization.Atomic<Int>(0)
    private let phaseBox = NIOLockedValueBox(Phase.starting)
    /// `shutdown.drain_rate`: the turns of the connections to be closed while draining.
    private let drainPacer: DrainPacer
    private let started: EventLoopPromise<[BoundListener]>
    /// Edge authentication, when a route has `auth` (`makeEdgeAuthenticator`).
    let edgeAuthenticator: EdgeAuthenticator?

    /// Validates what can be checked before binding (certificates, upstream TLS) so that a bad
    /// configuration fails here with a message naming the key.
    ///
    /// `metricsFactory` receives the certificate gauges, and the session metrics when `metrics` is nil (tests pass a
    /// recording factory); default: the bootstrapped `MetricsSystem`.
    package init(
        configuration: BridgeConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mqtt_ws_bridge"),
        accessLogger: Logger? = Logger(label: "mqtt_ws_bridge.access"),
        metrics: BridgeMetrics? = nil,
        metricsFactory: (any MetricsFactory)? = nil,
        connector: (any UpstreamConnector)? = nil,
        edgeAuthenticator: EdgeAuthenticator? = nil,
        upstreamProbe: UpstreamHealthChecker.Probe? = nil
    ) throws(StartupError) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.connections = ConnectionLimit(limit: configuration.limits.maxConnections)
        self.drainPacer = DrainPacer(rate: configuration.shutdown.drainRate, gracePeriod: TimeAmount(configuration.shutdown.gracePeriod))
        let factory = metricsFactory ?? MetricsSystem.factory
        let metrics = metrics ?? BridgeMetrics(routeNames: configuration.routes.map(\.name), factory: factory)
        self.metrics = metrics

        let routeAuth = try EdgeAuthSettings.routeAuth(configuration, authenticator: edgeAuthenticator)
        self.edgeAuthenticator = edgeAuthenticator
        let (stores, upstream) = try Self.prepare(
            configuration, connector: connector, eventLoops: Array(group.makeIterator()), logger: logger, metricsFactory: factory,
            dialMetrics: metrics.upstreamDials)
        let upstreamPool = (upstream.servers as? PooledUpstreamServers)?.pool
        self.upstreamPool = upstreamPool
        self.healthChecker = UpstreamPoolWiring.healthChecker(upstreamPool, configuration.upstream.healthCheck, probe: upstreamProbe)
        let topicAuthorizers = try TopicAllowList.forRoutes(configuration.routes)
        var contexts: [String: NIOSSLContext] = [:]
        for (name, store) in stores {
            contexts[name] = try Self.startupCheck { () throws(TLSConfigurationError) in try store.makeContext() }
        }
        self.certificateStores = stores
        self.tlsContexts = contexts
        if let tls = configuration.upstream.tls, let policy = try? UpstreamTLS.policy(UpstreamTLSSettings(tls)) {
            logger.info(
                "upstream TLS policy",
                metadata: [
                    "profile": "\(policy.profile.rawValue)", "versions": "\(policy.versions)",
                    "tls12_ciphers": "\(policy.tls12Description)",
                ])
            if !tls.verify {
                logger.warning("upstream.tls.verify is false: the broker's certificate is not checked")
            }
        }
        self.upstreamDescription = upstream.description
        self.frontEnd = WebSocketFrontEnd(
            settings: FrontEndSettings(configuration), upstream: upstream, metrics: metrics, logger: logger,
            accessLogger: configuration.logging.accessLog ? accessLogger : nil, topicAuthorizers: topicAuthorizers,
            sessions: self.sessions, routeAuth: routeAuth)
        self.started = group.next().makePromise(of: [BoundListener].self)
    }

    /// Checks what start-up checks (certificates, keys, upstream TLS files, topic filters, trusted proxy
    /// ranges) without opening anything: `--check-config` uses it.
    package static func validate(_ configuration: BridgeConfiguration) throws(StartupError) {
        let quiet = Logger(label: "mqtt_ws_bridge.check") { _ in SwiftLogNoOpLogHandler() }
        let stores = try Self.prepare(
            configuration, connector: nil, eventLoops: [], logger: quiet, metricsFactory: NOOPMetricsHandler.instance
        ).0
        for store in stores.values {
            _ = try Self.startupCheck { () throws(TLSConfigurationError) in try store.makeContext() }
        }
        _ = try TopicAllowList.forRoutes(configuration.routes)
        _ = try EdgeAuthSettings(configuration)
        for listener in configuration.listeners where listener.enabled {
            _ = try Self.listenerSettings(listener)
        }
    }

    /// A listener's name and the proxies it trusts, parsed once (errors name the key).
    static func listenerSettings(_ listener: ListenerConfiguration) throws(StartupError) -> ListenerSettings {
        do {
            return ListenerSettings(
                name: listener.name, trustedProxies: try TrustedProxies(listener.trustedProxies),
                forwardedHeaders: listener.forwardedHeaders)
        } catch {
            throw StartupError("listeners.\(listener.name).trusted_proxies: \(error)")
        }
    }

    /// Loads every TLS listener's certificates (checked: readable, key matches, currently valid) and assembles the
    /// upstream: its connector, its server selector and its per-loop dial gates.
    private static func prepare(
        _ configuration: BridgeConfiguration, connector: (any UpstreamConnector)?, eventLoops: [any EventLoop], logger: Logger,
        metricsFactory: any MetricsFactory, dialMetrics: UpstreamDialGateMetrics? = nil
    ) throws(StartupError) -> ([String: CertificateStore], Upstream) {
        var stores: [String: CertificateStore] = [:]
        for listener in configuration.listeners where listener.enabled {
            if let tls = listener.tls {
                stores[listener.name] = try Self.startupCheck { () throws(TLSConfigurationError) in
                    try CertificateStore(
                        listener: listener.name, tls: ListenerTLSSettings(tls), logger: logger, metricsFactory: metricsFactory)
                }
            }
        }
        if let tls = configuration.upstream.tls {
            _ = try Self.startupCheck { () throws(TLSConfigurationError) in try UpstreamTLS.policy(UpstreamTLSSettings(tls)) }
        }
        let servers = try UpstreamPoolWiring.selector(configuration.upstream, eventLoops: eventLoops, logger: logger)
        let dialGates = UpstreamDialGates(
            maxConcurrentDials: configuration.upstream.maxConcurrentDials, eventLoops: eventLoops, metrics: dialMetrics)
        let upstreamConnector: any UpstreamConnector
        if let connector {
            upstreamConnector = connector
        } else {
            do {
                upstreamConnector = try UpstreamConnectors.make(configuration.upstream)
            } catch {
                throw StartupError("upstream.tls: \(error)")
            }
        }
        return (stores, Upstream(connector: upstreamConnector, servers: servers, dialGates: dialGates))
    }

    /// Runs a TLS set-up step; its error already names the key and becomes the start-up error as it is.
    private static func startupCheck<T>(_ step: () throws(TLSConfigurationError) -> T) throws(StartupError) -> T {
        do {
            return try step()
        } catch {
            throw StartupError(error.description)
        }
    }

    deinit {
        // A server that was never run must not leave its start promise pending.
        self.started.fail(CancellationError())
    }

    package var phase: Phase { self.phaseBox.withLockedValue { $0 } }

    /// Number of open client connections (handshakes included).
    package var connectionCount: Int { self.connections.count }

    /// Re-reads the certificate files of every TLS listener and puts each pair that changed and passes its checks
    /// (readable, key matches the certificate, valid now) into use for new handshakes; open sessions are not touched.
    /// A refused pair leaves the previous one in use. Every outcome is logged; the report says the same.
    ///
    /// The executable calls this on SIGHUP. Safe to call at any time, from any task (the file I/O runs on NIO's
    /// blocking thread pool); concurrent calls run one after the other.
    @discardableResult
    package func reloadCertificates() async -> CertificateReloadReport {
        var entries: [CertificateReloadReport.Entry] = []
        for name in self.certificateStores.keys.sorted() {
            if let store = self.certificateStores[name] {
                entries += await store.reloadOffTheLoops(trigger: .request)
            }
        }
        let report = CertificateReloadReport(entries: entries)
        if entries.isEmpty {
            self.logger.notice("certificate reload: no TLS listener, nothing to reload")
        } else {
            let count = { (match: (CertificateReloadReport.Outcome) -> Bool) in entries.filter { match($0.outcome) }.count }
            self.logger.notice(
                "certificate reload finished",
                metadata: [
                    "loaded": "\(count { if case .loaded = $0 { true } else { false } })",
                    "unchanged": "\(count { if case .unchanged = $0 { true } else { false } })",
                    "refused": "\(report.refused.count)",
                ])
        }
        return report
    }

    /// The certificates every TLS listener serves now, by listener name then default pair first.
    package var certificates: [CertificateStatus] {
        self.certificateStores.keys.sorted().flatMap { self.certificateStores[$0]?.status ?? [] }
    }

    /// Waits until every listener is bound (or throws the bind error).
    package func listeners() async throws -> [BoundListener] {
        try await self.started.futureResult.get()
    }

    package func run() async throws {
        let listeners: [ServerQuiescingHelper]
        let bound: [BoundListener]
        do {
            (listeners, bound) = try await self.bindAll()
        } catch {
            self.phaseBox.withLockedValue { $0 = .stopped }
            self.started.fail(error)
            throw error
        }
        self.phaseBox.withLockedValue { $0 = .listening }
        self.started.succeed(bound)
        for listener in bound {
            self.logger.notice(
                "listening",
                metadata: [
                    "listener": "\(listener.name)", "address": "\(listener.hostAndPort)", "mode": "\(listener.mode.rawValue)",
                    "upstream": "\(self.upstreamDescription)",
                ])
        }

        // Certificate upkeep (timed reloads, expiry warnings) and the upstream pool's health checks run while the
        // listeners are open.
        await withDiscardingTaskGroup { group in
            for store in self.certificateStores.values {
                group.addTask { await store.maintain() }
            }
            if let healthChecker = self.healthChecker {
                group.addTask { await healthChecker.run() }
            }
            if let authenticator = self.edgeAuthenticator {
                group.addTask { await authenticator.run() }  // auth.jwt.reload_interval
            }
            // Returns when graceful shutdown is triggered; a task cancellation drains too.
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await self.drain(listeners)
        // After the drain: no session can ask the auth callout any more.
        try? await self.edgeAuthenticator?.shutdown()
    }

    private func drain(_ listeners: [ServerQuiescingHelper]) async {
        self.phaseBox.withLockedValue { $0 = .draining }
        self.logger.notice(
            "draining",
            metadata: [
                "connections": "\(self.connections.count)", "grace_period": "\(self.configuration.shutdown.gracePeriod)",
                "drain_rate": "\(self.configuration.shutdown.drainRate.map { "\($0)/s" } ?? "spread over the grace period")",
            ])
        // First, so that no connection is accepted between the helpers' quiesce events and unasked.
        self.connections.stopAdmitting()
        self.drainPacer.start(connections: self.connections.count)
        let eventLoop = self.group.next()
        let quiesced = listeners.map { listener in
            let promise = eventLoop.makePromise(of: Void.self)
            listener.initiateShutdown(promise: promise)
            return promise.futureResult
        }
        // Bounded: every connection closes itself at the end of the grace period at the latest (DrainDeadline).
        try? await EventLoopFuture.andAllComplete(quiesced, on: eventLoop).get()
        let closedHard = self.hardClosed.load(ordering: .relaxed)
        if closedHard > 0 {
            self.logger.warning("grace period over: closed the remaining connections", metadata: ["connections": "\(closedHard)"])
        }
        self.phaseBox.withLockedValue { $0 = .stopped }
        self.logger.notice("stopped")
    }

    /// Binds every enabled listener; each of its sockets comes with the `ServerQuiescingHelper` that will drain it.
    private func bindAll() async throws -> ([ServerQuiescingHelper], [BoundListener]) {
        OpenFileLimit.raise(toFit: self.configuration.limits.maxConnections, logger: self.logger)
        var channels: [any Channel] = []
        var helpers: [ServerQuiescingHelper] = []
        var bound: [BoundListener] = []
        do {
            for listener in self.configuration.listeners where listener.enabled {
                let sockets = try await self.bind(listener)
                channels += sockets.map(\.channel)
                helpers += sockets.map(\.quiescing)
                if let address = sockets.first?.channel.localAddress {
                    bound.append(
                        BoundListener(
                            name: listener.name, address: address, mode: listener.mode,
                            acceptLoops: sockets.map(\.channel.eventLoop)))
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return (helpers, bound)
    }

    /// Binds one listener's sockets (`ListenerSockets`), each with the helper that will drain it.
    private func bind(_ listener: ListenerConfiguration) async throws -> [(channel: any Channel, quiescing: ServerQuiescingHelper)] {
        let settings = try Self.listenerSettings(listener)
        var helpers: [ServerQuiescingHelper] = []
        do {
            let channels = try await ListenerSockets.bind(group: self.group, reusePort: listener.reusePort) { bootstrap in
                let helper = ServerQuiescingHelper(group: self.group)
                helpers.append(helper)
                return self.configure(bootstrap, for: listener, settings: settings, quiescing: helper)
            } bindFirst: { bootstrap in
                try await self.bindFirst(bootstrap, listener)
            }
            return Array(zip(channels, helpers))
        } catch {
            throw StartupError("listeners.\(listener.name): cannot listen on \(listener.address) port \(listener.port): \(error)")
        }
    }

    /// One socket's pipelines: the server channel's (accept back-off and errors, the connection cap, the drain) and each
    /// accepted connection's.
    private func configure(
        _ bootstrap: ServerBootstrap, for listener: ListenerConfiguration, settings: ListenerSettings,
        quiescing: ServerQuiescingHelper
    ) -> ServerBootstrap {
        let frontEnd = self.frontEnd
        let connections = self.connections
        let tlsContext = self.tlsContexts[listener.name]
        let name = listener.name
        let gracePeriod = TimeAmount(self.configuration.shutdown.gracePeriod)
        let countHardClose: @Sendable () -> Void = { [self] in self.hardClosed.add(1, ordering: .relaxed) }
        let drainPacer = self.drainPacer
        let mode = listener.mode
        let proxyConfiguration: ProxyProtocolHandler.Configuration? =
            switch listener.proxyProtocol {
            case .off: nil
            case .optional: .optional(trusting: settings.trustedProxies)
            case .required: .required(trusting: settings.trustedProxies)
            }
        let logger = self.logger
        return
            bootstrap
            .serverChannelInitializer { channel in
                // NIO's classic bind does not add accept back-off: without it a full file table (EMFILE) makes
                // the accept loop spin at 100% CPU while clients wait.
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: true, backoffProvider: { _ in .milliseconds(100) }))
                    try pipeline.addHandler(AcceptErrorLogger(listener: name, logger: logger))
                    // Over limits.max_connections or draining: closed here, before the drain helper or a pipeline.
                    try pipeline.addHandler(connections.makeServerChannelHandler())
                    try pipeline.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.recvAllocator, value: RelayChannelOptions.receiveAllocator)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(DrainDeadline(gracePeriod: gracePeriod, pacer: drainPacer, onHardClose: countHardClose))
                    // The PROXY header comes before anything else on the wire, TLS included.
                    var proxyOutcome: ProxyProtocolOutcome?
                    if let proxyConfiguration {
                        let outcome = ProxyProtocolOutcome()
                        try pipeline.addHandler(ProxyProtocolHandler(configuration: proxyConfiguration, outcome: outcome))
                        proxyOutcome = outcome
                    }
                    switch (mode, tlsContext) {
                    case (.tls, let tlsContext?):
                        try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext))
                    case (.auto, let tlsContext?):
                        try pipeline.addHandler(TLSDetector(tlsContext: tlsContext))
                    default:
                        break
                    }
                    try frontEnd.configureHandshake(on: pipeline, listener: settings, proxy: proxyOutcome)
                }
            }
    }

    /// Binds a listener's first socket to its configured address and port (the others follow it).
    private func bindFirst(_ bootstrap: ServerBootstrap, _ listener: ListenerConfiguration) async throws -> any Channel {
        do {
            if let address = try? SocketAddress(ipAddress: listener.address, port: listener.port) {
                return try await bootstrap.bind(to: address).get()
            }
            return try await bootstrap.bind(host: listener.address, port: listener.port).get()
        } catch let error as IOError where listener.address == "::" && error.errnoCode == EAFNOSUPPORT {
            // A host without IPv6 (common in containers): all IPv4 interfaces is the closest meaning.
            self.logger.warning("IPv6 is not available: listening on 0.0.0.0 instead of ::", metadata: ["listener": "\(listener.name)"])
            return try await bootstrap.bind(host: "0.0.0.0", port: listener.port).get()
        }
    }
}
