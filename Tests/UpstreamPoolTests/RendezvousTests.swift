import Testing

@testable import UpstreamPool

@Suite("client_id balancing: rendezvous hashing")
struct RendezvousTests {
    @Test("two independent pools, servers listed in another order, choose the same server for every id")
    func stableAcrossPools() throws {
        let addresses = brokerAddresses(5)
        let first = try makePool(addresses).makeView()
        let second = try makePool(addresses.reversed()).makeView()
        for clientID in sampleClientIDs {
            #expect(first.firstChoice(clientID)?.description == second.firstChoice(clientID)?.description)
        }
        // Not everything on one server: the ids spread.
        let used = Set(sampleClientIDs.prefix(100).compactMap { first.firstChoice($0)?.description })
        #expect(used.count == 5)
    }

    @Test("a server added to 4 takes about a fifth of 10,000 ids, and no other id moves", arguments: [4, 9])
    func addingAServerMovesOnlyItsShare(serversBefore: Int) throws {
        let before = try makePool(brokerAddresses(serversBefore)).makeView()
        let after = try makePool(brokerAddresses(serversBefore + 1)).makeView()
        let newcomer = "broker-\(serversBefore):1883"
        var moved = 0
        for clientID in sampleClientIDs {
            let old = try #require(before.firstChoice(clientID)).description
            let new = try #require(after.firstChoice(clientID)).description
            if old != new {
                #expect(new == newcomer, "\(clientID) moved from \(old) to \(new), not to the new server")
                moved += 1
            }
        }
        let expected = sampleClientIDs.count / (serversBefore + 1)
        #expect(abs(moved - expected) < expected / 8, "\(moved) ids moved; expected about \(expected)")
    }

    @Test("a server removed from 5 gives up only its own ids, spread over the other four")
    func removingAServerMovesOnlyItsIDs() throws {
        let addresses = brokerAddresses(5)
        let before = try makePool(addresses).makeView()
        let after = try makePool(addresses.filter { $0 != "broker-2:1883" }).makeView()
        var moved: [String: Int] = [:]
        for clientID in sampleClientIDs {
            let old = try #require(before.firstChoice(clientID)).description
            let new = try #require(after.firstChoice(clientID)).description
            if old == "broker-2:1883" {
                moved[new, default: 0] += 1
            } else {
                #expect(old == new, "\(clientID) moved from \(old) though its server stayed")
            }
        }
        let total = moved.values.reduce(0, +)
        #expect(abs(total - 2_000) < 250, "\(total) ids were on the removed server; expected about 2000")
        // Each survivor takes about a quarter of them.
        for count in moved.values { #expect(abs(count - total / 4) < total / 8, "\(moved)") }
        #expect(moved.count == 4)
    }

    @Test("weights 1:2:3:4 give shares of 10%, 20%, 30%, 40% (within 2 points)")
    func weightsAreRespected() throws {
        let pool = try makePool(brokerAddresses(4), weights: [1, 2, 3, 4])
        let view = pool.makeView()
        var counts: [String: Int] = [:]
        for clientID in sampleClientIDs { counts[view.firstChoice(clientID)!.description, default: 0] += 1 }
        for (index, weight) in [1, 2, 3, 4].enumerated() {
            let share = Double(counts["broker-\(index):1883", default: 0]) / Double(sampleClientIDs.count)
            #expect(abs(share - Double(weight) / 10) < 0.02, "broker-\(index) (weight \(weight)) got \(share)")
        }
    }

    @Test("raising one weight moves ids only onto that server")
    func changingAWeightMovesIDsOnlyToThatServer() throws {
        let before = try makePool(brokerAddresses(4)).makeView()
        let after = try makePool(brokerAddresses(4), weights: [1, 3, 1, 1]).makeView()
        var moved = 0
        for clientID in sampleClientIDs {
            let old = before.firstChoice(clientID)!.description
            let new = after.firstChoice(clientID)!.description
            if old != new {
                #expect(new == "broker-1:1883")
                moved += 1
            }
        }
        // broker-1 goes from 1/4 to 3/6 of the ids: a quarter of all ids move.
        #expect(abs(moved - 2_500) < 300, "\(moved)")
    }

    @Test("while a server is down its ids go to their second choice, and come back when it is up again")
    func downServersIDsGoToTheirSecondChoice() throws {
        let pool = try makePool(brokerAddresses(4))
        let view = pool.makeView()
        let now = ContinuousClock.now
        let orders = Dictionary(uniqueKeysWithValues: sampleClientIDs.prefix(2_000).map { ($0, view.dialOrder($0, now: now)) })
        let failed = pool.server("broker-1:1883")
        pool.recordProbe(failed, .down(reason: "connection refused"), at: now)
        for (clientID, order) in orders {
            let expected = order[0] == "broker-1:1883" ? order[1] : order[0]
            #expect(view.firstChoice(clientID)?.description == expected)
        }
        pool.recordProbe(failed, .up(latency: .milliseconds(2)), at: now + .seconds(5))
        for (clientID, order) in orders {
            #expect(view.firstChoice(clientID)?.description == order[0])
        }
    }

    @Test("the dial order is the id's ranking: the servers that are up, then those that are down, each once")
    func dialOrder() throws {
        let pool = try makePool(brokerAddresses(5))
        let view = pool.makeView()
        let now = ContinuousClock.now
        let ranking = view.dialOrder("sensor-17", now: now)
        #expect(Set(ranking) == Set(brokerAddresses(5)))
        #expect(ranking.count == 5)

        // Mark the first and third choices down: they move to the end, in ranking order.
        pool.dialFailed(pool.server(ranking[0]), reason: "refused", at: now)
        pool.recordProbe(pool.server(ranking[2]), .down(reason: "timeout"), at: now)
        #expect(view.dialOrder("sensor-17", now: now) == [ranking[1], ranking[3], ranking[4], ranking[0], ranking[2]])
    }

    @Test("a failure reported during a plan changes the rest of that plan")
    func failoverWithinOnePlan() throws {
        // A long rest, so the last check does not depend on how fast the test runs.
        let pool = try makePool(brokerAddresses(3), backoff: .init(initial: .seconds(60), maximum: .seconds(60)))
        let view = pool.makeView()
        let ranking = view.dialOrder("car-9")
        var plan = view.plan(clientID: "car-9")
        let chosen = plan.next()
        let first = try #require(chosen)
        #expect(first.description == ranking[0])
        view.dialFailed(first, reason: "connection refused")
        let (second, third, none) = (plan.next(), plan.next(), plan.next())
        #expect(second?.description == ranking[1])
        #expect(third?.description == ranking[2])
        #expect(none == nil)
        #expect(plan.attempts == 3)
        // A new session of the same id now starts at its second choice.
        #expect(view.firstChoice("car-9")?.description == ranking[1])
    }
}
