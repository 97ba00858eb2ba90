import BridgeTestSupport
import Foundation
import MQTTWire
import NIOCore
import NIOPosix
import Testing

@testable import EdgeAuth

/// The auth callout against a real HTTP server on an ephemeral loopback port.
@Suite("Auth callout", .timeLimit(.minutes(1)))
struct CalloutTests {
    /// An authenticator asking `url`, shut down (its HTTP client closed) however `body` ends.
    static func withAuthenticator(
        url: String, _ configure: (inout AuthCalloutSettings) -> Void = { _ in }, routes: [RouteAuthSettings]? = nil,
        _ body: (EdgeAuthenticator) async throws -> Void
    ) async throws {
        var settings = AuthCalloutSettings(url: url, timeout: .milliseconds(500), headers: ["X-WX-OpenID"])
        configure(&settings)
        let authenticator = try await EdgeAuthenticator(
            jwt: nil, callout: settings, routes: routes ?? [RouteAuthSettings(route: "mp", sources: [.query])], logger: Quiet.logger)
        do {
            try await body(authenticator)
        } catch {
            try await authenticator.shutdown()
            throw error
        }
        try await authenticator.shutdown()
    }

    static func upgrade(
        _ authenticator: EdgeAuthenticator, token: String = "opaque-session-key", headers: [(String, String)] = []
    )
        async throws -> UpgradeAuthOutcome
    {
        let request = UpgradeRequest(
            method: "GET", uri: "/wss?token=\(token)", headers: headers.map { (name: $0.0, value: $0.1) } + [(name: "Cookie", value: "c=1")]
        )
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return try await authenticator.authenticateUpgrade(route: "mp", request: request, clientAddress: "198.51.100.9", on: loop).get()
    }

    @Test("Allow: the backend sees the attempt (route, address, allow-listed headers, token) and its sub and lists are used")
    func allow() async throws {
        let answer = CalloutBackend.Answer(body: #"{"allow": true, "sub": "wx-1", "subscribe": ["push/user/wx-1/#"]}"#)
        try await CalloutBackend.with(respond: { _ in answer }) { backend in
            try await Self.withAuthenticator(url: backend.url) { authenticator in
                let outcome = try await Self.upgrade(authenticator, headers: [("X-WX-OpenID", "o-123"), ("X-Other", "no")])
                guard case .authenticated(let identity) = outcome else {
                    Issue.record("not allowed: \(outcome)")
                    return
                }
                #expect(identity.method == .callout && identity.subject == "wx-1")
                let request = try #require(backend.requests.first)
                #expect(request["route"] as? String == "mp")
                #expect(request["stage"] as? String == "upgrade")
                #expect(request["client_address"] as? String == "198.51.100.9")
                #expect(request["headers"] as? [String: String] == ["x-wx-openid": "o-123"])
                #expect(request["token"] as? String == "opaque-session-key")
                #expect(request["password"] == nil)

                var buffer = ByteBuffer()
                MQTTPacket.writeConnect(version: .v5, clientID: "c1", to: &buffer)
                let connect = try MQTTConnectInfo(parsing: buffer)
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                guard
                    case .accepted(let session) = try await authenticator.authorizeConnect(
                        route: "mp", after: outcome, connect: connect, clientAddress: "198.51.100.9", on: loop
                    ).get()
                else {
                    Issue.record("CONNECT refused")
                    return
                }
                #expect(session.topics == TopicGrant(publish: nil, subscribe: ["push/user/wx-1/#"]))
                #expect(session.topicsArePerSession)
            }
        }
    }

    @Test("Deny, by answer or by 401/403, refuses with 'denied'")
    func deny() async throws {
        for answer in [
            CalloutBackend.Answer(body: #"{"allow": false}"#), .init(status: .forbidden, body: ""),
            .init(status: .unauthorized, body: "{}"),
        ] {
            try await CalloutBackend.with(respond: { _ in answer }) { backend in
                try await Self.withAuthenticator(url: backend.url) { authenticator in
                    guard case .refused(let failure) = try await Self.upgrade(authenticator) else {
                        Issue.record("allowed by \(answer.status)")
                        return
                    }
                    #expect(failure.kind == .denied)
                    #expect(failure.wwwAuthenticate == #"Bearer error="invalid_token", error_description="denied""#)
                }
            }
        }
    }

    @Test("A backend that does not answer within the timeout: refused (fail-closed), or let in with fail_open")
    func timeout() async throws {
        try await CalloutBackend.with(respond: { _ in nil }) { backend in
            try await Self.withAuthenticator(url: backend.url, { $0.timeout = .milliseconds(200) }) { closed in
                guard case .refused(let failure) = try await Self.upgrade(closed) else {
                    Issue.record("let in although the backend did not answer")
                    return
                }
                #expect(failure.kind == .unavailable && failure.isServiceUnavailable && failure.wwwAuthenticate == nil)
            }
            try await Self.withAuthenticator(
                url: backend.url,
                {
                    $0.timeout = .milliseconds(200)
                    $0.failOpen = true
                }
            ) { open in
                guard case .authenticated(let identity) = try await Self.upgrade(open) else {
                    Issue.record("fail_open did not let the attempt in")
                    return
                }
                #expect(identity.method == .failOpen && identity.subject == nil)
            }
        }
    }

    @Test("A backend that is down, answers 500 or nonsense: unavailable, and never cached")
    func unavailable() async throws {
        let port = try await CalloutBackend.with(respond: { _ in nil }) { $0.channel.localAddress?.port ?? 0 }
        try await Self.withAuthenticator(url: "http://127.0.0.1:\(port)/auth", { $0.timeout = .seconds(2) }) { down in
            guard case .refused(let failure) = try await Self.upgrade(down) else {
                Issue.record("let in although the backend is down")
                return
            }
            #expect(failure.kind == .unavailable)
        }

        for answer in [
            CalloutBackend.Answer(status: .internalServerError, body: ""), .init(body: "not json"),
            .init(body: #"{"allow": true, "sub": ""}"#),
        ] {
            try await CalloutBackend.with(respond: { _ in answer }) { backend in
                try await Self.withAuthenticator(url: backend.url) { authenticator in
                    for _ in 0..<2 {
                        guard case .refused(let failure) = try await Self.upgrade(authenticator) else {
                            Issue.record("let in by \(answer)")
                            return
                        }
                        #expect(failure.kind == .unavailable)
                    }
                    #expect(backend.requests.count == 2)
                }
            }
        }
    }

    @Test("Answers are cached for cache_ttl: the same attempt again makes no request, another attempt does")
    func cache() async throws {
        try await CalloutBackend.with(respond: { request in
            .init(body: request["token"] as? String == "bad" ? #"{"allow": false}"# : #"{"allow": true}"#)
        }) { backend in
            try await Self.withAuthenticator(url: backend.url) { authenticator in
                for _ in 0..<3 {
                    guard case .authenticated = try await Self.upgrade(authenticator) else {
                        Issue.record("refused")
                        return
                    }
                    guard case .refused = try await Self.upgrade(authenticator, token: "bad") else {
                        Issue.record("allowed")
                        return
                    }
                }
                #expect(backend.requests.count == 2)
                _ = try await Self.upgrade(authenticator, token: "another")
                #expect(backend.requests.count == 3)
            }
            try await Self.withAuthenticator(url: backend.url, { $0.cacheTTL = .zero }) { uncached in
                _ = try await Self.upgrade(uncached)
                _ = try await Self.upgrade(uncached)
            }
            #expect(backend.requests.count == 5)
        }
    }

    @Test("At the CONNECT: client id and user name are sent; the password only with send_password")
    func connectStage() async throws {
        try await CalloutBackend.with(respond: { _ in .init(body: #"{"allow": true, "sub": "s"}"#) }) { backend in
            for sendPassword in [false, true] {
                try await Self.withAuthenticator(
                    url: backend.url, { $0.sendPassword = sendPassword }, routes: [RouteAuthSettings(route: "mp", sources: [.mqttPassword])]
                ) { authenticator in
                    let pending = try await Self.upgrade(authenticator)
                    var buffer = ByteBuffer()
                    MQTTPacket.writeConnect(
                        version: .v3_1_1, clientID: "c-\(sendPassword)", username: "u", password: "wx-session-key", to: &buffer)
                    let connect = try MQTTConnectInfo(parsing: buffer)
                    let loop = MultiThreadedEventLoopGroup.singleton.next()
                    guard
                        case .accepted(let session) = try await authenticator.authorizeConnect(
                            route: "mp", after: pending, connect: connect, clientAddress: "198.51.100.9", on: loop
                        ).get()
                    else {
                        Issue.record("refused")
                        return
                    }
                    #expect(session.identity?.subject == "s")
                    let request = try #require(backend.requests.last)
                    #expect(request["stage"] as? String == "connect")
                    #expect(request["client_id"] as? String == "c-\(sendPassword)")
                    #expect(request["username"] as? String == "u")
                    #expect(request["password"] as? String == (sendPassword ? "wx-session-key" : nil))
                }
            }
        }
    }

    @Test("A bad URL is a start-up error naming auth.http.url")
    func badURL() async {
        await #expect(throws: EdgeAuthError(key: "auth.http.url", "'ftp://x' is not an http:// or https:// URL")) {
            _ = try await EdgeAuthenticator(
                jwt: nil, callout: AuthCalloutSettings(url: "ftp://x"), routes: [RouteAuthSettings(route: "mp")], logger: Quiet.logger)
        }
    }
}
