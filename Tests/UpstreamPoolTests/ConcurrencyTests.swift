import Testing

@testable import UpstreamPool

@Suite("Views on several threads while health changes")
struct ConcurrencyTests {
    @Test("choices on four threads while a fifth flips a server's health; session counts add up; then every view avoids it")
    func viewsOnSeveralThreads() async throws {
        let pool = try makePool(brokerAddresses(5), backoff: .init(initial: .seconds(60), maximum: .seconds(60)))
        let down = pool.servers[2]
        let opened = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    // A view per task, as per event loop: made and used on its own.
                    let view = pool.makeView()
                    var open: [PooledServer] = []
                    for round in 0..<5_000 {
                        var plan = view.plan(clientID: "worker-\(worker)-\(round)")
                        guard let server = plan.next() else { continue }
                        view.sessionOpened(on: server)
                        open.append(server)
                        if round % 2 == 0, let closing = open.popLast() { view.sessionClosed(on: closing) }
                    }
                    return open.count
                }
            }
            group.addTask {
                for round in 0..<500 {
                    pool.recordProbe(down, round % 2 == 0 ? .down(reason: "flapping") : .up(latency: .milliseconds(1)))
                    await Task.yield()
                }
                return 0
            }
            return await group.reduce(0, +)
        }
        // After the workers: a session opened on server 2 (a successful dial) would bring it back up.
        pool.recordProbe(down, .down(reason: "down for good"))
        let status = pool.status()
        #expect(status.servers.map(\.openSessions).reduce(0, +) == opened)
        #expect(status.servers[2].health == .down(reason: "down for good", since: try #require(status.servers[2].downSince), retryAt: nil))
        // Every view now avoids the down server.
        let view = pool.makeView()
        #expect(!(0..<1_000).contains { view.firstChoice("after-\($0)")?.index == 2 })
    }
}
