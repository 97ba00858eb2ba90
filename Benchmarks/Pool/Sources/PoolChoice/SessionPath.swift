import BridgeRelay
import NIOCore
import NIOEmbedded
import UpstreamPool

/// A new session's whole use of the pool, as `ClientSessionHandler` and `UpstreamDial` make it: its loop's plan
/// (`dialPlan`: the view lookup and the plan object), the first server (`next`), the session count when the broker
/// answered (`sessionOpened`) and when the session ends (`sessionClosed`). `client_id` balancing, equal weights.
struct SessionPath {
    let selector: PooledUpstreamServers
    /// The loop sessions run on, known to the selector from the start (as the server's group is).
    let loop: EmbeddedEventLoop

    init(servers: Int) throws {
        let loop = EmbeddedEventLoop()
        self.loop = loop
        self.selector = PooledUpstreamServers(pool: try makePool(rule: "client_id", servers: servers), eventLoops: [loop as any EventLoop])
    }

    /// The loop measured (callgrind collects `*choose*`).
    @inline(never)
    func chooseForSessions(iterations: Int) -> Int {
        var checksum = 0
        for iteration in 0..<iterations {
            let plan = self.selector.dialPlan(for: UpstreamDialRequest(clientID: clientIDs[iteration & 4095]), on: self.loop)
            guard let server = plan.next() else { continue }
            plan.sessionOpened(on: server)
            plan.sessionClosed()
            checksum &+= server.port
        }
        return checksum
    }
}
