import BridgeTestSupport
import Foundation
import Testing

/// `/api/v1/events` against a real bridge: what an event carries, and what a viewer that stops reading costs.
@Suite("Admin event stream", .serialized)
struct AdminEventsTests {
    static let token = "events-token-0123456789"

    /// Opens the stream on a raw connection; returns the client (reading, unless paused).
    private func openStream(_ bridge: BridgeHarness, receiveBufferSize: Int? = nil, paused: Bool = false) async throws -> TestTCPClient {
        let viewer = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.adminPort, receiveBufferSize: receiveBufferSize)
        if paused { try await viewer.pauseReading() }
        try await viewer.send(Array("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Self.token)\r\n\r\n".utf8))
        return viewer
    }

    /// The next `stats` event's data, parsed (chunk framing is around whole events, so a data line is never split).
    private func nextEvent(_ viewer: TestTCPClient, after seen: inout String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let start = seen.range(of: "event: stats\ndata: "), let end = seen.range(of: "\n\n", range: start.upperBound..<seen.endIndex)
            {
                let data = String(seen[start.upperBound..<end.lowerBound])
                seen = String(seen[end.upperBound...])
                return try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
            }
            seen += String(decoding: try await viewer.receiveAvailable(timeout: .seconds(5)), as: UTF8.self)
        }
        throw TestSupportError("no stats event within 10 s; got \(seen.prefix(300))")
    }

    @Test("a stats event every interval: open sessions per route and broker, rates, upstream health, the last refusals")
    func events() async throws {
        try await BridgeHarness.with(configure: { $0.admin.token = Self.token }, admin: true, eventInterval: .milliseconds(200)) { bridge in
            let refused = try await bridge.admin("GET", "/api/v1/events")
            #expect(refused.status == 401, "\(refused)")
            let client = try await bridge.connectMQTT(clientID: "ev-1")
            let (notFound, _) = try await bridge.connect(path: "/nowhere", subprotocols: ["mqtt"])
            #expect(notFound.status == 404)

            let viewer = try await openStream(bridge)
            var seen = ""
            var event = try await nextEvent(viewer, after: &seen)
            #expect(seen.isEmpty || !seen.contains("HTTP/1.1 401"))
            // Published messages show up as rates and totals (client → broker is "in").
            try await client.sendBinary(MQTTTestPackets.publish("ev/t", payload: [1, 2, 3]))
            let deadline = ContinuousClock.now + .seconds(10)
            while ((event["messages_total"] as? [String: Any])?["in"] as? Int ?? 0) < 1, ContinuousClock.now < deadline {
                event = try await nextEvent(viewer, after: &seen)
            }
            let sessions = try #require(event["sessions"] as? [String: Any])
            #expect(sessions["open"] as? Int == 1)
            #expect((sessions["by_route"] as? [String: Int]) == ["miniprogram": 1])
            #expect((sessions["by_broker"] as? [String: Int]) == ["127.0.0.1:\(bridge.broker.port)": 1])
            #expect((event["messages_total"] as? [String: Int])?["in"] == 1)
            #expect(event["messages_per_second"] is [String: Any] && event["bytes_per_second"] is [String: Any])
            #expect(((event["handshakes_per_second"] as? [String: Any])?.keys).map(Set.init)?.isSuperset(of: ["accepted"]) == true)
            #expect((event["upstream"] as? [String: Any])?["broker"] as? String == "127.0.0.1:\(bridge.broker.port)")
            let refusals = try #require(event["refusals"] as? [[String: Any]])
            #expect(refusals.contains { $0["result"] as? String != nil && $0["route"] as? String == "none" }, "\(refusals)")
            await viewer.close()
            await client.closeTCP()
        }
    }

    @Test("a viewer that stops reading is not buffered for: the bridge stops writing to it and closes it after admin.write_timeout")
    func stuckViewer() async throws {
        try await BridgeHarness.with(
            configure: {
                $0.admin.token = Self.token; $0.admin.writeTimeout = .seconds(1)
            }, admin: true, eventInterval: .milliseconds(2)
        ) { bridge in
            let admin = try #require(bridge.admin)
            // A tiny TCP window that is never drained: the socket buffers fill within a moment at this event rate.
            let stuck = try await openStream(bridge, receiveBufferSize: 2048, paused: true)
            let reading = try await openStream(bridge)
            var seen = ""
            _ = try await nextEvent(reading, after: &seen)
            let deadline = ContinuousClock.now + .seconds(30)
            while admin.connectionCount > 1, ContinuousClock.now < deadline {
                _ = try await reading.receiveAvailable(timeout: .seconds(5))  // the reading viewer keeps up
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(admin.connectionCount == 1, "the stuck viewer was closed; the reading one was not")
            #expect(bridge.logs.collected.contains { $0.contains("did not read the answer within admin.write_timeout") })
            seen = ""
            _ = try await nextEvent(reading, after: &seen)
            await stuck.close()
            await reading.close()
        }
    }
}
