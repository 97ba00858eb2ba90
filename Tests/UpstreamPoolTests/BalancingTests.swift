import Testing

@testable import UpstreamPool

@Suite("least_sessions, round_robin, and empty client ids")
struct BalancingTests {
    @Test("least_sessions fills the server with the fewest open sessions per unit of weight")
    func leastSessions() throws {
        let pool = try makePool(brokerAddresses(3), weights: [1, 1, 2], balance: .leastSessions)
        let view = pool.makeView()
        var open: [PooledServer] = []
        for _ in 0..<8 {
            let server = try #require(view.firstChoice("ignored"))
            view.sessionOpened(on: server)
            open.append(server)
        }
        // 8 sessions over weights 1:1:2 → 2, 2, 4.
        #expect(pool.servers.map { view.openSessions(on: $0) } == [2, 2, 4])

        // Closing sessions on broker-0 makes it the least loaded: the next two go there.
        for server in open where server.index == 0 { view.sessionClosed(on: server) }
        #expect(view.firstChoice("a")?.index == 0)
        view.sessionOpened(on: pool.servers[0])
        #expect(view.firstChoice("b")?.index == 0)
    }

    @Test("an empty client id goes by least_sessions even with client_id balancing")
    func emptyClientIDGoesByLeastSessions() throws {
        let pool = try makePool(brokerAddresses(3))
        let view = pool.makeView()
        // Load two servers through sticky ids first.
        let busy = try #require(view.firstChoice("sticky-1"))
        view.sessionOpened(on: busy)
        view.sessionOpened(on: busy)
        for _ in 0..<6 {
            let server = try #require(view.firstChoice(""))
            view.sessionOpened(on: server)
        }
        // 8 sessions, 3 servers: least_sessions evens them out as far as the two sticky ones allow.
        let counts = pool.servers.map { view.openSessions(on: $0) }
        #expect(counts.sorted() == [2, 3, 3], "\(counts)")
        #expect(view.openSessions(on: busy) <= 3)
    }

    @Test("round_robin takes turns in proportion to weight, interleaved")
    func roundRobin() throws {
        let pool = try makePool(brokerAddresses(3), weights: [1, 1, 3], balance: .roundRobin)
        let view = pool.makeView()
        let picks = (0..<10).map { _ in view.firstChoice("x")!.index }
        #expect(picks.filter { $0 == 2 }.count == 6)
        #expect(picks.filter { $0 == 0 }.count == 2)
        #expect(picks.filter { $0 == 1 }.count == 2)
        // Smooth: the heavy server never gets more than two turns in a row.
        #expect(!picks.indices.dropLast(2).contains { picks[$0] == 2 && picks[$0 + 1] == 2 && picks[$0 + 2] == 2 }, "\(picks)")
    }

    @Test("round_robin skips a down server and gives its turns to the others")
    func roundRobinSkipsDownServers() throws {
        let pool = try makePool(brokerAddresses(3), balance: .roundRobin)
        let view = pool.makeView()
        pool.recordProbe(pool.servers[1], .down(reason: "refused"))
        let picks = (0..<6).map { _ in view.firstChoice("x")!.index }
        #expect(picks.sorted() == [0, 0, 0, 2, 2, 2])
    }

    @Test("views of different loops start their turns at different servers")
    func viewsStartApart() throws {
        let pool = try makePool(brokerAddresses(3), balance: .roundRobin)
        let firsts = (0..<3).map { _ in pool.makeView().firstChoice("x")!.index }
        #expect(Set(firsts).count == 3)
    }

    @Test("a plan tries every server once, whatever the rule", arguments: UpstreamBalance.allCases)
    func planCoversEveryServer(balance: UpstreamBalance) throws {
        let pool = try makePool(brokerAddresses(6), balance: balance)
        let view = pool.makeView()
        var plan = view.plan(clientID: "phone-1")
        var seen: Set<Int> = []
        while let server = plan.next() {
            #expect(seen.insert(server.index).inserted)
            view.dialFailed(server, reason: "refused")
        }
        #expect(seen.count == 6)
        #expect(plan.attempts == 6)
    }

    @Test("session counts of several views add up in the status")
    func sessionCountsAcrossViews() throws {
        let pool = try makePool(brokerAddresses(2), balance: .roundRobin)
        let views = (0..<3).map { _ in pool.makeView() }
        for view in views {
            view.sessionOpened(on: pool.servers[0])
            view.sessionOpened(on: pool.servers[1])
        }
        views[0].sessionClosed(on: pool.servers[1])
        #expect(pool.status().servers.map(\.openSessions) == [3, 2])
    }
}
