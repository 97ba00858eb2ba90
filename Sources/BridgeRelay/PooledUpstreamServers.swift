import NIOConcurrencyHelpers
import NIOCore
import UpstreamPool

/// `upstream.servers`: sessions spread over several brokers by an `UpstreamPool` (balancing, passive and active
/// health, per-server session counts).
///
/// Each event loop has its own `UpstreamPoolView`, made at start-up for every loop of the server's group, so a new
/// session's choice takes no lock and writes no memory another loop reads (see `UpstreamPool`).
///
/// What a session knows decides the rule:
/// - `tcp`: the broker is dialled after the CONNECT, so `client_id` balancing is sticky by the CONNECT's client id; an
///   empty client id (the broker assigns one) goes by `least_sessions`.
/// - `ws`: the broker is dialled before the 101, when no MQTT byte has arrived: there is no client id to be sticky
///   to, and `client_id` balancing goes by `least_sessions` too (documented in docs/scale-out.md).
///
/// A failed dial marks the server down at once for every loop (with a backoff before it is tried again) and the
/// session moves on to its next server in the rule's order, each server at most once, all within
/// `upstream.connect_timeout`.
public struct PooledUpstreamServers: UpstreamServerSelector {
    package let pool: UpstreamPool
    /// In the order of the pool's servers (`PooledServer.index`).
    public let servers: [UpstreamServer]
    private let views: LoopViews

    /// - Parameter eventLoops: the loops sessions run on (the server's group); each gets its view now.
    public init(pool: UpstreamPool, eventLoops: some Sequence<any EventLoop>) {
        self.pool = pool
        self.servers = pool.servers.map { UpstreamServer(host: $0.host, port: $0.port) }
        self.views = LoopViews(pool: pool, eventLoops: eventLoops)
    }

    public func dialPlan(for request: UpstreamDialRequest, on eventLoop: any EventLoop) -> any UpstreamServerPlan {
        let view = self.views.view(for: eventLoop)
        return PooledServerPlan(plan: view.plan(clientID: request.clientID ?? ""), view: view, servers: self.servers)
    }
}

/// One session's plan from its loop's view; remembers the pool's entry for the server it handed out last and for the
/// server that took the session.
final class PooledServerPlan: UpstreamServerPlan {
    private var plan: UpstreamDialPlan
    private let view: UpstreamPoolView
    private let servers: [UpstreamServer]
    private var dialling: PooledServer?
    private var opened: PooledServer?

    init(plan: UpstreamDialPlan, view: UpstreamPoolView, servers: [UpstreamServer]) {
        self.plan = plan
        self.view = view
        self.servers = servers
    }

    func next() -> UpstreamServer? {
        guard let pooled = self.plan.next() else { return nil }
        self.dialling = pooled
        return self.servers[pooled.index]
    }

    func dialFailed(_ server: UpstreamServer, reason: String) {
        guard let pooled = self.dialling, self.servers[pooled.index] == server else { return }
        self.dialling = nil
        self.view.dialFailed(pooled, reason: reason)
    }

    func sessionOpened(on server: UpstreamServer) {
        guard let pooled = self.dialling, self.servers[pooled.index] == server, self.opened == nil else { return }
        self.opened = pooled
        self.view.sessionOpened(on: pooled)
    }

    func sessionClosed() {
        guard let pooled = self.opened else { return }
        self.opened = nil
        self.view.sessionClosed(on: pooled)
    }
}

/// The views, one per event loop. The table of the loops known at start-up is never changed, so reading it needs no
/// lock; each view is used only on its own loop (which is what makes the unchecked `Sendable` sound). A loop that was
/// not known (tests that run sessions on an `EmbeddedEventLoop`) gets its view on first use, under a lock.
private final class LoopViews: @unchecked Sendable {
    private let pool: UpstreamPool
    private let known: [ObjectIdentifier: UpstreamPoolView]
    private let late = NIOLockedValueBox<[ObjectIdentifier: UpstreamPoolView]>([:])

    init(pool: UpstreamPool, eventLoops: some Sequence<any EventLoop>) {
        self.pool = pool
        var views: [ObjectIdentifier: UpstreamPoolView] = [:]
        for loop in eventLoops {
            views[ObjectIdentifier(loop)] = pool.makeView()
        }
        self.known = views
    }

    func view(for eventLoop: any EventLoop) -> UpstreamPoolView {
        eventLoop.assertInEventLoop()
        if let view = self.known[ObjectIdentifier(eventLoop)] { return view }
        return self.late.withLockedValue { views in
            if let view = views[ObjectIdentifier(eventLoop)] { return view }
            let view = self.pool.makeView()
            views[ObjectIdentifier(eventLoop)] = view
            return view
        }
    }
}
