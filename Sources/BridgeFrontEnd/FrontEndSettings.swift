import WebSocketTransport

/// What the WebSocket front end needs, as plain values. BridgeServer's assembly maps the configuration file's
/// `routes`, `timeouts`, `limits`, `static_files` and the relevant `upstream` keys onto it, so this module never sees
/// the file's schema (a change to it does not recompile the front end or the relay).
public struct FrontEndSettings: Sendable, Equatable {
    /// The WebSocket paths; the upgrade decision looks requests up by path.
    package var routes: [RouteSettings]
    /// From accepting a connection to the 101 (TLS and the HTTP request head included).
    package var handshakeTimeout: Duration
    /// From the 101 to the client's CONNECT.
    package var connectPacketTimeout: Duration
    /// From a client packet's first byte until it is complete; zero: no deadline.
    package var packetTimeout: Duration
    /// How long dialling the broker may take before the client gets CONNACK "server unavailable".
    package var upstreamConnectTimeout: Duration
    /// How long the broker connection may stay open after the client left, for the broker to take a DISCONNECT.
    package var upstreamLingerTimeout: Duration
    /// How long the WebSocket close handshake may take before the connection is closed anyway.
    package var closeHandshakeTimeout: Duration
    /// How long a busy session's writes may wait for more before they are flushed; zero: flush every read burst.
    package var coalesceWindow: Duration
    /// The largest HTTP request head (request line and headers) accepted.
    package var maxRequestHeadSize: Int
    /// Per client address: open sessions, new sessions per second and the burst above that rate.
    package var maxSessionsPerAddress: Int
    package var connectionRatePerAddress: Double
    package var connectionBurstPerAddress: Int
    /// Each broker connection starts with a PROXY v2 header naming the client.
    package var sendsProxyProtocol: Bool
    /// The files answered for plain GET/HEAD requests to paths that are not routes; nil: none (404).
    package var staticFiles: StaticFileSettings?

    package init(
        routes: [RouteSettings], handshakeTimeout: Duration, connectPacketTimeout: Duration, packetTimeout: Duration,
        upstreamConnectTimeout: Duration, upstreamLingerTimeout: Duration, closeHandshakeTimeout: Duration, coalesceWindow: Duration,
        maxRequestHeadSize: Int, maxSessionsPerAddress: Int, connectionRatePerAddress: Double, connectionBurstPerAddress: Int,
        sendsProxyProtocol: Bool, staticFiles: StaticFileSettings?
    ) {
        self.routes = routes
        self.handshakeTimeout = handshakeTimeout
        self.connectPacketTimeout = connectPacketTimeout
        self.packetTimeout = packetTimeout
        self.upstreamConnectTimeout = upstreamConnectTimeout
        self.upstreamLingerTimeout = upstreamLingerTimeout
        self.closeHandshakeTimeout = closeHandshakeTimeout
        self.coalesceWindow = coalesceWindow
        self.maxRequestHeadSize = maxRequestHeadSize
        self.maxSessionsPerAddress = maxSessionsPerAddress
        self.connectionRatePerAddress = connectionRatePerAddress
        self.connectionBurstPerAddress = connectionBurstPerAddress
        self.sendsProxyProtocol = sendsProxyProtocol
        self.staticFiles = staticFiles
    }
}

/// One WebSocket path: how it answers `Sec-WebSocket-Protocol` and `Origin`, and its sessions' limits.
public struct RouteSettings: Sendable, Equatable {
    /// How a route answers `Sec-WebSocket-Protocol` (`negotiateSubprotocol(offered:)`).
    package enum SubprotocolPolicy: Sendable, Equatable {
        /// WeChat mini-programs: no offer → no header in the 101; an offer → a supported value echoed, or 400.
        case miniprogram
        /// Browsers: the first supported value offered is echoed; no offer → 400 unless not `requireSubprotocol`.
        case passthrough
    }

    /// In logs, metrics and refusals.
    package var name: String
    public var path: String
    package var policy: SubprotocolPolicy
    /// The subprotocols the route supports.
    package var subprotocols: [String]
    /// `passthrough` only: refuse a client that offers no subprotocol.
    package var requireSubprotocol: Bool
    /// The largest MQTT packet relayed in either direction.
    package var maxPacketSize: Int
    /// The largest WebSocket frame (and message) accepted from the client.
    package var maxFrameSize: Int
    /// Origins allowed (exact, or `*.` wildcard); nil: any.
    package var allowedOrigins: [String]?
    /// Whether a request without `Origin` passes an allow list.
    package var allowMissingOrigin: Bool
    /// Time between pings to an idle client; zero: none.
    package var pingInterval: Duration
    /// How long a ping may wait for its pong.
    package var pingTimeout: Duration
    /// permessage-deflate as offered on this route; nil: compression off.
    package var compression: PerMessageDeflate.Settings?

    package init(
        name: String, path: String, policy: SubprotocolPolicy, subprotocols: [String], requireSubprotocol: Bool, maxPacketSize: Int,
        maxFrameSize: Int, allowedOrigins: [String]?, allowMissingOrigin: Bool, pingInterval: Duration, pingTimeout: Duration,
        compression: PerMessageDeflate.Settings?
    ) {
        self.name = name
        self.path = path
        self.policy = policy
        self.subprotocols = subprotocols
        self.requireSubprotocol = requireSubprotocol
        self.maxPacketSize = maxPacketSize
        self.maxFrameSize = maxFrameSize
        self.allowedOrigins = allowedOrigins
        self.allowMissingOrigin = allowMissingOrigin
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.compression = compression
    }
}

/// The dashboard's files (`StaticFileResponder`).
package struct StaticFileSettings: Sendable, Equatable {
    /// Read once at start-up.
    package var directory: String
    /// The most bytes all files together may have (they are held in memory).
    package var maxSize: Int
    /// The whole answer must be sent within this.
    package var sendTimeout: Duration
    /// Answers being sent at once per client address (429 beyond).
    package var maxRequestsPerAddress: Int

    package init(directory: String, maxSize: Int, sendTimeout: Duration, maxRequestsPerAddress: Int) {
        self.directory = directory
        self.maxSize = maxSize
        self.sendTimeout = sendTimeout
        self.maxRequestsPerAddress = maxRequestsPerAddress
    }
}
