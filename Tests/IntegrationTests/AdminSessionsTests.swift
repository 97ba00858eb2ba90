import BridgeTestSupport
import Foundation
import Testing

/// The sessions API against a real bridge and a real Mosquitto: three sessions (one MQTT 5) over both listeners and
/// both routes.
@Suite("Admin sessions API", .serialized)
struct AdminSessionsTests {
    static let token = "ops-token-0123456789abcdef"
    static let bearer = [("Authorization", "Bearer \(token)")]

    /// Three sessions: `c-311` (wss, miniprogram), `c-5` (MQTT 5, wss, miniprogram), `c-browser` (ws, browser route).
    private func withThreeSessions(
        _ body: (BridgeHarness, _ clients: [String: TestWebSocketClient]) async throws -> Void
    ) async throws {
        try await BridgeHarness.with(configure: { $0.admin.token = Self.token }, admin: true) { bridge in
            let clients = [
                "c-311": try await bridge.connectMQTT(clientID: "c-311"),
                "c-5": try await bridge.connectMQTT(clientID: "c-5", version: .v5),
                "c-browser": try await bridge.connectMQTT(path: "/mqtt", subprotocols: ["mqtt"], clientID: "c-browser", tls: false),
            ]
            try await body(bridge, clients)
            for client in clients.values { await client.closeTCP() }
        }
    }

    private func sessions(_ bridge: BridgeHarness, _ query: String = "") async throws -> (list: [[String: Any]], next: String?) {
        let response = try await bridge.admin("GET", "/api/v1/sessions" + query, headers: Self.bearer)
        #expect(response.status == 200, "\(response)")
        let json = try response.json()
        return (try #require(json["sessions"] as? [[String: Any]]), json["next_cursor"] as? String)
    }

    /// Polls the list until `condition` holds (sessions leave the registry when their connection closes).
    private func waitForSessions(
        _ bridge: BridgeHarness, _ what: String, _ condition: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + .seconds(5)
        var last: [[String: Any]] = []
        while ContinuousClock.now < deadline {
            last = try await sessions(bridge).list
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("timed out waiting until \(what); sessions: \(last)")
    }

    @Test("without the token the API is refused (401); probes and /metrics stay open")
    func refusedWithoutToken() async throws {
        try await withThreeSessions { bridge, _ in
            let missing = try await bridge.admin("GET", "/api/v1/sessions")
            #expect(missing.status == 401 && missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(missing)")
            let wrong = try await bridge.admin("GET", "/api/v1/sessions", headers: [("Authorization", "Bearer \(Self.token)x")])
            #expect(wrong.status == 401 && wrong.header("WWW-Authenticate")?.contains("invalid_token") == true, "\(wrong)")
            let kick = try await bridge.admin("DELETE", "/api/v1/sessions?client_id=c-5")
            #expect(kick.status == 401)
            #expect(try await sessions(bridge).list.count == 3, "nothing was closed")
            for path in ["/healthz", "/metrics"] {
                #expect(try await bridge.admin("GET", path).status == 200, "\(path)")
            }
            #expect([200, 503].contains(try await bridge.admin("GET", "/readyz").status))
            // The publish API takes admin.token as well.
            let published = try await bridge.publish(#"{"topic": "t/x", "payload": "x"}"#, token: Self.token)
            #expect(published.status == 200, "\(published)")
        }
    }

    @Test("the three sessions are listed with their fields; filters, paging and get by id")
    func listing() async throws {
        try await withThreeSessions { bridge, clients in
            // Traffic each way: a PINGREQ from c-5 and its PINGRESP.
            try await clients["c-5"]!.sendBinary(MQTTTestPackets.pingreq)
            #expect(try await clients["c-5"]!.receiveBinaryMessage() == MQTTTestPackets.pingresp)

            let list = try await sessions(bridge).list
            #expect(list.map { $0["client_id"] as? String } == ["c-311", "c-5", "c-browser"], "in id order")
            let broker = "127.0.0.1:\(bridge.broker.port)"
            let byClient = Dictionary(uniqueKeysWithValues: list.map { ($0["client_id"] as! String, $0) })
            let five = try #require(byClient["c-5"])
            #expect(five["mqtt_version"] as? String == "5.0" && byClient["c-311"]?["mqtt_version"] as? String == "3.1.1")
            #expect(five["listener"] as? String == "wss" && five["route"] as? String == "miniprogram")
            #expect(byClient["c-browser"]?["listener"] as? String == "ws" && byClient["c-browser"]?["route"] as? String == "browser")
            #expect(byClient["c-browser"]?["subprotocol"] as? String == "mqtt")
            #expect((five["client_address"] as? String)?.hasPrefix("127.0.0.1:") == true)
            #expect(five["broker"] as? String == broker)
            #expect(five["username"] is NSNull && five["sub"] is NSNull)
            #expect(
                (five["packets_in"] as? Int ?? 0) >= 2 && (five["packets_out"] as? Int ?? 0) >= 2, "CONNECT + PINGREQ, CONNACK + PINGRESP")
            #expect((five["bytes_in"] as? Int ?? 0) > 0 && (five["bytes_out"] as? Int ?? 0) > 0)
            #expect((five["connected_since"] as? String)?.hasSuffix("Z") == true)

            // Filters.
            #expect(try await sessions(bridge, "?client_id=c-5").list.map { $0["client_id"] as? String } == ["c-5"])
            #expect(try await sessions(bridge, "?route=browser").list.count == 1)
            #expect(try await sessions(bridge, "?address=127.0.0.0/8&broker=\(broker)").list.count == 3)
            #expect(try await sessions(bridge, "?address=10.0.0.0/8").list.isEmpty)
            let bad = try await bridge.admin("GET", "/api/v1/sessions?adress=10.0.0.0/8", headers: Self.bearer)
            #expect(bad.status == 400, "\(bad)")
            #expect(try bad.json()["field"] as? String == "adress")

            // Paging.
            let first = try await sessions(bridge, "?limit=2")
            #expect(first.list.count == 2 && first.next != nil)
            let second = try await sessions(bridge, "?limit=2&cursor=\(first.next ?? "")")
            #expect(second.list.map { $0["client_id"] as? String } == ["c-browser"] && second.next == nil)

            // One session by id; an unknown id is 404.
            let id = try #require(five["id"] as? String)
            let one = try await bridge.admin("GET", "/api/v1/sessions/\(id)", headers: Self.bearer)
            #expect(one.status == 200, "\(one)")
            #expect(try one.json()["client_id"] as? String == "c-5")
            #expect(try await bridge.admin("GET", "/api/v1/sessions/999999", headers: Self.bearer).status == 404)
            #expect(try await bridge.admin("DELETE", "/api/v1/sessions/999999", headers: Self.bearer).status == 404)
        }
    }

    @Test("kicking closes only that session: MQTT 5 gets DISCONNECT 0x98 then close 1008; by client id too; closed_by=admin")
    func kicking() async throws {
        try await withThreeSessions { bridge, clients in
            let list = try await sessions(bridge).list
            let five = try #require(list.first { $0["client_id"] as? String == "c-5" })
            let id = try #require(five["id"] as? String)

            let kicked = try await bridge.admin("DELETE", "/api/v1/sessions/\(id)?reason=maintenance", headers: Self.bearer)
            #expect(kicked.status == 200, "\(kicked)")
            let closed = try #require(try kicked.json()["closed"] as? [[String: Any]])
            #expect(closed.map { $0["id"] as? String } == [id])
            #expect(try await clients["c-5"]!.receiveBinaryMessage() == [0xE0, 0x02, 0x98, 0x00], "DISCONNECT 0x98")
            let close = try await clients["c-5"]!.expectClose()
            #expect(close.code == 1008 && close.reason == "maintenance")
            let line = try await bridge.waitForAccessLine(containing: ["client_id=c-5", "closed_by=admin"])
            #expect(line.contains("session=\(id)") && line.contains("close_code=1008"), "\(line)")

            // The others are untouched and still relay.
            let left = try await waitForSessions(bridge, "c-5 is gone") { $0.count == 2 }
            #expect(Set(left.compactMap { $0["client_id"] as? String }) == ["c-311", "c-browser"])
            try await clients["c-311"]!.sendBinary(MQTTTestPackets.pingreq)
            #expect(try await clients["c-311"]!.receiveBinaryMessage() == MQTTTestPackets.pingresp)

            // By client id: an MQTT 3.1.1 client gets the close frame only.
            let byClient = try await bridge.admin("DELETE", "/api/v1/sessions?client_id=c-browser", headers: Self.bearer)
            #expect(byClient.status == 200, "\(byClient)")
            #expect((try byClient.json()["closed"] as? [[String: Any]])?.count == 1)
            let browserClose = try await clients["c-browser"]!.expectClose()
            #expect(browserClose.code == 1008 && browserClose.reason == "closed by administrator")
            _ = try await waitForSessions(bridge, "only c-311 is left") { $0.compactMap { $0["client_id"] as? String } == ["c-311"] }
            let none = try await bridge.admin("DELETE", "/api/v1/sessions?client_id=c-browser", headers: Self.bearer)
            #expect(none.status == 404, "\(none)")
            let everyone = try await bridge.admin("DELETE", "/api/v1/sessions", headers: Self.bearer)
            #expect(everyone.status == 400, "closing needs a client id or an id: \(everyone)")
        }
    }
}
