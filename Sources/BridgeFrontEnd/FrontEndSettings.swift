import WebSocketTransport

/// What the WebSocket front end needs, as plain values. BridgeServer's assembly maps the configuration file's
/// `routes`, `timeouts`, `limits`, `static_files` and the relevant `upstream` keys onto it, so this module never sees
/// the file's schema (a change to it does not recompile the front end or the relay).
public struct FrontEndSettings: Sendable, Equatable {
    /// The WebSocket paths; the upgrade decision looks requests up by path.
    public var routes: [RouteSettings]
    /// From accepting a connection to the 101 (TLS and the HTTP request head included).
    public var handshakeTimeout: Duration
    /// From the 101 to the client's CONNECT.
    public var connectPacketTimeout: Duration
    /// How long dialling the broker may take before the client gets CONNACK "server unavailable".
    public var upstreamConnectTimeout: Duration
    /// How long the broker connection may stay open after the client left, for the broker to take a DISCONNECT.
    public var upstreamLingerTimeout: Duration
    /// How long the WebSocket close handshake may take before the connection is closed anyway.
    public var closeHandshakeTimeout: Duration
    /// How long a busy session's writes may wait for more before they are flushed; zero: flush every read burst.
    public var coalesceWindow: Duration
    /// The largest HTTP request head (request line and headers) accepted.
    public var maxRequestHeadSize: Int
    /// Per client address: open sessions, new sessions per second and the burst above that rate.
    public var maxSessionsPerAddress: Int
    public var connectionRatePerAddress: Double
    public var connectionBurstPerAddress: Int
    /// Each broker connection starts with a PROXY v2 header naming the client.
    public var sendsProxyProtocol: Bool
    /// The files answered for plain GET/HEAD requests to paths that are not routes; nil: none (404).
    public var staticFiles: StaticFileSettings?

    public init(
        routes: [RouteSettings], handshakeTimeout: Duration, connectPacketTimeout: Duration, upstreamConnectTimeout: Duration,
        upstreamLingerTimeout: Duration, closeHandshakeTimeout: Duration, coalesceWindow: Duration, maxRequestHeadSize: Int,
        maxSessionsPerAddress: Int, connectionRatePerAddress: Double, connectionBurstPerAddress: Int, sendsProxyProtocol: Bool,
        staticFiles: StaticFileSettings?
    ) {
        self.routes = routes
        self.handshakeTimeout = handshakeTimeout
        self.connectPacketTimeout = connectPacketTimeout
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
    public enum SubprotocolPolicy: Sendable, Equatable {
        /// WeChat mini-programs: no offer → no header in the 101; an offer → a supported value echoed, or 400.
        case miniprogram
        /// Browsers: the first supported value offered is echoed; no offer → 400 unless not `requireSubprotocol`.
        case passthrough
    }

    /// In logs, metrics and refusals.
    public var name: String
    public var path: String
    public var policy: SubprotocolPolicy
    /// The subprotocols the route supports.
    public var subprotocols: [String]
    /// `passthrough` only: refuse a client that offers no subprotocol.
    public var requireSubprotocol: Bool
    /// The largest MQTT packet relayed in either direction.
    public var maxPacketSize: Int
    /// The largest WebSocket frame (and message) accepted from the client.
    public var maxFrameSize: Int
    /// Origins allowed (exact, or `*.` wildcard); nil: any.
    public var allowedOrigins: [String]?
    /// Whether a request without `Origin` passes an allow list.
    public var allowMissingOrigin: Bool
    /// Time between pings to an idle client; zero: none.
    public var pingInterval: Duration
    /// How long a ping may wait for its pong.
    public var pingTimeout: Duration
    /// permessage-deflate as offered on this route; nil: compression off.
    public var compression: PerMessageDeflate.Settings?

    public init(
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
public struct StaticFileSettings: Sendable, Equatable {
    /// Read once at start-up.
    public var directory: String
    /// The most bytes all files together may have (they are held in memory).
    public var maxSize: Int
    /// The whole answer must be sent within this.
    public var sendTimeout: Duration
    /// Answers being sent at once per client address (429 beyond).
    public var maxRequestsPerAddress: Int

    public init(directory: String, maxSize: Int, sendTimeout: Duration, maxRequestsPerAddress: Int) {
        self.directory = directory
        self.maxSize = maxSize
        self.sendTimeout = sendTimeout
        self.maxRequestsPerAddress = maxRequestsPerAddress
    }
}
