import BridgeTestSupport
import EdgeAuth
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import BridgeRelay

/// Edge authentication at the CONNECT (`ConnectAuthHandler` in front of the session), on an embedded loop with a
/// controlled clock: accepted CONNECTs reach the broker unchanged, refused ones get CONNACK "not authorized" and close
/// 1008 without a dial, a session's grant is its topic policy, and `exp` ends the session.
@Suite struct EdgeAuthSessionTests {
    /// A key file for the issuer, and the authenticator of the `miniprogram` route over it.
    static func authenticator(
        _ issuer: TestTokenIssuer, in directory: String, route: RouteAuthSettings
    ) async throws -> EdgeAuthenticator {
        let path = directory + "/\(issuer.kid).pem"  // a PEM key's kid is its file name
        try Data(issuer.publicKeyPEM.utf8).write(to: URL(fileURLWithPath: path))
        let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        return try await EdgeAuthenticator(
            jwt: JWTVerifierSettings(keyFiles: [path], leeway: .zero), callout: nil, routes: [route], logger: quiet)
    }

    static func withDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edge-auth-session-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    /// A harness whose `miniprogram` route authenticates the CONNECT's password; `now` is the clock expiry is measured on.
    static func harness(
        _ authenticator: EdgeAuthenticator, upgrade: UpgradeAuthOutcome, now: Date = Date()
    ) throws -> SessionHarness {
        let auth = RouteEdgeAuth(authenticator: authenticator, route: SessionHarness.route) { grant in PrefixGrant(grant) }
        return try SessionHarness(edgeAuth: (auth, upgrade, { now }))
    }

    /// What the front end hands over for a request with these headers (no token: the decision waits for the CONNECT).
    static func upgrade(
        _ authenticator: EdgeAuthenticator, headers: [(name: String, value: String)] = []
    ) async throws -> UpgradeAuthOutcome {
        let request = UpgradeRequest(method: "GET", uri: "/mp", headers: [(name: "Host", value: "bridge")] + headers)
        return try await authenticator.authenticateUpgrade(
            route: SessionHarness.route, request: request, clientAddress: "x", on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
    }

    static let passwordRoute = RouteAuthSettings(route: SessionHarness.route, sources: [.mqttPassword])

    @Test("A valid token in the password: the broker gets the client's own CONNECT, the access line auth=jwt sub=…")
    func passwordTokenAccepted() async throws {
        let issuer = TestTokenIssuer()
        let token = try issuer.token(sub: "user-a")
        try await Self.withDirectory { directory in
            let authenticator = try await Self.authenticator(issuer, in: directory, route: Self.passwordRoute)
            let harness = try Self.harness(authenticator, upgrade: try await Self.upgrade(authenticator))
            defer { harness.finish() }
            let connect = MQTTSample.connect(password: token)
            try harness.send(.binary(connect))
            #expect(harness.connector.dials == 1)
            #expect(try harness.bytesToBroker() == connect, "the CONNECT, unchanged, password included")
            try harness.brokerSends(MQTTSample.connackAccepted)
            #expect(try harness.framesToClient() == [.binary(MQTTSample.connackAccepted)])
            harness.finish()
            #expect(harness.accessLine?.metadata["auth"] == "jwt")
            #expect(harness.accessLine?.metadata["sub"] == "user-a")
            #expect(
                harness.metrics.value(
                    "mqtt_ws_bridge_auth_total", [("route", "miniprogram"), ("stage", "connect"), ("result", "accepted")]) == 1)
        }
    }

    @Test(
        "A bad or missing token: CONNACK not authorized in the client's version, close 1008, the broker never dialled",
        arguments: [
            (level: UInt8(4), password: "not-a-token" as String?, connack: [0x20, 0x02, 0x00, 0x05] as [UInt8], label: "malformed"),
            (level: UInt8(5), password: "not-a-token", connack: [0x20, 0x03, 0x00, 0x87, 0x00], label: "malformed"),
            (level: UInt8(4), password: nil, connack: [0x20, 0x02, 0x00, 0x05], label: "missing"),
            (level: UInt8(3), password: "", connack: [0x20, 0x02, 0x00, 0x05], label: "missing"),
        ])
    func refusedAtConnect(level: UInt8, password: String?, connack: [UInt8], label: String) async throws {
        let issuer = TestTokenIssuer()
        try await Self.withDirectory { directory in
            let authenticator = try await Self.authenticator(issuer, in: directory, route: Self.passwordRoute)
            let harness = try Self.harness(authenticator, upgrade: try await Self.upgrade(authenticator))
            defer { harness.finish() }
            try harness.send(.binary(MQTTSample.connect(level: level, password: password)), .binary(MQTTSample.subscribe()))
            let frames = try harness.framesToClient()
            #expect(frames.first == .binary(connack), "\(frames)")
            #expect(frames.last?.closeCode == 1008, "\(frames)")
            #expect(frames.last?.closeReason?.hasPrefix("not authorized: ") == true)
            #expect(harness.connector.dials == 0, "no broker for a refused client")
            try harness.send(.close(1008))
            #expect(!harness.clientIsOpen)
            let line = harness.accessLine?.metadata ?? [:]
            #expect(line["auth"] == "refused")
            #expect(line["close_code"] == "1008")
            #expect(line["closed_by"] == "bridge")
            #expect(line["client_id"] == "wx-client-1", "the refused CONNECT is still named")
            #expect(line["broker"] == "-")
            #expect(
                harness.metrics.value(
                    "mqtt_ws_bridge_auth_refusals_total", [("route", "miniprogram"), ("stage", "connect"), ("reason", label)]) == 1)
        }
    }

    @Test("An expired token in an MQTT 5 CONNECT: CONNACK 0x87 and the reason in the close frame")
    func expiredTokenV5() async throws {
        let issuer = TestTokenIssuer()
        let token = try issuer.token(sub: "user-a", expiresIn: -60)
        try await Self.withDirectory { directory in
            let authenticator = try await Self.authenticator(issuer, in: directory, route: Self.passwordRoute)
            let harness = try Self.harness(authenticator, upgrade: try await Self.upgrade(authenticator))
            defer { harness.finish() }
            try harness.send(.binary(MQTTSample.connect(level: 5, password: token)))
            let frames = try harness.framesToClient()
            #expect(
                frames == [
                    .binary([0x20, 0x03, 0x00, 0x87, 0x00]),
                    ServerFrame(fin: true, opcode: 0x8, payload: [0x03, 0xF0] + Array("not authorized: token expired".utf8)),
                ])
            #expect(harness.connector.dials == 0)
        }
    }

    @Test("A token already verified at the upgrade: the CONNECT passes without a password")
    func upgradeTokenCarriesOver() async throws {
        let issuer = TestTokenIssuer()
        let token = try issuer.token(sub: "user-b")
        try await Self.withDirectory { directory in
            let route = RouteAuthSettings(route: SessionHarness.route, sources: [.header])
            let authenticator = try await Self.authenticator(issuer, in: directory, route: route)
            let outcome = try await Self.upgrade(authenticator, headers: [(name: "Authorization", value: "Bearer \(token)")])
            guard case .authenticated = outcome else {
                Issue.record("upgrade outcome: \(outcome)")
                return
            }
            let harness = try Self.harness(authenticator, upgrade: outcome)
            defer { harness.finish() }
            let connect = MQTTSample.connect(password: nil)
            try harness.send(.binary(connect))
            #expect(try harness.bytesToBroker() == connect)
            harness.finish()
            #expect(harness.accessLine?.metadata["sub"] == "user-b")
        }
    }

    @Test("The session's grant is its topic policy: user A may subscribe to push/user/A/#, not to B's (DISCONNECT 0x87, 1008)")
    func perSessionGrant() async throws {
        let issuer = TestTokenIssuer()
        let token = try issuer.token(sub: "A")
        try await Self.withDirectory { directory in
            var route = Self.passwordRoute
            route.topicPolicy = try TopicPolicyTemplate(publish: ["up/{sub}/+"], subscribe: ["push/user/{sub}/#"])
            let authenticator = try await Self.authenticator(issuer, in: directory, route: route)
            let harness = try Self.harness(authenticator, upgrade: try await Self.upgrade(authenticator))
            defer { harness.finish() }
            let connect = MQTTSample.connect(level: 5, password: token)
            let own = Self.subscribeV5(packetID: 1, filter: "push/user/A/#")
            try harness.send(.binary(connect), .binary(own))
            #expect(try harness.bytesToBroker() == connect + own, "the CONNECT and the allowed SUBSCRIBE")
            try harness.send(.binary(Self.subscribeV5(packetID: 2, filter: "push/user/B/#")))
            #expect(try harness.bytesToBroker().isEmpty, "B's topics never reach the broker")
            let frames = try harness.framesToClient()
            #expect(frames.first == .binary([0xE0, 0x02, 0x87, 0x00]), "\(frames)")
            #expect(frames.last?.closeCode == 1008)
        }
    }

    @Test("disconnect_on_expiry: at exp the session ends, MQTT 5 with DISCONNECT 0xA0 first, then close 1008")
    func expiryEndsTheSession() async throws {
        let issuer = TestTokenIssuer()
        let issued = Date()
        let token = try issuer.token(sub: "A", expiresIn: 60)
        try await Self.withDirectory { directory in
            var route = Self.passwordRoute
            route.disconnectOnExpiry = true
            let authenticator = try await Self.authenticator(issuer, in: directory, route: route)
            let harness = try Self.harness(authenticator, upgrade: try await Self.upgrade(authenticator), now: issued)
            defer { harness.finish() }
            try harness.send(.binary(MQTTSample.connect(level: 5, password: token)))
            try harness.brokerSends([0x20, 0x03, 0x00, 0x00, 0x00])
            _ = try harness.framesToClient()
            harness.advance(by: .seconds(58))
            #expect(try harness.framesToClient().isEmpty, "the token is still valid")
            harness.advance(by: .seconds(3))
            let frames = try harness.framesToClient()
            #expect(
                frames == [
                    .binary([0xE0, 0x02, 0xA0, 0x00]),
                    ServerFrame(fin: true, opcode: 0x8, payload: [0x03, 0xF0] + Array("token expired".utf8)),
                ])
            try harness.send(.close(1008))
            #expect(harness.accessLine?.metadata["reason"] == "token expired")
            #expect(
                harness.metrics.value("mqtt_ws_bridge_auth_total", [("route", "miniprogram"), ("stage", "session"), ("result", "expired")])
                    == 1)
        }
    }

    @Test("A first packet that is not a CONNECT goes to the session, which refuses it as usual: no dial")
    func notAConnect() async throws {
        let issuer = TestTokenIssuer()
        try await Self.withDirectory { directory in
            let authenticator = try await Self.authenticator(issuer, in: directory, route: Self.passwordRoute)
            let harness = try Self.harness(authenticator, upgrade: try await Self.upgrade(authenticator))
            defer { harness.finish() }
            try harness.send(.binary(MQTTSample.pingreq))
            #expect(try harness.framesToClient().last?.closeCode == 1002)
            #expect(harness.connector.dials == 0)
        }
    }

    /// An MQTT 5 SUBSCRIBE (empty properties) for one filter, QoS 0.
    static func subscribeV5(packetID: UInt16, filter: String) -> [UInt8] {
        HandEncodedMQTT.packet(0x82, [UInt8(packetID >> 8), UInt8(packetID & 0xFF), 0x00] + HandEncodedMQTT.string(filter) + [0x00])
    }
}

/// The grant's lists as literal filters, or as prefixes for `…/#`: enough to tell A's topics from B's without
/// libmosquitto (the server's `TopicAllowList` is tested with it in the integration tests).
private struct PrefixGrant: TopicAuthorizer {
    let grant: TopicGrant

    init(_ grant: TopicGrant) {
        self.grant = grant
    }

    func mayPublish(to topic: String) -> Bool {
        self.grant.publish.map { $0.contains { Self.covers($0, topic) } } ?? true
    }

    func maySubscribe(to filter: String) -> Bool {
        self.grant.subscribe.map { $0.contains { Self.covers($0, filter) } } ?? true
    }

    private static func covers(_ allowed: String, _ value: String) -> Bool {
        if allowed == value { return true }
        guard allowed.hasSuffix("/#"), !value.contains("+") else { return false }
        return value.hasPrefix(String(allowed.dropLast()))
    }
}
