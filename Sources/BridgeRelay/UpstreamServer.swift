import BridgeConfig

/// One broker address.
public struct UpstreamServer: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `broker.example:1883`, `[2001:db8::1]:1883`: what the access log's `broker` field shows.
    public var description: String { hostAndPort(self.host, self.port) }
}

/// What a session knows about itself when it dials: everything a choice of broker may depend on.
///
/// The `tcp` kind dials after the client's CONNECT, so `clientID` is the CONNECT's client identifier (empty when the
/// client lets the broker assign one). The `ws` kind dials before the 101, when nothing of MQTT is known yet:
/// `clientID` is nil.
public struct UpstreamDialRequest: Hashable, Sendable {
    public var clientID: String?

    public init(clientID: String?) {
        self.clientID = clientID
    }
}

/// Which broker a new session goes to: the one place where that is decided, asked once per dial by `UpstreamDial`.
///
/// This is the seam for a pool of servers (sticky by client id, health-checked): the dial tries the servers in the
/// returned order, moves on to the next when one fails, all within `upstream.connect_timeout`, and tells the
/// selector about each failure. Sessions that are open stay where they are. Called on the session's event loop: it
/// must not block, and should be cheap (it runs once per new session).
public protocol UpstreamServerSelector: Sendable {
    /// Every server, for logs and readiness.
    var servers: [UpstreamServer] { get }

    /// The servers to try for this session, best first. Empty means none is available: the session is refused as if
    /// the broker were unreachable.
    func servers(for request: UpstreamDialRequest) -> [UpstreamServer]

    /// A dial to `server` failed (refused, timed out, TLS or WebSocket handshake failed): the passive health signal.
    func dialFailed(_ server: UpstreamServer, reason: String)
}

extension UpstreamServerSelector {
    public func dialFailed(_ server: UpstreamServer, reason: String) {}
}

/// `upstream.host` and `upstream.port`: every session goes to the same broker.
public struct SingleUpstreamServer: UpstreamServerSelector {
    public let server: UpstreamServer

    public init(_ server: UpstreamServer) {
        self.server = server
    }

    public var servers: [UpstreamServer] { [self.server] }

    public func servers(for request: UpstreamDialRequest) -> [UpstreamServer] { [self.server] }
}
