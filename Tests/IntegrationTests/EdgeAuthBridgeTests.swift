import BridgeConfig
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// Edge authentication through the real bridge and a real Mosquitto: tokens in the request (401 before the 101) and in
/// the CONNECT (CONNACK "not authorized", close 1008, no broker connection), per-user topics from the token, key
/// rotation, expiry, the auth callout, and logs that never carry a token.
@Suite("Edge authentication through the bridge", .timeLimit(.minutes(3)))
struct EdgeAuthBridgeTests {
    /// A temporary directory with the issuer's public key (`key.pem`) for one test.
    struct Keys {
        let directory: String
        let issuer = TestTokenIssuer(kid: "k1")

        init() throws {
            self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("edge-auth-it-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        }

        @discardableResult
        func write(_ name: String, _ contents: String) throws -> String {
            let path = self.directory + "/" + name
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            return path
        }

        func remove() { try? FileManager.default.removeItem(atPath: self.directory) }
    }

    /// A bridge whose `miniprogram` route (`/wss`) authenticates with `auth`, against `keys` (PEM, or `keyFile`).
    static func withAuth(
        _ auth: RouteAuthConfiguration, keyFile: String? = nil, http: HTTPAuthConfiguration? = nil, jwt: Bool = true,
        topicPolicy: TopicPolicyConfiguration? = nil, leeway: Duration = .seconds(30),
        prepare: (Keys) throws -> Void = { _ in },
        _ body: (BridgeHarness, Keys) async throws -> Void
    ) async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let pem = try keys.write("\(keys.issuer.kid).pem", keys.issuer.publicKeyPEM)  // a PEM key's kid is its file name
        try prepare(keys)
        try await BridgeHarness.with(configure: { config in
            config.auth = AuthConfiguration(
                jwt: jwt ? JWTAuthConfiguration(keys: [keyFile.map { keys.directory + "/" + $0 } ?? pem], leeway: leeway) : nil, http: http)
            let index = config.routes.firstIndex { $0.name == "miniprogram" }!
            config.routes[index].auth = auth
            config.routes[index].topicPolicy = topicPolicy
        }) { bridge in
            try await body(bridge, keys)
        }
    }

    /// The upgrade with `headers` on `path`, expecting a refusal: its status and `WWW-Authenticate`.
    static func refusal(_ bridge: BridgeHarness, path: String = "/wss", headers: [(String, String)] = []) async throws -> (Int, String?) {
        let (response, client) = try await bridge.connect(path: path, subprotocols: ["mqtt"], extraHeaders: headers)
        if let client { await client.closeTCP() }
        return (response.status, response.values("WWW-Authenticate").first)
    }

    /// Opens a session on `/wss` with the token in `headers`/`path` and sends CONNECT: the client and its CONNACK.
    static func session(
        _ bridge: BridgeHarness, path: String = "/wss", headers: [(String, String)] = [], clientID: String, password: String? = nil,
        version: MQTTProtocolVersion = .v3_1_1
    ) async throws -> (TestWebSocketClient, [UInt8]) {
        let (response, client) = try await bridge.connect(path: path, subprotocols: ["mqtt"], extraHeaders: headers)
        guard response.status == 101, let client else { throw TestSupportError("expected 101, got \(response.status): \(response.body)") }
        // MQTT 3.1.1 allows a password only with a user name (any will do: the token is what counts).
        try await client.sendBinary(
            MQTTTestPackets.connect(clientID: clientID, version: version, username: password.map { _ in "user" }, password: password))
        return (client, try await client.receiveBinaryMessage())
    }

    static let connackAccepted: [UInt8] = [0x20, 0x02, 0x00, 0x00]

    // MARK: Tokens in the upgrade request

    @Test("Header, query and cookie tokens are each accepted, and refused with 401 and WWW-Authenticate before the 101")
    func requestSources() async throws {
        let auth = RouteAuthConfiguration(sources: [.header, .query, .cookie], cookie: "jwt")
        try await Self.withAuth(auth) { bridge, keys in
            let token = try keys.issuer.token(sub: "user-a")
            let expired = try keys.issuer.token(sub: "user-a", expiresIn: -120)
            let ways: [(path: String, headers: [(String, String)])] = [
                ("/wss", [("Authorization", "Bearer \(token)")]), ("/wss?token=\(token)", []),
                ("/wss", [("Cookie", "theme=dark; jwt=\(token)")]),
            ]
            for (index, way) in ways.enumerated() {
                let (client, connack) = try await Self.session(bridge, path: way.path, headers: way.headers, clientID: "src-\(index)")
                #expect(connack == Self.connackAccepted, "\(way.path) \(way.headers.map(\.0))")
                try await client.close()
            }
            let refusedWays: [(path: String, headers: [(String, String)])] = [
                ("/wss", [("Authorization", "Bearer \(expired)")]), ("/wss?token=\(expired)", []), ("/wss", [("Cookie", "jwt=\(expired)")]),
            ]
            for way in refusedWays {
                let (status, challenge) = try await Self.refusal(bridge, path: way.path, headers: way.headers)
                #expect(status == 401)
                #expect(challenge == #"Bearer error="invalid_token", error_description="token expired""#)
            }
            let (status, challenge) = try await Self.refusal(bridge)
            #expect(status == 401)
            #expect(challenge == #"Bearer error_description="no token""#)
            let (badStatus, badChallenge) = try await Self.refusal(bridge, headers: [("Authorization", "Bearer not.a.jwt")])
            #expect(badStatus == 401)
            #expect(badChallenge?.contains(#"error="invalid_token""#) == true)

            let line = try await bridge.waitForAccessLine(containing: ["client_id=src-0"])
            #expect(line.contains("auth=jwt") && line.contains("sub=user-a"))
            let text = bridge.logs.collected.joined(separator: "\n")
            #expect(text.contains("status=401") && text.contains("auth=refused"), "401s are in the access log")
            for secret in [token, expired] {
                #expect(!text.contains(secret.split(separator: ".")[2]), "no token signature in the logs")
                #expect(!text.contains(secret.split(separator: ".")[1]), "no token payload in the logs")
            }
        }
    }

    // MARK: Tokens in the CONNECT

    @Test("A token in the MQTT password: accepted; a bad one gets CONNACK 5 (3.1.1) / 0x87 (5.0), close 1008, no broker")
    func passwordSource() async throws {
        try await Self.withAuth(RouteAuthConfiguration(sources: [.mqttPassword])) { bridge, keys in
            let token = try keys.issuer.token(sub: "user-a")
            let (client, connack) = try await Self.session(bridge, clientID: "pw-ok", password: token)
            #expect(connack == Self.connackAccepted)
            try await client.close()

            let (refused, refusedConnack) = try await Self.session(bridge, clientID: "pw-bad", password: "wrong")
            #expect(refusedConnack == [0x20, 0x02, 0x00, 0x05])
            let close = try await refused.expectClose()
            #expect(close.code == 1008)
            #expect(close.reason == "not authorized: malformed token")

            let (refused5, connack5) = try await Self.session(
                bridge, clientID: "pw-bad5", password: try keys.issuer.token(sub: "u", expiresIn: -120), version: .v5)
            #expect(connack5 == [0x20, 0x03, 0x00, 0x87, 0x00])
            #expect(try await refused5.expectClose().reason == "not authorized: token expired")

            for clientID in ["pw-bad", "pw-bad5"] {
                let line = try await bridge.waitForAccessLine(containing: ["client_id=\(clientID)"])
                #expect(line.contains("auth=refused") && line.contains("broker=-") && line.contains("close_code=1008"), "\(line)")
            }
            #expect(brokerSaw(bridge, "pw-ok"), "Mosquitto logs the clients it sees")
            #expect(!brokerSaw(bridge, "pw-bad"), "the broker never saw a refused client")
            #expect(!bridge.logs.collected.joined().contains(token.split(separator: ".")[2]))
        }
    }

    @Test("client_id_pattern: user A may use mp-A-*, not B's client id (CONNACK 5, close 1008)")
    func clientIDPattern() async throws {
        try await Self.withAuth(RouteAuthConfiguration(sources: [.mqttPassword], clientIDPattern: "mp-{sub}-*")) { bridge, keys in
            let token = try keys.issuer.token(sub: "A")
            let (own, connack) = try await Self.session(bridge, clientID: "mp-A-phone", password: token)
            #expect(connack == Self.connackAccepted)
            try await own.close()
            let (other, refused) = try await Self.session(bridge, clientID: "mp-B-phone", password: token)
            #expect(refused == [0x20, 0x02, 0x00, 0x05])
            #expect(try await other.expectClose().reason == "not authorized: client id not allowed")
        }
    }

    // MARK: Per-user topics

    @Test("User A reads push/user/A/#, and may not subscribe to B's, +, push/# or #, nor publish outside up/A/+")
    func perUserTopics() async throws {
        let policy = TopicPolicyConfiguration(publish: ["up/{sub}/+"], subscribe: ["push/user/{sub}/#"])
        try await Self.withAuth(RouteAuthConfiguration(sources: [.mqttPassword]), topicPolicy: policy) { bridge, keys in
            let token = try keys.issuer.token(sub: "A")
            let watcher = try await bridge.directClient(clientID: "backend")
            try await watcher.send(MQTTTestPackets.subscribe("up/#", packetID: 1))
            _ = try await watcher.receivePacket()

            let (a, connack) = try await Self.session(bridge, clientID: "user-a", password: token)
            #expect(connack == Self.connackAccepted)
            try await a.sendBinary(MQTTTestPackets.subscribe("push/user/A/#", packetID: 2))
            #expect(try await a.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x02, 0x00])
            let push = MQTTTestPackets.publish("push/user/A/inbox", payload: Array("hello A".utf8))
            try await watcher.send(push)
            #expect(try await a.receiveBinaryMessage() == push)
            let up = MQTTTestPackets.publish("up/A/temperature", payload: [21])
            try await a.sendBinary(up)
            #expect(try await watcher.receivePacket() == up)
            try await a.close()

            for (index, filter) in ["push/user/B/#", "push/user/+/#", "push/#", "#"].enumerated() {
                let (client, _) = try await Self.session(bridge, clientID: "user-a-\(index)", password: token)
                try await client.sendBinary(MQTTTestPackets.subscribe(filter, packetID: 3))
                let close = try await client.expectClose()
                #expect(close.code == 1008, "\(filter)")
            }
            let (v5, _) = try await Self.session(bridge, clientID: "user-a-v5", password: token, version: .v5)
            try await v5.sendBinary(MQTTTestPackets.publish("up/B/temperature", payload: [1], version: .v5))
            #expect(try await v5.receiveBinaryMessage() == [0xE0, 0x02, 0x87, 0x00])
            #expect(try await v5.expectClose().code == 1008)
            await watcher.close()
        }
    }

    // MARK: Keys and expiry

    @Test("Key rotation through a JWKS file: a session open before the reload stays, new tokens need the new kid")
    func jwksRotation() async throws {
        let next = TestTokenIssuer(kid: "k2")
        try await Self.withAuth(
            RouteAuthConfiguration(sources: [.mqttPassword]), keyFile: "jwks.json",
            prepare: { keys in
                try keys.write("jwks.json", TestTokenIssuer.jwks([keys.issuer]))
            }
        ) { bridge, keys in
            let old = try keys.issuer.token(sub: "A")
            let (before, connack) = try await Self.session(bridge, clientID: "rot-before", password: old)
            #expect(connack == Self.connackAccepted)

            try keys.write("jwks.json", TestTokenIssuer.jwks([next]))
            let report = await bridge.server.reloadAuthKeys()
            #expect(report?.isSuccess == true, "\(report?.description ?? "-")")

            // The open session is untouched.
            try await before.sendBinary([0xC0, 0x00])
            #expect(try await before.receiveBinaryMessage() == [0xD0, 0x00])
            let (stale, staleConnack) = try await Self.session(bridge, clientID: "rot-stale", password: old)
            #expect(staleConnack == [0x20, 0x02, 0x00, 0x05])
            #expect(try await stale.expectClose().reason == "not authorized: unknown key")
            let (after, afterConnack) = try await Self.session(bridge, clientID: "rot-after", password: try next.token(sub: "A"))
            #expect(afterConnack == Self.connackAccepted)

            // A broken file is refused and the keys in use stay.
            try keys.write("jwks.json", "{ not json")
            #expect(await bridge.server.reloadAuthKeys()?.isSuccess == false)
            let (still, stillConnack) = try await Self.session(bridge, clientID: "rot-still", password: try next.token(sub: "A"))
            #expect(stillConnack == Self.connackAccepted)
            for client in [before, after, still] { try await client.close() }
        }
    }

    @Test("kill -HUP on the real binary reloads the JWKS file: the open session stays, the old kid is refused, the new one accepted")
    func sighupReloadsKeys() async throws {
        let keys = try Keys()
        defer { keys.remove() }
        let next = TestTokenIssuer(kid: "k2")
        let jwks = try keys.write("jwks.json", TestTokenIssuer.jwks([keys.issuer]))
        let broker = try await MosquittoProcess.start()
        let output = keys.directory + "/bridge.log"
        let configuration = try ExecutableTests.writeConfig(
            brokerPort: broker.port,
            extra: """
                auth:
                  jwt:
                    keys: [\(jwks)]
                routes:
                  miniprogram:
                    path: /wss
                    policy: miniprogram
                    auth:
                      sources: [mqtt_password]
                """)
        try await BridgeProcess.with(arguments: ["--config", configuration], broker: broker, outputPath: output) { bridge in
            func session(_ clientID: String, _ token: String) async throws -> (TestWebSocketClient, [UInt8]) {
                let (response, client) = try await TestWebSocketClient.connect(
                    host: "127.0.0.1", port: bridge.port, path: "/wss", tls: try BridgeHarness.tls, subprotocols: nil)
                guard response.status == 101, let client else { throw TestSupportError("expected 101, got \(response.status)") }
                try await client.sendBinary(MQTTTestPackets.connect(clientID: clientID, username: "u", password: token))
                return (client, try await client.receiveBinaryMessage())
            }
            let (open, connack) = try await session("hup-open", try keys.issuer.token(sub: "A"))
            #expect(connack == Self.connackAccepted)

            try keys.write("jwks.json", TestTokenIssuer.jwks([next]))
            bridge.process.send(SIGHUP)
            try await CertificateReloadTests.waitUntil("SIGHUP is handled") { bridge.log.contains("auth key reload finished") }
            #expect(bridge.log.contains("JWT keys reloaded"))
            try await open.sendBinary([0xC0, 0x00])
            #expect(try await open.receiveBinaryMessage() == [0xD0, 0x00], "the open session is untouched")
            let (_, stale) = try await session("hup-stale", try keys.issuer.token(sub: "A"))
            #expect(stale == [0x20, 0x02, 0x00, 0x05])
            let newToken = try next.token(sub: "A")
            let (fresh, accepted) = try await session("hup-new", newToken)
            #expect(accepted == Self.connackAccepted)
            #expect(bridge.process.isRunning)
            #expect(!bridge.log.contains(newToken.split(separator: ".")[2]), "no token in the log")

            bridge.process.send(SIGTERM)
            #expect(try await fresh.expectClose().code == 1001)
            #expect(await bridge.process.waitForExit(timeout: .seconds(10)) == 0)
        }
    }

    @Test("disconnect_on_expiry: the session ends at exp, MQTT 5 with DISCONNECT 0xA0, then close 1008")
    func expiry() async throws {
        let auth = RouteAuthConfiguration(sources: [.mqttPassword], disconnectOnExpiry: true)
        try await Self.withAuth(auth, leeway: .zero) { bridge, keys in
            let token = try keys.issuer.token(sub: "A", expiresIn: 2)
            let (client, connack) = try await Self.session(bridge, clientID: "exp", password: token, version: .v5)
            #expect(connack.first == 0x20 && connack[3] == 0)
            #expect(try await client.receiveBinaryMessage(timeout: .seconds(5)) == [0xE0, 0x02, 0xA0, 0x00])
            let close = try await client.expectClose()
            #expect(close.code == 1008 && close.reason == "token expired")
            let line = try await bridge.waitForAccessLine(containing: ["client_id=exp"])
            #expect(line.contains("reason=token expired") || line.contains("reason=\"token expired\""), "\(line)")
        }
    }

    // MARK: A real client

    @Test("mqtt.js (mini-program transport) with the token as its password gets user 42's push; a bad token: not authorized")
    func mqttJSPassword() async throws {
        let policy = TopicPolicyConfiguration(publish: ["up/{sub}/+"], subscribe: ["push/user/{sub}/#"])
        try await Self.withAuth(RouteAuthConfiguration(sources: [.header, .mqttPassword]), topicPolicy: policy) { bridge, keys in
            var options = try MQTTJSRoute.miniProgram.options(port: bridge.wssPort, version: 4, clientID: "mp-42-a")
            options.username = "42"  // MQTT 3.1.1 sends a password only with a user name
            options.password = try keys.issuer.token(sub: "42")
            options.subscribe = .init(filter: "push/user/42/#", qos: 1)
            options.expectMessages = 1
            let client = try MQTTJSScenario.start(options, outputDirectory: try ThirdPartyClients.temporaryDirectory("mqttjs-auth-ok"))
            #expect(try await client.waitFor("subscribed").granted == [1])
            let backend = try await BrokerPeer.connect(to: bridge.broker, clientID: "backend-42")
            try await backend.publish("push/user/42/inbox", "hello 42", qos: 1)
            #expect(try await client.waitFor("message").text == "hello 42")
            #expect(await client.waitForExit() == 0)
            await backend.close()

            options.clientId = "mp-42-b"
            options.password = "not-a-token"
            options.subscribe = nil
            options.expectMessages = nil
            let refused = try MQTTJSScenario.start(options, outputDirectory: try ThirdPartyClients.temporaryDirectory("mqttjs-auth-bad"))
            let error = try await refused.waitFor("client-error")
            #expect(error.errorCode == 5, "\(error.message ?? "-")")
            await refused.kill()
            let line = try await bridge.waitForAccessLine(containing: ["client_id=mp-42-b"])
            #expect(line.contains("auth=refused") && line.contains("close_code=1008"))
        }
    }

    // MARK: The auth callout

    @Test("A header token only the callout can judge: 101 once it allows, 401 when it denies, 503 when it does not answer")
    func calloutAtTheUpgrade() async throws {
        try await CalloutBackend.with(respond: { request in
            switch request["token"] as? String {
            case "opaque-slow": nil
            case "opaque-ok": CalloutBackend.Answer(body: #"{"allow": true, "sub": "wx-9"}"#)
            default: CalloutBackend.Answer(body: #"{"allow": false}"#)
            }
        }) { backend in
            let http = HTTPAuthConfiguration(url: backend.url, timeout: .milliseconds(500), cacheTTL: .zero)
            try await Self.withAuth(RouteAuthConfiguration(sources: [.header]), http: http, jwt: false) { bridge, _ in
                let (client, connack) = try await Self.session(bridge, headers: [("Authorization", "Bearer opaque-ok")], clientID: "up-ok")
                #expect(connack == Self.connackAccepted)
                #expect(backend.requests.first?["stage"] as? String == "upgrade")
                try await client.close()
                let line = try await bridge.waitForAccessLine(containing: ["client_id=up-ok"])
                #expect(line.contains("auth=callout") && line.contains("sub=wx-9"))

                let (denied, challenge) = try await Self.refusal(bridge, headers: [("Authorization", "Bearer opaque-bad")])
                #expect(denied == 401)
                #expect(challenge == #"Bearer error="invalid_token", error_description="denied""#)
                let (slow, _) = try await Self.refusal(bridge, headers: [("Authorization", "Bearer opaque-slow")])
                #expect(slow == 503, "fail-closed: the backend did not answer in time")
                #expect(!bridge.logs.collected.joined().contains("opaque-"), "tokens are never logged")
            }
        }
    }

    @Test("The callout allows, denies, caches (no second request within the TTL) and fails closed when it times out")
    func callout() async throws {
        try await CalloutBackend.with(respond: { request in
            switch request["password"] as? String {
            case "slow": nil
            case "session-ok": CalloutBackend.Answer(body: #"{"allow": true, "sub": "wx-1", "subscribe": ["push/user/wx-1/#"]}"#)
            default: CalloutBackend.Answer(body: #"{"allow": false}"#)
            }
        }) { backend in
            let http = HTTPAuthConfiguration(url: backend.url, timeout: .milliseconds(500), cacheTTL: .seconds(60), sendPassword: true)
            try await Self.withAuth(RouteAuthConfiguration(sources: [.mqttPassword]), http: http, jwt: false) { bridge, _ in
                let (allowed, connack) = try await Self.session(bridge, clientID: "wx-a", password: "session-ok")
                #expect(connack == Self.connackAccepted)
                #expect(backend.requests.count == 1)
                // The callout's list is the session's policy.
                try await allowed.sendBinary(MQTTTestPackets.subscribe("push/user/wx-2/#", packetID: 1))
                #expect(try await allowed.expectClose().code == 1008)

                let (again, againConnack) = try await Self.session(bridge, clientID: "wx-a", password: "session-ok")
                #expect(againConnack == Self.connackAccepted)
                #expect(backend.requests.count == 1, "answered from the cache")
                try await again.close()

                let (denied, deniedConnack) = try await Self.session(bridge, clientID: "wx-b", password: "session-bad")
                #expect(deniedConnack == [0x20, 0x02, 0x00, 0x05])
                #expect(try await denied.expectClose().reason == "not authorized: denied")

                let (slow, slowConnack) = try await Self.session(bridge, clientID: "wx-c", password: "slow")
                #expect(slowConnack == [0x20, 0x02, 0x00, 0x03], "fail-closed: server unavailable")
                #expect(try await slow.expectClose().code == 1008)
                #expect(!bridge.logs.collected.joined().contains("session-ok"), "the password is never logged")
            }
        }
    }
}

/// Whether the broker's log mentions `clientID` (Mosquitto logs every client that connects).
private func brokerSaw(_ bridge: BridgeHarness, _ clientID: String) -> Bool {
    bridge.broker.log().contains(clientID)
}
