import NIOCore
import Testing

@testable import BridgeRelay

/// A session's dial at its loop's `UpstreamDialGate` (`upstream.max_concurrent_dials`): it waits while another dial
/// holds the loop's only slot, within the session's connect deadline, and a session that leaves dials nothing. Once
/// started, it holds its slot until the broker's first bytes, and on every other way out releases it exactly once.
@Suite struct SessionDialGateTests {
    /// One slot on the harness's loop, already held by another session's connect in flight.
    static func harnessBehindABusySlot(
        settings: SessionSettings = SessionSettings(maximumPacketSize: 4096, upstreamReadyTimeout: .seconds(5)),
        servers: SessionDialTests.RecordingSelector? = nil
    ) throws -> (SessionHarness, held: UpstreamDialGate.Ticket, gateMetrics: RecordingMetricsFactory) {
        let gateMetrics = RecordingMetricsFactory()
        let gates = UpstreamDialGates(maxConcurrentDials: 1, eventLoops: [], metrics: UpstreamDialGateMetrics(factory: gateMetrics))
        let harness = try SessionHarness(settings: settings, servers: servers, dialGates: gates)
        let held = gates.gate(for: harness.loop).enter { _ in }
        return (harness, held, gateMetrics)
    }

    @Test func theDialWaitsForTheSlotAndStartsWhenItFrees() throws {
        let (harness, held, gateMetrics) = try Self.harnessBehindABusySlot()
        defer { harness.finish() }
        try harness.connect()
        #expect(harness.connector.dials == 0, "the loop's only slot is taken")
        #expect(gateMetrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 1)

        held.release()
        #expect(harness.connector.dials == 1)
        #expect(gateMetrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 0)
        #expect(gateMetrics.value("mqtt_ws_bridge_upstream_dials_delayed_total") == 1)
        #expect(try harness.bytesToBroker() == MQTTSample.connect())
    }

    @Test func aSessionThatLeavesWhileWaitingDialsNothing() throws {
        let (harness, held, gateMetrics) = try Self.harnessBehindABusySlot()
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.close(1000))
        #expect(gateMetrics.value("mqtt_ws_bridge_upstream_dials_waiting") == 0, "it left the queue")
        held.release()
        #expect(harness.connector.dials == 0)
    }

    @Test func waitingCountsAgainstTheConnectDeadlineAndBlamesNoServer() throws {
        let selector = SessionDialTests.RecordingSelector([SessionDialTests.a])
        let (harness, held, _) = try Self.harnessBehindABusySlot(servers: selector)
        defer { harness.finish() }
        try harness.connect()
        harness.advance(by: .seconds(5))
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1013], "CONNACK server unavailable, then close")
        #expect(selector.failed.isEmpty, "the server was never dialled: no passive health report")
        #expect(harness.metrics.value("mqtt_ws_bridge_upstream_connect_failures_total", []) == 0)
        try harness.send(.close(1013))
        let reason = try #require(harness.accessLine?.metadata["reason"])
        #expect(reason.contains("no free upstream dial slot within 5 s (upstream.max_concurrent_dials)"), "\(reason)")

        held.release()
        #expect(harness.connector.dials == 0, "the timed-out dial left the queue")
    }

    /// A dial given up while still in line never connects, so nothing but the dial can complete its attempt's
    /// `ready`; left pending, the promise's waiting closure would keep the dial (and through the handler the session)
    /// alive for good: one leak per session that left, or timed out, during a storm.
    @Test(arguments: ["cancelled", "timed out"])
    func aDialGivenUpInLineFailsItsAttemptAndIsFreed(_ way: String) throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        let gates = UpstreamDialGates(maxConcurrentDials: 1, eventLoops: [])
        _ = gates.gate(for: harness.loop).enter { _ in }  // the only slot, taken
        var ready: EventLoopPromise<String?>?
        weak var weakDial: UpstreamDial?
        do {
            let dial = UpstreamDial(
                upstream: Upstream(
                    connector: harness.connector, servers: SessionDialTests.RecordingSelector([SessionDialTests.a]), dialGates: gates),
                request: UpstreamDialRequest(clientID: nil), prelude: nil, subprotocols: nil, timeout: .seconds(5),
                metrics: BridgeMetrics(routeNames: [SessionHarness.route], factory: RecordingMetricsFactory()), eventLoop: harness.loop,
                makeHandler: { promise in
                    ready = promise
                    return UpstreamHandler(session: harness.session, ready: promise)
                })
            weakDial = dial
            _ = dial.start()
            if way == "cancelled" { dial.cancel() } else { harness.advance(by: .seconds(5)) }
        }
        var completed = false
        try #require(ready).futureResult.whenComplete { _ in completed = true }
        #expect(completed, "the attempt's ready is failed when it leaves the line")
        #expect(weakDial == nil, "nothing keeps the given-up dial alive")
        #expect(harness.connector.dials == 0)
    }

    @Test func aFailoverRedialTakesItsTurnAgain() throws {
        let selector = SessionDialTests.RecordingSelector([SessionDialTests.a, SessionDialTests.b])
        let gates = UpstreamDialGates(maxConcurrentDials: 1, eventLoops: [])
        let harness = try SessionHarness(servers: selector, refusing: [SessionDialTests.a], dialGates: gates)
        defer { harness.finish() }
        let gate = gates.gate(for: harness.loop)
        let held = gate.enter { _ in }
        try harness.connect()
        let other = gate.enter { _ in }  // another session's dial, in line behind this one

        held.release()
        #expect(harness.connector.servers == [SessionDialTests.a], "a refused at once; the other dial's turn came first")
        #expect(other.isWaiting == false)
        #expect(gate.waiting == 1, "the redial to b waits behind it")

        other.release()
        #expect(harness.connector.servers == [SessionDialTests.a, SessionDialTests.b])
        #expect(selector.failed == [SessionDialTests.a])
        #expect(try harness.bytesToBroker() == MQTTSample.connect())
    }

    // MARK: How long a started dial holds its slot

    /// One slot on the harness's loop, free: the session's dial takes it.
    static func harnessWithOneSlot(
        _ behaviour: FakeUpstreamConnector.Behaviour = .connect, servers: SessionDialTests.RecordingSelector? = nil,
        refusing: Set<UpstreamServer> = []
    ) throws -> (SessionHarness, UpstreamDialGate) {
        let gates = UpstreamDialGates(maxConcurrentDials: 1, eventLoops: [])
        let harness = try SessionHarness(behaviour, servers: servers, refusing: refusing, dialGates: gates)
        return (harness, gates.gate(for: harness.loop))
    }

    /// Another session's dial, in line behind the harness's.
    final class NextDial {
        private(set) var started = false
        private(set) var ticket: UpstreamDialGate.Ticket?

        init(at gate: UpstreamDialGate) {
            self.ticket = gate.enter { _ in self.started = true }
        }
    }

    @Test func theSlotIsHeldAfterTheConnectUntilTheBrokersFirstBytes() throws {
        let (harness, gate) = try Self.harnessWithOneSlot()
        defer { harness.finish() }
        try harness.connect()
        #expect(try harness.bytesToBroker() == MQTTSample.connect(), "connected: the CONNECT went out at once")
        let next = NextDial(at: gate)
        #expect(!next.started, "connected is not accepted: the slot stays taken until the broker speaks")
        #expect(gate.waiting == 1)

        try harness.brokerSends(MQTTSample.connackAccepted)
        #expect(next.started, "the broker's CONNACK proves it accepted: the waiting dial takes the slot")
        #expect(gate.waiting == 0)
        #expect(try harness.framesToClient().map(\.payload) == [MQTTSample.connackAccepted], "the bytes still reach the client")
        let pipeline = try #require(harness.upstream).channel.pipeline.syncOperations
        #expect((try? pipeline.handler(type: UpstreamDialSlotHolder.self)) == nil, "the holder left after the first read")

        try harness.brokerSends(MQTTSample.publish(payload: [1]))
        #expect(gate.holding == 1, "later bytes release nothing more")
    }

    @Test func aBrokerThatClosesWithoutAWordReleasesTheSlot() throws {
        let (harness, gate) = try Self.harnessWithOneSlot()
        defer { harness.finish() }
        try harness.connect()
        let next = NextDial(at: gate)
        #expect(!next.started)

        harness.brokerCloses()
        #expect(next.started)
        #expect(gate.holding == 1, "the slot went over once: to the next dial")
    }

    @Test func aSessionThatLeavesWhileConnectingReleasesTheSlot() throws {
        let (harness, gate) = try Self.harnessWithOneSlot(.manual)
        defer { harness.finish() }
        try harness.connect()
        #expect(harness.connector.dials == 1, "the connect is in flight")
        let next = NextDial(at: gate)

        try harness.send(.close(1000))
        #expect(next.started, "the dial was cancelled: its slot went to the next")
        #expect(gate.holding == 1)
        try harness.connector.failDial(ChannelError.ioOnClosedChannel)  // the abandoned connect ends
        #expect(gate.holding == 1, "released once only")
    }

    @Test func aSessionThatLeavesBeforeTheBrokerSpokeReleasesTheSlot() throws {
        let (harness, gate) = try Self.harnessWithOneSlot()
        defer { harness.finish() }
        try harness.connect()
        let next = NextDial(at: gate)

        try harness.send(.close(1000))
        harness.loop.run()
        #expect(next.started, "the bridge closed the broker connection before its CONNACK")
        #expect(gate.holding == 1)
    }

    @Test func aSilentBrokerHoldsTheSlotUntilTheConnectDeadlineAtMost() throws {
        let (harness, gate) = try Self.harnessWithOneSlot()
        defer { harness.finish() }
        try harness.connect()
        let next = NextDial(at: gate)

        harness.advance(by: .milliseconds(4999))
        #expect(!next.started)
        harness.advance(by: .milliseconds(1))
        #expect(next.started, "upstream.connect_timeout from the dial's start bounds the hold")
        #expect(gate.holding == 1)
    }

    @Test func aFailoverAfterASilentCloseTakesTheFreedSlotForTheNextServer() throws {
        let selector = SessionDialTests.RecordingSelector([SessionDialTests.a, SessionDialTests.b])
        let (harness, gate) = try Self.harnessWithOneSlot(.connectAwaitingTLS, servers: selector)
        defer { harness.finish() }
        try harness.connect()
        #expect(harness.connector.servers == [SessionDialTests.a])

        harness.brokerCloses()  // a closed during the TLS handshake without a byte
        #expect(harness.connector.servers == [SessionDialTests.a, SessionDialTests.b], "a's slot went to the redial")
        #expect(selector.failed == [SessionDialTests.a])
        #expect(gate.holding == 1)
        #expect(gate.waiting == 0)

        let b = harness.connector.upstreams[1]
        harness.connector.finishTLSHandshake(of: b)
        let next = NextDial(at: gate)
        #expect(!next.started, "b holds the slot until it speaks")
        try b.channel.writeInbound(ByteBuffer(bytes: MQTTSample.connackAccepted))
        #expect(next.started)
    }
}
