import NIOCore
import NIOEmbedded
import Testing

@testable import BridgeRelay

/// `UpstreamDialGate`: at most `limit` connects in flight on one loop, the rest wait in arrival order; and
/// `UpstreamDialGates`: the process-wide limit split over the loops.
@Suite("Upstream dial gate")
struct UpstreamDialGateTests {
    /// Dials entered at the gate, in the order they started.
    final class Dials {
        var started: [Int] = []
        var tickets: [Int: UpstreamDialGate.Ticket] = [:]

        func enter(_ id: Int, at gate: UpstreamDialGate, onStart: @escaping (UpstreamDialGate.Ticket) -> Void = { _ in }) {
            self.tickets[id] = gate.enter { ticket in
                self.started.append(id)
                onStart(ticket)
            }
        }
    }

    @Test func dialsBeyondTheLimitWaitAndAreCounted() {
        let metrics = RecordingMetricsFactory()
        let gate = UpstreamDialGate(limit: 2, metrics: UpstreamDialGateMetrics(factory: metrics))
        let dials = Dials()
        for id in 1...4 { dials.enter(id, at: gate) }

        #expect(dials.started == [1, 2])
        #expect(gate.holding == 2)
        #expect(gate.waiting == 2)
        #expect(dials.tickets[3]?.isWaiting == true)
        #expect(metrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 2)
        #expect(metrics.value("mqtt_ws_bridge_upstream_dials_delayed_total") == 2)
    }

    @Test func aReleasedSlotStartsTheNextInArrivalOrderWhateverTheOutcome() {
        let metrics = RecordingMetricsFactory()
        let gate = UpstreamDialGate(limit: 1, metrics: UpstreamDialGateMetrics(factory: metrics))
        let dials = Dials()
        for id in 1...3 { dials.enter(id, at: gate) }
        #expect(dials.started == [1])

        dials.tickets[1]?.release()  // the broker spoke
        #expect(dials.started == [1, 2])
        dials.tickets[1]?.release()  // once only: no second slot
        #expect(dials.started == [1, 2])
        #expect(gate.holding == 1)

        dials.tickets[2]?.release()  // refused: the slot is free all the same
        #expect(dials.started == [1, 2, 3])
        dials.tickets[3]?.release()
        #expect(gate.holding == 0)
        #expect(gate.waiting == 0)
        #expect(metrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 0)
        #expect(metrics.value("mqtt_ws_bridge_upstream_dials_delayed_total") == 2)
    }

    @Test func aWithdrawnWaiterIsSkippedAndNeverStarts() {
        let metrics = RecordingMetricsFactory()
        let gate = UpstreamDialGate(limit: 1, metrics: UpstreamDialGateMetrics(factory: metrics))
        let dials = Dials()
        for id in 1...3 { dials.enter(id, at: gate) }

        dials.tickets[2]?.release()  // its session left while it waited
        #expect(gate.waiting == 1)
        #expect(metrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 1)
        dials.tickets[1]?.release()
        #expect(dials.started == [1, 3])
        #expect(gate.holding == 1)
    }

    @Test func aHeldSlotIsReleasedAtTheDeadlineAtTheLatest() throws {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let gate = UpstreamDialGate(limit: 1)
        let dials = Dials()
        for id in 1...2 { dials.enter(id, at: gate) }
        let held = try #require(dials.tickets[1])
        held.release(at: loop.now + .seconds(5), on: loop)  // the broker never says a word

        loop.advanceTime(by: .milliseconds(4999))
        #expect(held.holdsSlot)
        #expect(dials.started == [1])
        loop.advanceTime(by: .milliseconds(1))
        #expect(!held.holdsSlot)
        #expect(dials.started == [1, 2])
        #expect(gate.holding == 1)
    }

    @Test func aSlotReleasedBeforeItsDeadlineIsNotReleasedAgainThen() throws {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let gate = UpstreamDialGate(limit: 1)
        let dials = Dials()
        for id in 1...3 { dials.enter(id, at: gate) }
        dials.tickets[1]?.release(at: loop.now + .seconds(5), on: loop)
        dials.tickets[1]?.release()  // the broker spoke
        #expect(dials.started == [1, 2])

        loop.advanceTime(by: .seconds(5))
        #expect(dials.started == [1, 2], "the deadline of a released ticket frees no second slot")
        #expect(gate.holding == 1)
    }

    @Test func connectsThatFailAtOnceHandTheSlotOnWithoutNesting() {
        let gate = UpstreamDialGate(limit: 1)
        let dials = Dials()
        dials.enter(1, at: gate)
        // Each waiting dial fails synchronously when it starts (an unresolvable host, say): the whole queue runs.
        for id in 2...500 { dials.enter(id, at: gate) { $0.release() } }
        dials.tickets[1]?.release()
        #expect(dials.started == Array(1...500))
        #expect(gate.holding == 0)
        #expect(gate.waiting == 0)
    }

    @Test func limitZeroNeverWaits() {
        let metrics = RecordingMetricsFactory()
        let gate = UpstreamDialGate(limit: 0, metrics: UpstreamDialGateMetrics(factory: metrics))
        let dials = Dials()
        for id in 1...1000 { dials.enter(id, at: gate) }
        #expect(dials.started.count == 1000)
        #expect(gate.waiting == 0)
        #expect(metrics.value("mqtt_ws_bridge_upstream_dials_delayed_total") == 0)
    }

    @Test(
        "the limit split over the loops",
        arguments: [
            (64, 2, [32, 32]), (64, 3, [22, 21, 21]), (1, 2, [1, 1]), (3, 4, [1, 1, 1, 1]), (0, 2, [0, 0]), (64, 1, [64]),
        ])
    func split(limit: Int, loops: Int, shares: [Int]) {
        #expect(UpstreamDialGates.shares(of: limit, over: loops) == shares)
    }

    @Test func eachLoopHasItsOwnGate() throws {
        let loops = [EmbeddedEventLoop(), EmbeddedEventLoop()]
        defer { for loop in loops { try? loop.syncShutdownGracefully() } }
        let gates = UpstreamDialGates(maxConcurrentDials: 3, eventLoops: loops)
        let first = gates.gate(for: loops[0])
        #expect(first === gates.gate(for: loops[0]))
        #expect(first.limit == 2)
        #expect(gates.gate(for: loops[1]).limit == 1)

        // A loop the server did not know at start-up gets a share as one more loop, and keeps it.
        let other = EmbeddedEventLoop()
        defer { try? other.syncShutdownGracefully() }
        let late = gates.gate(for: other)
        #expect(late.limit == 1)
        #expect(late === gates.gate(for: other))
        #expect(UpstreamDialGates.unlimited.gate(for: other).limit == 0)
    }
}
