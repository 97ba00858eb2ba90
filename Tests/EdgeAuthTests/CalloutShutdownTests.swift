import BridgeTestSupport
import NIOCore
import NIOPosix
import Testing

@testable import EdgeAuth

/// The callout's HTTP client shut down right after answers that came over a pooled connection.
///
/// async-http-client (1.37.0) reports a connection released to its pool from the promise of the request-end write,
/// made on the request's event loop. When the request ran on another loop than its (reused) connection, that release
/// reached the pool two loop hops after the answer; a shutdown in between removed the connection first, and the late
/// release ended the process in the pool's `preconditionFailure("A connection that we don't know was released? …")`
/// (seen under AddressSanitizer in "Answers are cached for cache_ttl"). `AuthCallout` keeps its client on one loop.
@Suite("Auth callout shutdown", .timeLimit(.minutes(2)))
struct CalloutShutdownTests {
    @Test("Shutdown right after answers asked from two event loops: no crash, answers on the caller's loop")
    func shutdownRightAfterAnswersFromTwoLoops() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        try await CalloutBackend.with(respond: { _ in .init(body: #"{"allow": true}"#) }) { backend in
            for round in 0..<100 {
                let authenticator = try await EdgeAuthenticator(
                    jwt: nil, callout: AuthCalloutSettings(url: backend.url, timeout: .seconds(5)),
                    routes: [RouteAuthSettings(route: "mp", sources: [.query])], eventLoopGroup: group, logger: Quiet.logger)
                // Distinct tokens (no cache hits), alternating loops: a connection made for one loop's request is
                // reused for the other loop's.
                for (index, loop) in (loops + loops).enumerated() {
                    let request = UpgradeRequest(method: "GET", uri: "/wss?token=t-\(round)-\(index)", headers: [])
                    let answeredOnCallersLoop = try await authenticator.authenticateUpgrade(
                        route: "mp", request: request, clientAddress: "198.51.100.9", on: loop
                    ).map { outcome -> Bool in
                        guard case .authenticated = outcome else { return false }
                        return loop.inEventLoop
                    }.get()
                    #expect(answeredOnCallersLoop, "round \(round), request \(index)")
                }
                try await authenticator.shutdown()
            }
        }
        try await group.shutdownGracefully()
    }
}
