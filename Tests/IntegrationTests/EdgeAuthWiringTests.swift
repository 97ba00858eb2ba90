import BridgeConfig
import EdgeAuth
import Testing

@testable import BridgeServer

/// The server's side of edge authentication: configuration → EdgeAuth settings, a session's topic grant → the
/// libmosquitto-backed allow list, building the authenticator, and the guard that keeps `auth` from running unenforced.
@Suite("Edge authentication wiring")
struct EdgeAuthWiringTests {
    static func configuration() -> BridgeConfiguration {
        var configuration = BridgeConfiguration()
        configuration.auth = AuthConfiguration(
            jwt: JWTAuthConfiguration(keys: ["/keys/a.pem"], issuer: "iss", audience: ["aud"], leeway: .seconds(5)),
            http: HTTPAuthConfiguration(url: "http://127.0.0.1:1/auth", failOpen: true, headers: ["x-a"]))
        configuration.routes[1].auth = RouteAuthConfiguration(
            sources: [.cookie, .mqttPassword], cookie: "jwt", clientIDPattern: "mp-{sub}-*")
        configuration.routes[1].topicPolicy = TopicPolicyConfiguration(publish: ["up/{sub}/+"], subscribe: ["push/user/{sub}/#"])
        return configuration
    }

    @Test("The configuration maps to EdgeAuth's settings, route by route")
    func mapping() throws {
        let settings = try EdgeAuthSettings(Self.configuration())
        #expect(settings.jwt == JWTVerifierSettings(keyFiles: ["/keys/a.pem"], issuer: "iss", audiences: ["aud"], leeway: .seconds(5)))
        #expect(settings.callout == AuthCalloutSettings(url: "http://127.0.0.1:1/auth", failOpen: true, headers: ["x-a"]))
        #expect(settings.routes.map(\.route) == ["miniprogram"])
        #expect(settings.routes.first?.sources == [.cookie, .mqttPassword])
        #expect(settings.routes.first?.clientIDPattern == (try ClientIDPattern("mp-{sub}-*")))
        #expect(settings.routes.first?.topicPolicy?.isPerSession == true)
    }

    @Test("A template or pattern that does not parse is a start-up error naming the key")
    func templateErrorsNameTheKey() {
        var configuration = Self.configuration()
        configuration.routes[1].topicPolicy?.subscribe = ["push/#", "push/{user}/#"]
        #expect(throws: StartupError.self) { try EdgeAuthSettings(configuration) }
        do {
            _ = try EdgeAuthSettings(configuration)
        } catch {
            #expect(
                error.description.hasPrefix("routes.miniprogram.topic_policy.subscribe[1]: 'push/{user}/#': unknown placeholder {user}"))
        }
        configuration = Self.configuration()
        configuration.routes[1].auth?.clientIDPattern = "mp-{client_id}"
        do {
            _ = try EdgeAuthSettings(configuration)
            Issue.record("a pattern with {client_id} was accepted")
        } catch {
            #expect(error.description.hasPrefix("routes.miniprogram.auth.client_id_pattern: "))
        }
    }

    @Test("A session's grant becomes a TopicAllowList: user A gets push/user/A/#, and nothing wider or anyone else's")
    func grantMatchesWithLibmosquitto() throws {
        let allowList = try TopicAllowList(grant: TopicGrant(publish: ["up/A/+"], subscribe: ["push/user/A/#"]))
        #expect(allowList.maySubscribe(to: "push/user/A/#"))
        #expect(allowList.maySubscribe(to: "push/user/A/inbox"))
        for filter in ["push/user/B/#", "push/user/+/#", "push/#", "#", "+/user/A/#"] {
            #expect(!allowList.maySubscribe(to: filter), "\(filter)")
        }
        #expect(allowList.mayPublish(to: "up/A/temperature"))
        for topic in ["up/B/temperature", "up/A/x/y", "up/A"] {
            #expect(!allowList.mayPublish(to: topic), "\(topic)")
        }
        #expect(throws: TopicAllowList.InvalidFilter.self) { try TopicAllowList(grant: TopicGrant(publish: nil, subscribe: ["push/#/x"])) }
    }

    @Test("A route with auth does not start without the edge authenticator: it would let every client in")
    func authWithoutAuthenticatorRefusesToStart() {
        do {
            _ = try BridgeServer(configuration: Self.configuration())
            Issue.record("a bridge with routes.miniprogram.auth started without enforcing it")
        } catch {
            #expect(error.description.hasPrefix("routes.miniprogram.auth: the bridge was started without its edge authenticator"))
        }
    }

    @Test("A key file that cannot be read is a start-up error naming auth.jwt.keys")
    func badKeyFileIsAStartupError() async {
        do {
            _ = try await BridgeServer.makeEdgeAuthenticator(for: Self.configuration())
            Issue.record("started with a missing key file")
        } catch {
            #expect(error.description.contains("auth.jwt.keys"))
        }
        await #expect(throws: StartupError.self) { try await BridgeServer.validateEdgeAuth(Self.configuration()) }
    }

    @Test("Without a route with auth there is no authenticator, and nothing to reload")
    func noAuthNoAuthenticator() async throws {
        var configuration = Self.configuration()
        configuration.routes[1].auth = nil
        #expect(try await BridgeServer.makeEdgeAuthenticator(for: configuration) == nil)
    }
}
