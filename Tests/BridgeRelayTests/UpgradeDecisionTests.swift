import BridgeConfig
import BridgeFrontEnd
import BridgeRelay
import BridgeServer
import NIOHTTP1
import Testing

/// `UpgradeDecision` with plain values: a request head and a route table in, a decision out; no channel.
@Suite struct UpgradeDecisionTests {
    static let routes = RouteTable(settings: FrontEndSettings(BridgeConfiguration(routes: RouteConfiguration.defaults)))

    /// A valid upgrade request to `target`, with `changes` applied to its headers.
    static func head(
        _ target: String = "/wss", method: HTTPMethod = .GET, version: HTTPVersion = .http1_1,
        _ changes: (inout HTTPHeaders) -> Void = { _ in }
    ) -> HTTPRequestHead {
        var headers = HTTPHeaders([
            ("Host", "bridge.example"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", FrontEndHarness.rfcKey), ("Sec-WebSocket-Version", "13"),
        ])
        changes(&headers)
        return HTTPRequestHead(version: version, method: method, uri: target, headers: headers)
    }

    /// The decision, and how often admission was consulted.
    static func decide(
        _ head: HTTPRequestHead, routes: RouteTable = routes, admission: ClientAdmission.Decision = .admitted(key: "198.51.100.4")
    ) -> (decision: UpgradeDecision, admissions: Int) {
        var admissions = 0
        let decision = UpgradeDecision(head, routes: routes) {
            admissions += 1
            return admission
        }
        return (decision, admissions)
    }

    static func refusal(_ head: HTTPRequestHead, routes: RouteTable = routes) -> UpgradeRefusal? {
        let (decision, admissions) = Self.decide(head, routes: routes)
        #expect(admissions == 0, "a refused request used up an allowance")
        guard case .refuse(let refusal) = decision else { return nil }
        return refusal
    }

    // MARK: Accepted

    @Test func miniprogramUpgradeWithoutAnOffer() throws {
        let (decision, admissions) = Self.decide(Self.head("/wss?token=1"))
        guard case .accept(let acceptance) = decision else {
            Issue.record("refused: \(decision)")
            return
        }
        #expect(admissions == 1)
        #expect(acceptance.route.settings.name == "miniprogram")
        #expect(acceptance.acceptValue == FrontEndHarness.rfcAccept)
        #expect(acceptance.subprotocol == SubprotocolOffer(offered: [], routeAnswer: nil, forwardsBrokerAnswer: false))
        #expect(acceptance.compression == nil)
        #expect(acceptance.admissionKey == "198.51.100.4")
        #expect(acceptance.host == "bridge.example")
    }

    @Test func passthroughUpgradeEchoesTheClientsSpelling() throws {
        let (decision, _) = Self.decide(Self.head("/mqtt") { $0.add(name: "Sec-WebSocket-Protocol", value: "foo, MQTT") })
        guard case .accept(let acceptance) = decision else {
            Issue.record("refused: \(decision)")
            return
        }
        #expect(acceptance.subprotocol == SubprotocolOffer(offered: ["foo", "MQTT"], routeAnswer: "MQTT", forwardsBrokerAnswer: true))
    }

    @Test func compressionIsAgreedOnlyWhereTheRouteHasIt() throws {
        var configuration = BridgeConfiguration(routes: RouteConfiguration.defaults)
        configuration.routes[1].compression = CompressionConfiguration(enabled: true)
        let routes = RouteTable(settings: FrontEndSettings(configuration))
        let head = Self.head("/wss") { $0.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate; client_max_window_bits") }
        guard case .accept(let compressed) = Self.decide(head, routes: routes).decision,
            case .accept(let plain) = Self.decide(head).decision
        else {
            Issue.record("refused")
            return
        }
        #expect(compressed.compression?.responseHeaderValue.hasPrefix("permessage-deflate") == true)
        #expect(plain.compression == nil)
    }

    @Test func theSameHeadGivesTheSameDecision() throws {
        let head = Self.head("/mqtt") { $0.add(name: "Sec-WebSocket-Protocol", value: "mqtt") }
        guard case .accept(let first) = Self.decide(head).decision, case .accept(let second) = Self.decide(head).decision else {
            Issue.record("refused")
            return
        }
        #expect(first.acceptValue == second.acceptValue && first.subprotocol == second.subprotocol)
    }

    // MARK: Refused, in the order of the checks

    @Test func unknownPathIs404BeforeAnythingElse() {
        let refusal = Self.refusal(Self.head("/nope", method: .POST))
        #expect(refusal == UpgradeRefusal(404, "no WebSocket endpoint at /nope", result: "not_found", route: nil))
    }

    @Test func methodIsCheckedBeforeTheUpgradeHeaders() {
        let head = Self.head("/wss", method: .POST) { $0.remove(name: "Upgrade") }
        #expect(
            Self.refusal(head)
                == UpgradeRefusal(
                    405, "method POST not allowed; a WebSocket handshake is a GET", result: "method_not_allowed", route: "miniprogram",
                    headers: [("Allow", "GET")]))
    }

    @Test func plainGetIs426WithTheHeadersToUpgrade() {
        let refusal = Self.refusal(Self.head("/wss") { $0.remove(name: "Upgrade") })
        #expect(refusal?.status == 426)
        #expect(refusal?.result == "upgrade_required")
        #expect(refusal?.headers.map(\.name) == ["Upgrade", "Connection", "Sec-WebSocket-Version"])
    }

    static let badRequests: [(String, HTTPRequestHead, String)] = [
        ("HTTP/1.0", head("/wss", version: .http1_0), "a WebSocket handshake needs HTTP/1.1"),
        (
            "no Connection: Upgrade", head("/wss") { $0.replaceOrAdd(name: "Connection", value: "keep-alive") },
            "the Connection header must include Upgrade"
        ),
        ("no version", head("/wss") { $0.remove(name: "Sec-WebSocket-Version") }, "missing Sec-WebSocket-Version"),
        ("two versions", head("/wss") { $0.add(name: "Sec-WebSocket-Version", value: "13") }, "missing Sec-WebSocket-Version"),
        ("no key", head("/wss") { $0.remove(name: "Sec-WebSocket-Key") }, "missing or invalid Sec-WebSocket-Key"),
        (
            "short key", head("/wss") { $0.replaceOrAdd(name: "Sec-WebSocket-Key", value: "c2hvcnQ=") },
            "missing or invalid Sec-WebSocket-Key"
        ),
        ("no Host", head("/wss") { $0.remove(name: "Host") }, "missing Host header"),
        ("a body", head("/wss") { $0.add(name: "Content-Length", value: "3") }, "a WebSocket handshake has no body"),
        ("chunked", head("/wss") { $0.add(name: "Transfer-Encoding", value: "chunked") }, "a WebSocket handshake has no body"),
    ]

    @Test(arguments: badRequests.indices)
    func badRequestIs400(_ index: Int) {
        let (name, head, reason) = Self.badRequests[index]
        #expect(Self.refusal(head) == UpgradeRefusal(400, reason, result: "bad_request", route: "miniprogram"), "\(name)")
    }

    @Test func wrongVersionIs426NamingTheOneWeSpeak() {
        let head = Self.head("/wss") { $0.replaceOrAdd(name: "Sec-WebSocket-Version", value: "8") }
        #expect(
            Self.refusal(head)
                == UpgradeRefusal(
                    426, "unsupported Sec-WebSocket-Version 8; this server speaks 13", result: "unsupported_version", route: "miniprogram",
                    headers: [("Sec-WebSocket-Version", "13")]))
    }

    @Test func originIsCheckedBeforeTheSubprotocol() {
        var configuration = BridgeConfiguration(routes: RouteConfiguration.defaults)
        configuration.routes[0].allowedOrigins = ["https://app.example"]
        let routes = RouteTable(settings: FrontEndSettings(configuration))
        // Both wrong: no offer on a passthrough route, and a foreign origin.
        let head = Self.head("/mqtt") { $0.add(name: "Origin", value: "https://evil.example") }
        let refusal = Self.refusal(head, routes: routes)
        #expect(refusal?.status == 403)
        #expect(refusal?.result == "origin_forbidden")
        #expect(refusal?.route == "browser")
    }

    @Test func passthroughWithoutAnOfferIs400() {
        let refusal = Self.refusal(Self.head("/mqtt"))
        #expect(refusal?.status == 400)
        #expect(refusal?.result == "subprotocol_refused")
    }

    // MARK: Admission, last

    @Test func tooManySessionsIs429AfterEveryOtherCheck() {
        let (decision, admissions) = Self.decide(Self.head("/wss"), admission: .tooManySessions(limit: 3))
        #expect(admissions == 1)
        guard case .refuse(let refusal) = decision else {
            Issue.record("accepted")
            return
        }
        #expect(
            refusal
                == UpgradeRefusal(
                    429, "too many sessions from your address (limit 3)", result: "too_many_sessions", route: "miniprogram",
                    headers: [("Retry-After", "10")]))
    }

    @Test func rateLimitedIs429WithRetryAfter() {
        guard case .refuse(let refusal) = Self.decide(Self.head("/wss"), admission: .rateLimited(retryAfter: 4)).decision else {
            Issue.record("accepted")
            return
        }
        #expect(refusal.status == 429)
        #expect(refusal.result == "rate_limited")
        #expect(refusal.headers == [UpgradeRefusal.HeaderField(name: "Retry-After", value: "4")])
    }
}
