import NIOCore
import SettingsSupport

/// One broker address.
public struct UpstreamServer: Hashable, Sendable, CustomStringConvertible {
    package var host: String
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
    package var clientID: String?

    public init(clientID: String?) {
        self.clientID = clientID
    }
}

/// Which broker a new session goes to: the one place where that is decided, asked once per dial by `UpstreamDial`.
///
/// The dial takes the servers one at a time from the session's `UpstreamServerPlan`, moves on to the next when one
/// fails, all within `upstream.connect_timeout`, and tells the plan about each failure and about the session it
/// opened. Sessions that are open stay where they are. `dialPlan` is called on the session's event loop: it must not
/// block, and should be cheap (it runs once per new session).
public protocol UpstreamServerSelector: Sendable {
    /// Every server, for logs and readiness.
    var servers: [UpstreamServer] { get }

    /// The servers to try for a new session that knows `request`, on its event loop `eventLoop`.
    func dialPlan(for request: UpstreamDialRequest, on eventLoop: any EventLoop) -> any UpstreamServerPlan
}

/// One new session's way through the servers, best first. Bound to the session's event loop and owned by it: first by
/// its dial, then (once a server took the session) by its upstream link until the session ends.
public protocol UpstreamServerPlan: AnyObject {
    /// The next server to dial, or nil when none is left to try: the session is refused as if the broker were
    /// unreachable.
    func next() -> UpstreamServer?

    /// A dial to `server` (the last one `next()` returned) failed: refused, timed out, TLS or WebSocket handshake
    /// failed. The passive health signal.
    func dialFailed(_ server: UpstreamServer, reason: String)

    /// The dial to `server` succeeded and the session relays through it, until `sessionClosed()`.
    func sessionOpened(on server: UpstreamServer)

    /// The session opened by `sessionOpened(on:)` ended. Called at most once.
    func sessionClosed()
}

/// A fixed list of servers, tried in order; failures go to `onFailure`.
package final class ListedServerPlan: UpstreamServerPlan {
    private var remaining: ArraySlice<UpstreamServer>
    private let onFailure: ((UpstreamServer, String) -> Void)?

    package init(_ servers: [UpstreamServer], onFailure: ((UpstreamServer, String) -> Void)? = nil) {
        self.remaining = servers[...]
        self.onFailure = onFailure
    }

    package func next() -> UpstreamServer? { self.remaining.popFirst() }
    package func dialFailed(_ server: UpstreamServer, reason: String) { self.onFailure?(server, reason) }
    package func sessionOpened(on server: UpstreamServer) {}
    package func sessionClosed() {}
}

/// `upstream.host` and `upstream.port`: every session goes to the same broker.
package struct SingleUpstreamServer: UpstreamServerSelector {
    package let server: UpstreamServer
    /// Built once: every session's plan, which lives as long as the session, shares it (a fresh one-element array per
    /// dial was 64 bytes of every idle session).
    package let servers: [UpstreamServer]

    package init(_ server: UpstreamServer) {
        self.server = server
        self.servers = [server]
    }

    package func dialPlan(for request: UpstreamDialRequest, on eventLoop: any EventLoop) -> any UpstreamServerPlan {
        ListedServerPlan(self.servers)
    }
}
