import BridgeConfig
import BridgeRelay
import ClientAddress
import Logging
import NIOCore
import NIOHTTP1
import WebSocketTransport

/// Everything the HTTP/WebSocket front end needs, built once at start-up and shared by all connections.
public final class WebSocketFrontEnd: Sendable {
    /// A route with the per-session settings derived from the configuration.
    public struct Route: Sendable {
        public var configuration: RouteConfiguration
        public var session: SessionSettings
        public var codec: WebSocketMessageCodec.Configuration
        /// nil when the route accepts any origin.
        var origins: OriginPolicy?
        /// nil when compression is off on the route.
        var compression: PerMessageDeflate.Settings?
    }

    let routesByPath: [String: Route]
    let handshakeTimeout: TimeAmount
    let maxRequestHeadSize: Int
    /// How sessions reach the broker.
    public enum Upstream: Sendable {
        /// Dialled by each session after its CONNECT (`upstream.kind: tcp`).
        case tcp(any UpstreamConnector)
        /// Dialled and upgraded before the client's 101 (`upstream.kind: ws`).
        case ws(WebSocketUpstreamConnector)

        public var endpointDescription: String {
            switch self {
            case .tcp(let connector): connector.endpointDescription
            case .ws(let connector): connector.endpointDescription
            }
        }
    }

    let upstream: Upstream
    let metrics: BridgeMetrics
    let logger: Logger
    let accessLogger: Logger?
    /// Per-client-address session and rate limits.
    public let admission: ClientAdmission
    /// `upstream.proxy_protocol`: each broker connection starts with a PROXY v2 header naming the client.
    let sendsProxyProtocol: Bool
    /// `static_files`: answers plain GET/HEAD requests for paths that are not routes; `nil` when switched off.
    let staticFiles: StaticFileResponder?

    public init(
        configuration: BridgeConfiguration,
        upstream: Upstream,
        metrics: BridgeMetrics,
        logger: Logger,
        accessLogger: Logger?,
        topicAuthorizers: [String: any TopicAuthorizer] = [:]
    ) {
        var routes: [String: Route] = [:]
        for route in configuration.routes {
            let session = SessionSettings(
                maximumPacketSize: route.maxPacketSize,
                connectPacketTimeout: TimeAmount(configuration.timeouts.connectPacket),
                upstreamReadyTimeout: TimeAmount(configuration.upstream.connectTimeout),
                upstreamLingerTimeout: TimeAmount(configuration.timeouts.upstreamLinger),
                topicAuthorizer: topicAuthorizers[route.name]
            )
            let codec = WebSocketMessageCodec.Configuration(
                maximumFrameSize: route.maxFrameSize,
                closeTimeout: TimeAmount(configuration.timeouts.closeHandshake),
                pingInterval: route.pingInterval > .zero ? TimeAmount(route.pingInterval) : nil,
                pingTimeout: TimeAmount(route.pingTimeout)
            )
            routes[route.path] = Route(
                configuration: route, session: session, codec: codec,
                origins: OriginPolicy(allowedOrigins: route.allowedOrigins, allowMissing: route.allowMissingOrigin),
                compression: route.compression.enabled
                    ? PerMessageDeflate.Settings(
                        serverMaxWindowBits: route.compression.serverMaxWindowBits, clientMaxWindowBits: route.compression.clientMaxWindowBits,
                        serverNoContextTakeover: route.compression.serverNoContextTakeover,
                        clientNoContextTakeover: route.compression.clientNoContextTakeover,
                        compressionLevel: route.compression.level, memoryLevel: route.compression.memoryLevel,
                        threshold: route.compression.threshold)
                    : nil)
        }
        self.sendsProxyProtocol = configuration.upstream.proxyProtocol

        self.admission = ClientAdmission(
            maxSessions: configuration.limits.maxSessionsPerIP, rate: configuration.limits.connectionRatePerIP,
            burst: configuration.limits.connectionBurstPerIP)
        self.routesByPath = routes
        self.handshakeTimeout = TimeAmount(configuration.timeouts.handshake)
        self.maxRequestHeadSize = configuration.limits.maxRequestHeadSize
        self.upstream = upstream
        self.metrics = metrics
        self.logger = logger
        self.accessLogger = accessLogger
        // Read once here, at start-up and off the event loops (see StaticFileSet).
        self.staticFiles = configuration.staticFiles.enabled ? StaticFileResponder(configuration: configuration.staticFiles, logger: logger) : nil
    }

    /// Adds the HTTP handshake handlers to a freshly accepted connection (after TLS, if any).
    /// Must run on the channel's event loop.
    public func configureHandshake(
        on pipeline: ChannelPipeline.SynchronousOperations, listener: ListenerSettings, proxy: ProxyProtocolOutcome? = nil
    ) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = self.maxRequestHeadSize
        limits.maxHeaderListSize = self.maxRequestHeadSize
        let limiter = RequestHeadLimiter(limit: self.maxRequestHeadSize)
        let decoder = ByteToMessageHandler(
            HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)
        )
        try pipeline.addHandler(limiter)
        try pipeline.addHandler(decoder)
        try pipeline.addHandler(WebSocketUpgradeHandler(frontEnd: self, listener: listener, proxy: proxy, limiter: limiter, decoder: decoder))
    }
}
