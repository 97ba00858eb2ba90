import BridgeRelay
import EdgeAuth
import NIOCore
import WebSocketTransport

/// The routes of the WebSocket listeners by path, each with the per-session settings derived from its `RouteSettings`.
/// Built once at start-up; the upgrade decision (`UpgradeDecision`) looks requests up in it.
public struct RouteTable: Sendable {
    /// A route with what its sessions need.
    public struct Route: Sendable {
        public var settings: RouteSettings
        package var session: SessionSettings
        package var codec: WebSocketMessageCodec.Configuration
        /// nil when the route accepts any origin.
        var origins: OriginPolicy?
        /// nil when compression is off on the route.
        var compression: PerMessageDeflate.Settings?
        /// Edge authentication (`routes.<name>.auth`); nil on a route without it.
        package var auth: RouteEdgeAuth? = nil
    }

    private let routesByPath: [String: Route]

    /// - Parameter topicAuthorizers: the topic policies by route name (routes without one are not in it).
    /// - Parameter routeAuth: edge authentication by route name (routes without `auth` are not in it).
    public init(
        settings: FrontEndSettings, topicAuthorizers: [String: any TopicAuthorizer] = [:], routeAuth: [String: RouteEdgeAuth] = [:]
    ) {
        var routes: [String: Route] = [:]
        for route in settings.routes {
            let session = SessionSettings(
                maximumPacketSize: route.maxPacketSize,
                connectPacketTimeout: TimeAmount(settings.connectPacketTimeout),
                packetTimeout: TimeAmount(settings.packetTimeout),
                upstreamReadyTimeout: TimeAmount(settings.upstreamConnectTimeout),
                upstreamLingerTimeout: TimeAmount(settings.upstreamLingerTimeout),
                topicAuthorizer: topicAuthorizers[route.name],
                coalesceWindow: TimeAmount(settings.coalesceWindow)
            )
            let codec = WebSocketMessageCodec.Configuration(
                maximumFrameSize: route.maxFrameSize,
                closeTimeout: TimeAmount(settings.closeHandshakeTimeout),
                pingInterval: route.pingInterval > .zero ? TimeAmount(route.pingInterval) : nil,
                pingTimeout: TimeAmount(route.pingTimeout)
            )
            routes[route.path] = Route(
                settings: route, session: session, codec: codec,
                origins: OriginPolicy(allowedOrigins: route.allowedOrigins, allowMissing: route.allowMissingOrigin),
                compression: route.compression,
                auth: routeAuth[route.name])
        }
        self.routesByPath = routes
    }

    /// The route at exactly this path (no query, no fragment), if any.
    package subscript(path: String) -> Route? {
        self.routesByPath[path]
    }
}
