import BridgeTestSupport
import Testing

/// `timeouts.packet` with the real bridge and Mosquitto: the trickled PUBLISH of the soak's hostile probe is closed.
@Suite("Packet deadline", .timeLimit(.minutes(1)))
struct PacketDeadlineTests {
    @Test("A client trickling a PUBLISH is closed with 1008 at timeouts.packet; one idle between packets is not")
    func trickledPublishIsClosed() async throws {
        try await BridgeHarness.with(configure: { $0.timeouts.packet = .seconds(1) }) { bridge in
            let idle = try await bridge.connectMQTT(clientID: "idle")
            let trickler = try await bridge.connectMQTT(clientID: "trickler")
            let publish = MQTTTestPackets.publish("t/trickle", payload: [UInt8](repeating: 0x5A, count: 16 * 1024))
            try await trickler.sendFrame(opcode: .binary, payload: Array(publish.prefix(16)), fin: false)
            // A byte every 100 ms, each in a frame of its own: the packet progresses, but not to its end.
            let trickling = Task {
                for byte in publish.dropFirst(16).prefix(100) {
                    try await Task.sleep(for: .milliseconds(100))
                    try await trickler.sendFrame(opcode: .continuation, payload: [byte], fin: false)
                }
            }
            defer { trickling.cancel() }

            let close = try await trickler.expectClose(timeout: .seconds(10))
            #expect(close.code == 1008)
            #expect(close.reason == "MQTT packet not completed within 1 s")
            let line = try await bridge.waitForAccessLine(containing: ["client_id=trickler"])
            #expect(line.contains("closed_by=bridge") && line.contains("close_code=1008"), "\(line)")
            #expect(line.contains("reason=\"MQTT packet not completed within 1 s\""), "\(line)")

            // The other client sat silent at a packet boundary for longer than the deadline: still relayed.
            try await idle.sendBinary(MQTTTestPackets.pingreq)
            #expect(try await idle.receiveBinaryMessage() == MQTTTestPackets.pingresp)
        }
    }
}
