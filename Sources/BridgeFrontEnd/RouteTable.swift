import BridgeConfig
import BridgeRelay
import EdgeAuth
import NIOCore
import WebSocketTransport

/// The routes of the WebSocket listeners by path, each with the per-session settings derived from the configuration.
/// Built once at start-up; the upgrade decision (`UpgradeDecision`) looks requests up in it.
public struct RouteTable: Sendable {
    /// A route with what its sessions need.
    public struct Route: Sendable {
        public var configuration: RouteConfiguration
        public var session: SessionSettings
        public var codec: WebSocketMessageCodec.Configuration
        /// nil when the route accepts any origin.
        var origins: OriginPolicy?
        /// nil when compression is off on the route.
        var compression: PerMessageDeflate.Settings?
        /// Edge authentication (`routes.<name>.auth`); nil on a route without it.
        public var auth: RouteEdgeAuth? = nil
    }

    private let routesByPath: [String: Route]

    /// - Parameter topicAuthorizers: the topic policies by route name (routes without one are not in it).
    /// - Parameter routeAuth: edge authentication by route name (routes without `auth` are not in it).
    public init(
        configuration: BridgeConfiguration, topicAuthorizers: [String: any TopicAuthorizer] = [:], routeAuth: [String: RouteEdgeAuth] = [:]
    ) {
        var routes: [String: Route] = [:]
        for route in configuration.routes {
            let session = SessionSettings(
                maximumPacketSize: route.maxPacketSize,
                connectPacketTimeout: TimeAmount(configuration.timeouts.connectPacket),
                upstreamReadyTimeout: TimeAmount(configuration.upstream.connectTimeout),
                upstreamLingerTimeout: TimeAmount(configuration.timeouts.upstreamLinger),
                topicAuthorizer: topicAuthorizers[route.name],
                coalesceWindow: TimeAmount(configuration.upstream.coalesceWindow)
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
                        serverMaxWindowBits: route.compression.serverMaxWindowBits,
                        clientMaxWindowBits: route.compression.clientMaxWindowBits,
                        serverNoContextTakeover: route.compression.serverNoContextTakeover,
                        clientNoContextTakeover: route.compression.clientNoContextTakeover,
                        compressionLevel: route.compression.level, memoryLevel: route.compression.memoryLevel,
                        threshold: route.compression.threshold)
                    : nil,
                auth: routeAuth[route.name])
        }
        self.routesByPath = routes
    }

    /// The route at exactly this path (no query, no fragment), if any.
    public subscript(path: String) -> Route? {
        self.routesByPath[path]
    }
}
