import Crypto
import Foundation
import MQTTWire
import NIOCore
import NIOEmbedded
import Testing

@testable import EdgeAuth

/// The two decisions the bridge asks for, with JWT verification: at the upgrade, and at the CONNECT.
@Suite("Edge authenticator: upgrade and CONNECT")
struct AuthenticatorTests {
    let keys = TestKeys()

    func withAuthenticator(
        _ routes: [RouteAuthSettings], _ body: (EdgeAuthenticator, EmbeddedEventLoop) async throws -> Void
    ) async throws {
        try await KeyDirectory.with { directory in
            let jwt = JWTVerifierSettings(keyFiles: [try directory.write("ec.pem", keys.ecPEM)])
            let authenticator = try await EdgeAuthenticator(jwt: jwt, callout: nil, routes: routes, logger: Quiet.logger)
            try await body(authenticator, EmbeddedEventLoop())
            try await authenticator.shutdown()
        }
    }

    static func connect(
        clientID: String = "mp-42-phone", username: String? = "jwt", password: String? = nil, version: MQTTProtocolVersion = .v3_1_1
    ) throws
        -> MQTTConnectInfo
    {
        var buffer = ByteBuffer()
        MQTTPacket.writeConnect(version: version, clientID: clientID, username: username, password: password, to: &buffer)
        return try MQTTConnectInfo(parsing: buffer)
    }

    static let policy: TopicPolicyTemplate = {
        do {
            return try TopicPolicyTemplate(publish: ["up/{sub}/+"], subscribe: ["push/user/{sub}/#"])
        } catch {
            fatalError("\(error)")
        }
    }()

    func upgrade(
        _ authenticator: EdgeAuthenticator, _ loop: EmbeddedEventLoop, route: String = "mp", uri: String = "/wss",
        headers: [(String, String)] = []
    )
        async throws -> UpgradeAuthOutcome
    {
        let request = UpgradeRequest(method: "GET", uri: uri, headers: headers.map { (name: $0.0, value: $0.1) })
        return try await authenticator.authenticateUpgrade(route: route, request: request, clientAddress: "192.0.2.1", on: loop).get()
    }

    func connect(
        _ authenticator: EdgeAuthenticator, _ loop: EmbeddedEventLoop, after outcome: UpgradeAuthOutcome, _ info: MQTTConnectInfo,
        route: String = "mp"
    )
        async throws -> ConnectAuthOutcome
    {
        try await authenticator.authorizeConnect(route: route, after: outcome, connect: info, clientAddress: "192.0.2.1", on: loop).get()
    }

    @Test("Header token: authenticated before the 101; the CONNECT gets the user's own topics and client id check")
    func headerToken() async throws {
        let route = RouteAuthSettings(
            route: "mp", sources: [.header], clientIDPattern: try ClientIDPattern("mp-{sub}-*"), topicPolicy: Self.policy)
        try await withAuthenticator([route]) { authenticator, loop in
            let token = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(sub: "42"))
            let outcome = try await upgrade(authenticator, loop, headers: [("Authorization", "Bearer \(token)")])
            guard case .authenticated(let identity) = outcome else {
                Issue.record("not authenticated: \(outcome)")
                return
            }
            #expect(identity.subject == "42")
            guard case .accepted(let session) = try await connect(authenticator, loop, after: outcome, try Self.connect()) else {
                Issue.record("CONNECT refused")
                return
            }
            #expect(session.topics == TopicGrant(publish: ["up/42/+"], subscribe: ["push/user/42/#"]))
            #expect(session.topicsArePerSession)
            #expect(session.identity?.subject == "42" && session.identity?.clientID == "mp-42-phone" && session.identity?.username == "jwt")
            #expect(session.disconnectAt == nil)
            // Another user's client id is refused at the CONNECT.
            guard
                case .refused(let failure) = try await connect(
                    authenticator, loop, after: outcome, try Self.connect(clientID: "mp-7-phone"))
            else {
                Issue.record("someone else's client id was accepted")
                return
            }
            #expect(failure.kind == .clientIDNotAllowed)
        }
    }

    @Test("No token, no password source: 401 before the 101 with a WWW-Authenticate naming the reason")
    func missingTokenIsRefusedAtUpgrade() async throws {
        try await withAuthenticator([RouteAuthSettings(route: "mp", sources: [.header, .query])]) { authenticator, loop in
            guard case .refused(let missing) = try await upgrade(authenticator, loop) else {
                Issue.record("a request without a token was let in")
                return
            }
            #expect(missing.kind == .missing)
            #expect(missing.wwwAuthenticate == #"Bearer error_description="no token""#)

            let expired = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(expiresIn: -3600))
            guard case .refused(let failure) = try await upgrade(authenticator, loop, uri: "/wss?token=\(expired)") else {
                Issue.record("an expired token was let in")
                return
            }
            #expect(failure.wwwAuthenticate == #"Bearer error="invalid_token", error_description="token expired""#)
            #expect(!failure.isServiceUnavailable)
        }
    }

    @Test("Password source: the decision waits for the CONNECT; a bad request token is reported if the password has none")
    func passwordSource() async throws {
        try await withAuthenticator([RouteAuthSettings(route: "mp", topicPolicy: Self.policy)]) { authenticator, loop in
            let pending = try await upgrade(authenticator, loop)
            guard case .awaitingConnect = pending else {
                Issue.record("expected the decision to wait: \(pending)")
                return
            }
            let token = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(sub: "7"))
            guard
                case .accepted(let session) = try await connect(
                    authenticator, loop, after: pending, try Self.connect(password: token, version: .v5))
            else {
                Issue.record("a valid password token was refused")
                return
            }
            #expect(session.identity?.source == .mqttPassword)
            #expect(session.topics?.subscribe == ["push/user/7/#"])

            let forged = try TestKeys.token(.es256(keys.otherEC), kid: "ec", claims: TestKeys.claims())
            guard
                case .refused(let badPassword) = try await connect(authenticator, loop, after: pending, try Self.connect(password: forged))
            else {
                Issue.record("a forged password token was accepted")
                return
            }
            #expect(badPassword.kind == .badSignature)
            guard case .refused(let none) = try await connect(authenticator, loop, after: pending, try Self.connect(username: nil)) else {
                Issue.record("a CONNECT without a token was accepted")
                return
            }
            #expect(none.kind == .missing)

            let expired = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: TestKeys.claims(expiresIn: -3600))
            let badRequest = try await upgrade(authenticator, loop, uri: "/wss?token=\(expired)")
            guard case .refused(let reported) = try await connect(authenticator, loop, after: badRequest, try Self.connect(username: nil))
            else {
                Issue.record("expected a refusal")
                return
            }
            #expect(reported.kind == .expired)
            // A valid request token makes the password the broker's business: it is not looked at.
            let valid = try await upgrade(authenticator, loop, uri: "/wss?token=\(token)")
            guard case .accepted = try await connect(authenticator, loop, after: valid, try Self.connect(password: "broker-password"))
            else {
                Issue.record("the broker password was judged as a token")
                return
            }
        }
    }

    @Test("required: false lets a session without a token in anonymously, with only the entries that need no identity")
    func optionalAuth() async throws {
        let policy = try TopicPolicyTemplate(publish: [], subscribe: ["push/broadcast", "push/user/{sub}/#"])
        try await withAuthenticator([RouteAuthSettings(route: "mp", required: false, sources: [.query], topicPolicy: policy)]) {
            authenticator, loop in
            let outcome = try await upgrade(authenticator, loop)
            guard case .anonymous = outcome,
                case .accepted(let session) = try await connect(authenticator, loop, after: outcome, try Self.connect())
            else {
                Issue.record("an anonymous session was refused")
                return
            }
            #expect(session.identity == nil)
            #expect(session.topics == TopicGrant(publish: [], subscribe: ["push/broadcast"]))
            // A token that is present is still checked.
            let forged = try TestKeys.token(.es256(keys.otherEC), kid: "ec", claims: TestKeys.claims())
            guard case .refused = try await upgrade(authenticator, loop, uri: "/wss?token=\(forged)") else {
                Issue.record("a forged token was let in on an optional route")
                return
            }
        }
    }

    @Test("disconnect_on_expiry: the session ends at exp plus the leeway")
    func disconnectOnExpiry() async throws {
        try await withAuthenticator([RouteAuthSettings(route: "mp", sources: [.query], disconnectOnExpiry: true)]) { authenticator, loop in
            let claims = TestKeys.claims(expiresIn: 120)
            let token = try TestKeys.token(.es256(keys.ec), kid: "ec", claims: claims)
            let outcome = try await upgrade(authenticator, loop, uri: "/wss?token=\(token)")
            guard case .accepted(let session) = try await connect(authenticator, loop, after: outcome, try Self.connect()),
                case .integer(let exp) = claims["exp"]
            else {
                Issue.record("refused")
                return
            }
            #expect(session.disconnectAt == Date(timeIntervalSince1970: TimeInterval(exp) + 30))
            let left = session.timeUntilDisconnect(now: Date(timeIntervalSince1970: TimeInterval(exp)))
            #expect(left == .seconds(30))
        }
    }

    @Test("A route without settings is refused (a wiring mistake must not open it); settings without a checker fail at start")
    func misconfiguration() async throws {
        try await withAuthenticator([]) { authenticator, loop in
            guard case .refused(let failure) = try await upgrade(authenticator, loop, route: "unknown") else {
                Issue.record("an unknown route was let in")
                return
            }
            #expect(failure.isServiceUnavailable)
        }
        await #expect(throws: EdgeAuthError(key: "routes.mp.auth", "needs auth.jwt or auth.http to check tokens with")) {
            _ = try await EdgeAuthenticator(jwt: nil, callout: nil, routes: [RouteAuthSettings(route: "mp")], logger: Quiet.logger)
        }
    }

    @Test("loggableURI removes the route's token parameter")
    func loggableURI() async throws {
        try await withAuthenticator([RouteAuthSettings(route: "mp", queryParameter: "jwt")]) { authenticator, _ in
            #expect(authenticator.loggableURI("/wss?jwt=eyJ.a.b&v=1", route: "mp") == "/wss?v=1")
            #expect(authenticator.loggableURI("/mqtt?token=eyJ.a.b", route: "browser") == "/mqtt")
        }
    }
}
