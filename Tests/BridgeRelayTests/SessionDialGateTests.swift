import NIOCore
import Testing

@testable import BridgeRelay

/// A session's dial at its loop's `UpstreamDialGate` (`upstream.max_concurrent_dials`): it waits while another connect
/// holds the loop's only slot, within the session's connect deadline, and a session that leaves dials nothing.
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

        held.connectFinished()
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
        held.connectFinished()
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

        held.connectFinished()
        #expect(harness.connector.dials == 0, "the timed-out dial left the queue")
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

        held.connectFinished()
        #expect(harness.connector.servers == [SessionDialTests.a], "a refused at once; the other dial's turn came first")
        #expect(other.isWaiting == false)
        #expect(gate.waiting == 1, "the redial to b waits behind it")

        other.connectFinished()
        #expect(harness.connector.servers == [SessionDialTests.a, SessionDialTests.b])
        #expect(selector.failed == [SessionDialTests.a])
        #expect(try harness.bytesToBroker() == MQTTSample.connect())
    }
}
