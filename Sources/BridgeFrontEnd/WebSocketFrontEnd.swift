import BridgeRelay
import ClientAddress
import Logging
import NIOCore
import NIOHTTP1
import SessionRegistry
import WebSocketTransport

/// Everything the HTTP/WebSocket front end needs, built once at start-up and shared by all connections.
package final class WebSocketFrontEnd: Sendable {
    let routes: RouteTable
    let handshakeTimeout: TimeAmount
    let maxRequestHeadSize: Int
    /// How sessions reach the broker: the relay dials, the front end only hands it to each session.
    let upstream: Upstream
    let metrics: BridgeMetrics
    let logger: Logger
    let accessLogger: Logger?
    /// The open sessions, for the admin API; nil: sessions do not register.
    let sessions: SessionRegistry?
    /// Per-client-address session and rate limits.
    package let admission: ClientAdmission
    /// `upstream.proxy_protocol`: each broker connection starts with a PROXY v2 header naming the client.
    let sendsProxyProtocol: Bool
    /// `static_files`: answers plain GET/HEAD requests for paths that are not routes; `nil` when switched off.
    let staticFiles: StaticFileResponder?

    package init(
        settings: FrontEndSettings,
        upstream: Upstream,
        metrics: BridgeMetrics,
        logger: Logger,
        accessLogger: Logger?,
        topicAuthorizers: [String: any TopicAuthorizer] = [:],
        sessions: SessionRegistry? = nil,
        routeAuth: [String: RouteEdgeAuth] = [:]
    ) {
        self.sessions = sessions
        self.sendsProxyProtocol = settings.sendsProxyProtocol

        self.admission = ClientAdmission(
            maxSessions: settings.maxSessionsPerAddress, rate: settings.connectionRatePerAddress,
            burst: settings.connectionBurstPerAddress)
        self.routes = RouteTable(settings: settings, topicAuthorizers: topicAuthorizers, routeAuth: routeAuth)
        self.handshakeTimeout = TimeAmount(settings.handshakeTimeout)
        self.maxRequestHeadSize = settings.maxRequestHeadSize
        self.upstream = upstream
        self.metrics = metrics
        self.logger = logger
        self.accessLogger = accessLogger
        // Read once here, at start-up and off the event loops (see StaticFileSet).
        self.staticFiles = settings.staticFiles.map { StaticFileResponder(settings: $0, logger: logger) }
    }

    /// Adds the HTTP handshake handlers to a freshly accepted connection (after TLS, if any).
    /// Must run on the channel's event loop.
    package func configureHandshake(
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
        try pipeline.addHandler(
            WebSocketUpgradeHandler(frontEnd: self, listener: listener, proxy: proxy, limiter: limiter, decoder: decoder))
    }
}
