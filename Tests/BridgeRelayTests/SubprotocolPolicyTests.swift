import BridgeConfig
import BridgeFrontEnd
import BridgeServer
import Testing

/// `RouteSettings.negotiateSubprotocol` for both policies and every kind of offer.
@Suite struct SubprotocolPolicyTests {
    enum Outcome: Equatable, Sendable {
        case accept(String?)
        case refuse
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var policy: SubprotocolPolicy
        var requireSubprotocol = true
        var offered: [String]
        var outcome: Outcome

        var testDescription: String {
            "\(self.policy)\(self.requireSubprotocol ? "" : " (require_subprotocol: false)") offered \(self.offered) → \(self.outcome)"
        }
    }

    static let rows: [Row] = [
        // miniprogram: WeChat sends nothing and must get nothing back.
        Row(policy: .miniprogram, offered: [], outcome: .accept(nil)),
        Row(policy: .miniprogram, offered: ["mqtt"], outcome: .accept("mqtt")),
        Row(policy: .miniprogram, offered: ["mqttv3.1"], outcome: .accept("mqttv3.1")),
        Row(policy: .miniprogram, offered: ["MQTT"], outcome: .accept("MQTT")),
        Row(policy: .miniprogram, offered: ["mqtt", "mqttv3.1"], outcome: .accept("mqtt")),
        Row(policy: .miniprogram, offered: ["mqttv3.1", "mqtt"], outcome: .accept("mqttv3.1")),
        Row(policy: .miniprogram, offered: ["foo"], outcome: .refuse),
        Row(policy: .miniprogram, offered: ["foo", "mqtt"], outcome: .accept("mqtt")),
        Row(policy: .miniprogram, requireSubprotocol: false, offered: [], outcome: .accept(nil)),
        Row(policy: .miniprogram, requireSubprotocol: false, offered: ["foo"], outcome: .refuse),
        // passthrough: standard negotiation, an offer is required unless configured otherwise.
        Row(policy: .passthrough, offered: [], outcome: .refuse),
        Row(policy: .passthrough, offered: ["mqtt"], outcome: .accept("mqtt")),
        Row(policy: .passthrough, offered: ["mqttv3.1"], outcome: .accept("mqttv3.1")),
        Row(policy: .passthrough, offered: ["MQTT"], outcome: .accept("MQTT")),
        Row(policy: .passthrough, offered: ["Mqttv3.1"], outcome: .accept("Mqttv3.1")),
        Row(policy: .passthrough, offered: ["mqtt", "mqttv3.1"], outcome: .accept("mqtt")),
        Row(policy: .passthrough, offered: ["mqttv3.1", "mqtt"], outcome: .accept("mqttv3.1")),
        Row(policy: .passthrough, offered: ["foo"], outcome: .refuse),
        Row(policy: .passthrough, offered: ["foo", "mqtt"], outcome: .accept("mqtt")),
        Row(policy: .passthrough, offered: ["mqtt5"], outcome: .refuse),
        Row(policy: .passthrough, offered: ["mqt"], outcome: .refuse),
        Row(policy: .passthrough, requireSubprotocol: false, offered: [], outcome: .accept(nil)),
        Row(policy: .passthrough, requireSubprotocol: false, offered: ["mqtt"], outcome: .accept("mqtt")),
        Row(policy: .passthrough, requireSubprotocol: false, offered: ["foo"], outcome: .refuse),
    ]

    @Test(arguments: rows)
    func policy(_ row: Row) {
        let route = RouteSettings(RouteConfiguration(name: "r", path: "/r", policy: row.policy, requireSubprotocol: row.requireSubprotocol))
        let decision = route.negotiateSubprotocol(offered: row.offered)
        switch (decision, row.outcome) {
        case (.accept(let echo), .accept(let expected)):
            #expect(echo == expected)
        case (.refuse(let reason), .refuse):
            #expect(!reason.isEmpty && !reason.contains("\n"), "the 400 body is one line: \(reason)")
        default:
            Issue.record("got \(decision), expected \(row.outcome)")
        }
    }

    @Test func refusalReasonsNameWhatWasOfferedAndWhatIsAccepted() {
        let browser = RouteSettings(RouteConfiguration(name: "browser", path: "/mqtt", policy: .passthrough))
        guard case .refuse(let none) = browser.negotiateSubprotocol(offered: []) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(none.contains("mqtt, mqttv3.1"))
        guard case .refuse(let unknown) = browser.negotiateSubprotocol(offered: ["foo", "bar"]) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(unknown.contains("foo, bar") && unknown.contains("mqtt, mqttv3.1"))
    }

    @Test func aRouteWithItsOwnListAcceptsOnlyThat() {
        let route = RouteSettings(RouteConfiguration(name: "v5only", path: "/v5", policy: .passthrough, subprotocols: ["mqtt"]))
        #expect(route.negotiateSubprotocol(offered: ["mqttv3.1"]) != .accept(echo: "mqttv3.1"))
        #expect(route.negotiateSubprotocol(offered: ["mqttv3.1", "mqtt"]) == .accept(echo: "mqtt"))
    }
}
