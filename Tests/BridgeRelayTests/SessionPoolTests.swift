import NIOCore
import Testing
import UpstreamPool

@testable import BridgeRelay

/// Sessions dialling through `PooledUpstreamServers` (`upstream.servers`): sticky by client id, moving on past a
/// server that refuses, counting their sessions per server until they end.
@Suite struct SessionPoolTests {
    static let addresses = ["a.broker.test:1883", "b.broker.test:1883", "c.broker.test:1883"]

    static func makePool(balance: UpstreamBalance = .clientID) throws -> UpstreamPool {
        let servers = try addresses.map { try PoolServerAddress(parsing: $0) }
        return try UpstreamPool(settings: UpstreamPoolSettings(servers: servers, balance: balance), unitRandom: { 0.5 })
    }

    static func selector(_ pool: UpstreamPool) -> PooledUpstreamServers {
        // No loops known up front: each harness's EmbeddedEventLoop gets its view on first use.
        PooledUpstreamServers(pool: pool, eventLoops: [])
    }

    /// The server a fresh pool's view ranks first for `clientID`.
    static func firstChoice(_ clientID: String, in pool: UpstreamPool) -> String? {
        var plan = pool.makeView().plan(clientID: clientID)
        return plan.next()?.description
    }

    static func openSessions(_ pool: UpstreamPool) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: pool.status().servers.map { ($0.server.description, $0.openSessions) })
    }

    @Test func theClientIDPicksTheSameBrokerFromIndependentPools() throws {
        for clientID in ["sensor-1", "sensor-2", "dashboard-42", "wx-mini-7"] {
            let first = try Self.makePool()
            let second = try Self.makePool()
            for pool in [first, second] {
                let harness = try SessionHarness(servers: Self.selector(pool))
                defer { harness.finish() }
                try harness.send(.binary(MQTTSample.connect(clientID: clientID)))
                #expect(harness.connector.servers.map(\.description) == [Self.firstChoice(clientID, in: first)])
                try harness.send(.close(1000))
                #expect(harness.accessLine?.metadata["broker"] == Self.firstChoice(clientID, in: first).map { "\($0)" })
            }
        }
    }

    @Test func aRefusedServerIsMarkedDownAndTheSessionMovesToItsSecondChoice() throws {
        let pool = try Self.makePool()
        var ranking = pool.makeView().plan(clientID: "sensor-9")
        let ranked = [ranking.next(), ranking.next()]
        let first = try #require(ranked[0])
        let second = try #require(ranked[1])
        let refused = BridgeRelay.UpstreamServer(host: first.host, port: first.port)
        let harness = try SessionHarness(servers: Self.selector(pool), refusing: [refused])
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.connect(clientID: "sensor-9")))
        #expect(harness.connector.servers.map(\.description) == [first.description, second.description])
        #expect(try harness.framesToClient().isEmpty, "the client saw nothing of the failed dial")
        let status = pool.status()
        #expect(status.servers[first.index].isAvailable == false, "marked down at once")
        #expect(status.servers[first.index].dialFailures == 1)
        #expect(Self.openSessions(pool)[second.description] == 1)

        // The next session of the same id goes straight to the second choice while the first rests.
        let again = try SessionHarness(servers: Self.selector(pool))
        defer { again.finish() }
        try again.send(.binary(MQTTSample.connect(clientID: "sensor-9")))
        #expect(again.connector.servers.map(\.description) == [second.description])
    }

    @Test func everyServerRefusingIsAConnackAfterOneAttemptEach() throws {
        let pool = try Self.makePool()
        let all = Set(pool.servers.map { BridgeRelay.UpstreamServer(host: $0.host, port: $0.port) })
        let harness = try SessionHarness(servers: Self.selector(pool), refusing: all)
        defer { harness.finish() }
        try harness.connect()
        #expect(harness.connector.servers.count == 3, "each server once")
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1013])
        #expect(pool.status().availableCount == 0)
    }

    @Test func sessionsCountOnTheirServerUntilTheyEnd() throws {
        let pool = try Self.makePool()
        let selector = Self.selector(pool)
        let server = try #require(Self.firstChoice("counted", in: pool))

        let closedByClient = try SessionHarness(servers: selector)
        defer { closedByClient.finish() }
        try closedByClient.send(.binary(MQTTSample.connect(clientID: "counted")))
        let closedByBroker = try SessionHarness(servers: selector)
        defer { closedByBroker.finish() }
        try closedByBroker.send(.binary(MQTTSample.connect(clientID: "counted")))
        #expect(Self.openSessions(pool)[server] == 2)

        try closedByClient.send(.close(1000))
        #expect(Self.openSessions(pool)[server] == 1)
        closedByBroker.brokerCloses()
        #expect(Self.openSessions(pool)[server] == 0)
        #expect(Self.openSessions(pool).values.allSatisfy { $0 == 0 })
    }

    @Test func anEmptyClientIDIsSpreadByLeastSessions() throws {
        let pool = try Self.makePool()
        let selector = Self.selector(pool)
        var harnesses: [SessionHarness] = []
        defer { harnesses.forEach { $0.finish() } }
        for _ in 0..<3 {
            let harness = try SessionHarness(servers: selector)
            try harness.send(.binary(MQTTSample.connect(clientID: "")))
            harnesses.append(harness)
        }
        // Each harness is its own loop with its own view: each view's first least_sessions choice is its own
        // rotation's start, so three loops cover the three servers.
        #expect(Set(harnesses.flatMap { $0.connector.servers.map(\.description) }).count == 3)
    }

    @Test func aWebSocketUpstreamKnowsNoClientIDAndGoesByLeastSessions() throws {
        let pool = try Self.makePool()
        let offer = SubprotocolOffer(offered: [], routeAnswer: nil, forwardsBrokerAnswer: false)
        let harness = try SessionHarness(upgradeOffer: offer, servers: Self.selector(pool))
        defer { harness.finish() }
        #expect(harness.upgradeAnswer == .switchProtocols(subprotocol: nil))
        #expect(harness.connector.servers.count == 1)
        #expect(pool.status().servers.map(\.openSessions).reduce(0, +) == 1)
    }
}
