import BridgeRelay
import NIOCore
import Testing

/// `timeouts.packet` in a session on an `EmbeddedEventLoop`: a client packet must be complete within the deadline of its
/// first byte, whatever frames carry it; a session idle between packets is left alone.
@Suite struct SessionPacketDeadlineTests {
    static let settings = SessionSettings(maximumPacketSize: 1 << 20, connectPacketTimeout: .seconds(10), packetTimeout: .seconds(30))
    static let publish = MQTTSample.publish(totalLength: 10_000)

    /// A relaying session; what the broker and the client got so far is taken.
    static func relayingSession(_ settings: SessionSettings = Self.settings) throws -> SessionHarness {
        let harness = try SessionHarness(settings: settings)
        try harness.connect()
        #expect(try harness.bytesToBroker() == MQTTSample.connect())
        #expect(try harness.framesToClient().isEmpty)
        return harness
    }

    /// `packet`'s first `startBytes` in a binary frame, then one more byte a second in continuation frames, each checked
    /// to leave the session open, until `seconds` have passed since the first (the packet never completes).
    static func trickle(_ packet: [UInt8], startBytes: Int, seconds: Int, into harness: SessionHarness) throws {
        try harness.send(.binary(Array(packet[0..<startBytes]), fin: false))
        for (second, byte) in zip(1..<seconds, packet[startBytes...]) {
            harness.advance(by: .seconds(1))
            try harness.send(.continuation([byte], fin: false))
            #expect(try harness.framesToClient().isEmpty, "open at \(second) s")
        }
        harness.advance(by: .seconds(1))
    }

    @Test func aPacketCompletedJustBeforeTheDeadlineIsRelayedIntactAndTheSessionStaysOpen() throws {
        let harness = try Self.relayingSession()
        defer { harness.finish() }
        var relayed: [UInt8] = []
        try harness.send(.binary(Array(Self.publish[0..<100]), fin: false))
        for offset in stride(from: 100, to: 9_000, by: 1_000) {
            harness.advance(by: .seconds(3))
            try harness.send(.continuation(Array(Self.publish[offset..<offset + 1_000]), fin: false))
            relayed += try harness.bytesToBroker()
        }
        harness.advance(by: .milliseconds(2_999))  // 29.999 s after the first byte
        try harness.send(.continuation(Array(Self.publish[9_100...])))
        relayed += try harness.bytesToBroker()
        harness.advance(by: .seconds(1))

        #expect(relayed == Self.publish)
        #expect(try harness.framesToClient().isEmpty)
        #expect(harness.clientIsOpen && harness.upstreamIsOpen)
    }

    @Test(arguments: [1, 100])
    func aPacketTrickledPastTheDeadlineIsClosedWith1008(startBytes: Int) throws {
        let harness = try Self.relayingSession()
        defer { harness.finish() }
        // One byte (the fixed header's first), or a few, then frames of one continuation byte each: no packet completes.
        try Self.trickle(Self.publish, startBytes: startBytes, seconds: 30, into: harness)

        let frames = try harness.framesToClient()
        #expect(frames.map(\.closeCode) == [1008])
        #expect(frames.first?.closeReason == "MQTT packet not completed within 30 s")
        harness.advance(by: .seconds(3))  // the client never answers the close
        #expect(!harness.clientIsOpen && !harness.upstreamIsOpen)
        #expect(harness.accessLine?.metadata["close_code"] == "1008")
        #expect(harness.accessLine?.metadata["closed_by"] == "bridge")
        #expect(harness.accessLine?.metadata["reason"] == "MQTT packet not completed within 30 s")
        #expect(harness.metrics.value("mqtt_ws_bridge_packet_deadline_closes_total", [("route", SessionHarness.route)]) == 1)
        #expect(
            harness.metrics.value(
                "mqtt_ws_bridge_closes_total", [("route", SessionHarness.route), ("code", "1008"), ("initiator", "bridge")]) == 1)
    }

    @Test func aSessionIdleAtAPacketBoundaryIsLeftToKeepalive() throws {
        let harness = try Self.relayingSession()
        defer { harness.finish() }
        // A packet split over reads, completed: the timer armed for it must lapse.
        try harness.sendBytes(encode([.binary(Self.publish)]), chunkSizes: [500, 9_506])
        harness.advance(by: .minutes(10))
        #expect(try harness.bytesToBroker() == Self.publish)
        #expect(try harness.framesToClient().isEmpty)
        #expect(harness.clientIsOpen && harness.upstreamIsOpen)
    }

    @Test func packetsStraddlingEveryReadNeverTripItWhileEachCompletesInTime() throws {
        let harness = try Self.relayingSession()
        defer { harness.finish() }
        // 300 PUBLISHes of 52 bytes in one message (after its 8-byte frame header), read 104 bytes a second: every read
        // ends 44 bytes into a packet, so the session is never at a boundary, but no packet takes more than a second.
        let stream = (0..<300).flatMap { MQTTSample.publish(payload: Array(repeating: UInt8($0 % 251), count: 45)) }
        #expect(stream.count == 300 * 52)
        let wire = encode([.binary(stream)])
        for offset in stride(from: 0, to: wire.count, by: 104) {
            try harness.sendBytes(Array(wire[offset..<min(offset + 104, wire.count)]))
            harness.advance(by: .seconds(1))
        }
        #expect(try harness.bytesToBroker() == stream)
        #expect(try harness.framesToClient().isEmpty, "\(wire.count / 104) s of reads, none at a packet boundary")
        #expect(harness.clientIsOpen)
    }

    @Test func zeroTurnsTheDeadlineOff() throws {
        var settings = Self.settings
        settings.packetTimeout = .zero
        let harness = try Self.relayingSession(settings)
        defer { harness.finish() }
        try harness.send(.binary(Array(Self.publish[0..<100]), fin: false))
        for byte in Self.publish[100..<160] {
            harness.advance(by: .seconds(10))
            try harness.send(.continuation([byte], fin: false))
        }
        #expect(try harness.framesToClient().isEmpty)
        #expect(harness.clientIsOpen && harness.upstreamIsOpen)
    }
}

extension SessionPacketDeadlineTests {
    /// The CONNECT has its own deadline: with `timeouts.packet` shorter than `timeouts.connect`, a slow CONNECT is still
    /// closed by the connect timeout (1002 "no CONNECT within"), not as an unfinished packet (1008).
    @Test func aSlowConnectIsLeftToTheConnectTimeout() throws {
        let settings = SessionSettings(maximumPacketSize: 1 << 20, connectPacketTimeout: .seconds(10), packetTimeout: .seconds(5))
        let harness = try SessionHarness(settings: settings)
        defer { harness.finish() }
        try Self.trickle(MQTTSample.connect(), startBytes: 3, seconds: 10, into: harness)

        let frames = try harness.framesToClient()
        #expect(frames.map(\.closeCode) == [1002])
        #expect(frames.first?.closeReason == "no CONNECT within 10 s")
        #expect(harness.metrics.value("mqtt_ws_bridge_packet_deadline_closes_total", [("route", SessionHarness.route)]) == 0)
    }
}
