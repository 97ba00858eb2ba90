import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import BridgeRelay

/// The relay dials every broker: after the CONNECT (`tcp`) or before the 101 (`ws`), through one seam that chooses
/// the server (`UpstreamServerSelector`), moves on when one fails, and keeps one deadline.
@Suite struct SessionDialTests {
    static let connect = MQTTSample.connect()
    static let a = UpstreamServer(host: "a.broker.test", port: 1883)
    static let b = UpstreamServer(host: "b.broker.test", port: 1883)

    /// A pool's stand-in: the same servers for everyone, in order; remembers what it was asked and told.
    final class RecordingSelector: UpstreamServerSelector {
        let servers: [UpstreamServer]
        private let record = NIOLockedValueBox<(requests: [UpstreamDialRequest], failed: [UpstreamServer])>(([], []))

        init(_ servers: [UpstreamServer]) {
            self.servers = servers
        }

        var requests: [UpstreamDialRequest] { self.record.withLockedValue { $0.requests } }
        var failed: [UpstreamServer] { self.record.withLockedValue { $0.failed } }

        func dialPlan(for request: UpstreamDialRequest, on eventLoop: any EventLoop) -> any UpstreamServerPlan {
            self.record.withLockedValue { $0.requests.append(request) }
            return ListedServerPlan(self.servers) { server, _ in
                self.record.withLockedValue { $0.failed.append(server) }
            }
        }
    }

    struct DenyAll: TopicAuthorizer {
        func mayPublish(to topic: String) -> Bool { false }
        func maySubscribe(to filter: String) -> Bool { false }
    }

    // MARK: After the CONNECT (tcp)

    @Test func theChoiceOfBrokerKnowsTheClientID() throws {
        let selector = RecordingSelector([Self.a])
        let harness = try SessionHarness(servers: selector)
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.connect(clientID: "sensor-7")))
        #expect(selector.requests == [UpstreamDialRequest(clientID: "sensor-7")])
        #expect(harness.connector.servers == [Self.a])
        #expect(try harness.bytesToBroker() == MQTTSample.connect(clientID: "sensor-7"))
    }

    @Test func aRefusedServerIsReportedAndTheNextOneServes() throws {
        let selector = RecordingSelector([Self.a, Self.b])
        let harness = try SessionHarness(servers: selector, refusing: [Self.a])
        defer { harness.finish() }
        try harness.connect()
        #expect(harness.connector.servers == [Self.a, Self.b])
        #expect(selector.failed == [Self.a])
        #expect(try harness.bytesToBroker() == Self.connect, "relayed to b")
        #expect(harness.metrics.value("mqtt_ws_bridge_upstream_connect_failures_total", []) == 1)
        #expect(harness.metrics.recorded("mqtt_ws_bridge_upstream_connect_seconds").count == 1)
        try harness.send(.close(1000))
        #expect(harness.accessLine?.metadata["broker"] == "b.broker.test:1883")
    }

    @Test func everyServerRefusedIsAConnackNamingEach() throws {
        let harness = try SessionHarness(servers: RecordingSelector([Self.a, Self.b]), refusing: [Self.a, Self.b])
        defer { harness.finish() }
        try harness.connect()
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1013])
        try harness.send(.close(1013))
        let reason = try #require(harness.accessLine?.metadata["reason"])
        #expect(reason.hasPrefix("broker unavailable: a.broker.test:1883: connection refused (fake); b.broker.test:1883: "), "\(reason)")
        #expect(harness.accessLine?.metadata["broker"] == "-")
        #expect(harness.metrics.value("mqtt_ws_bridge_upstream_connect_failures_total", []) == 2)
    }

    @Test func oneDeadlineForEveryServer() throws {
        let harness = try SessionHarness(
            .manual, settings: SessionSettings(maximumPacketSize: 4096, upstreamReadyTimeout: .seconds(5)),
            servers: RecordingSelector([Self.a, Self.b]))
        defer { harness.finish() }
        try harness.connect()
        harness.advance(by: .seconds(5))
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1013])
        #expect(harness.connector.servers == [Self.a], "no time was left for b")
    }

    @Test func noServerAvailableIsAConnack() throws {
        let harness = try SessionHarness(servers: RecordingSelector([]))
        defer { harness.finish() }
        try harness.connect()
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1013])
        try harness.send(.close(1013))
        #expect(harness.accessLine?.metadata["reason"] == "broker unavailable: no upstream server available")
        #expect(harness.connector.dials == 0)
    }

    // MARK: Before the 101 (ws)

    static let passthrough = SubprotocolOffer(offered: ["mqtt"], routeAnswer: "mqtt", forwardsBrokerAnswer: true)
    static let miniprogram = SubprotocolOffer(offered: [], routeAnswer: nil, forwardsBrokerAnswer: false)

    @Test func theBrokersAnswerIsAPassthroughClientsAnswer() throws {
        let selector = RecordingSelector([Self.a])
        let harness = try SessionHarness(upgradeOffer: Self.passthrough, brokerAnswer: { _ in "mqtt" }, servers: selector)
        defer { harness.finish() }
        #expect(harness.upgradeAnswer == .switchProtocols(subprotocol: "mqtt"))
        #expect(harness.connector.offers == [["mqtt"]], "the client's offer, forwarded")
        #expect(selector.requests == [UpstreamDialRequest(clientID: nil)], "nothing of MQTT is known before the 101")
    }

    @Test(arguments: [
        (SubprotocolOffer(offered: [], routeAnswer: nil, forwardsBrokerAnswer: false), [String]?.some(["mqtt"]), String?.none),
        (SubprotocolOffer(offered: ["mqttv3.1"], routeAnswer: "mqttv3.1", forwardsBrokerAnswer: false), ["mqttv3.1"], "mqttv3.1"),
        (SubprotocolOffer(offered: [], routeAnswer: nil, forwardsBrokerAnswer: true), nil, nil),
    ])
    func subprotocolRulesTowardsAWebSocketBroker(_ offer: SubprotocolOffer, _ towardsBroker: [String]?, _ answer: String?) throws {
        // The broker answers `mqtt` whatever it was offered: a mini-program route keeps its own answer regardless.
        let harness = try SessionHarness(upgradeOffer: offer, brokerAnswer: { $0 == nil ? nil : "mqtt" })
        defer { harness.finish() }
        #expect(harness.connector.offers == [towardsBroker])
        #expect(harness.upgradeAnswer == .switchProtocols(subprotocol: answer))
    }

    @Test func anUnreachableBrokerBeforeTheUpgradeIsABadGatewayAndNoSession() throws {
        let harness = try SessionHarness(.refuse, upgradeOffer: Self.miniprogram)
        defer { harness.finish() }
        #expect(harness.upgradeAnswer == .badGateway(reason: "broker unavailable: connection refused (fake)"))
        #expect(harness.metrics.value("mqtt_ws_bridge_upstream_connect_failures_total", []) == 1)
        #expect(harness.logs.entries.contains { $0.message == "broker unavailable" && $0.level == .warning })
        harness.client.close(promise: nil)
        #expect(harness.logs.entries(label: "access").isEmpty, "no session started")
        #expect(harness.metrics.value("mqtt_ws_bridge_sessions_total", [("route", SessionHarness.route)]) == 0)
    }

    @Test func theConnectGoesStraightToTheBrokerDialledBeforeTheUpgrade() throws {
        let harness = try SessionHarness(upgradeOffer: Self.miniprogram)
        defer { harness.finish() }
        #expect(harness.connector.dials == 1)
        try harness.send(.binary(Self.connect + MQTTSample.subscribe()))
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.subscribe())
        try harness.brokerSends(MQTTSample.connackAccepted)
        #expect(try harness.framesToClient() == [.binary(MQTTSample.connackAccepted)])
        #expect(harness.connector.dials == 1, "not dialled again")
        #expect(harness.metrics.recorded("mqtt_ws_bridge_upstream_connect_seconds").count == 1, "measured once, by the relay")
        try harness.send(.close(1000))
        #expect(harness.accessLine?.metadata["broker"] == "broker.test:1883")
    }

    @Test func brokerReadsWaitForTheConnect() throws {
        let harness = try SessionHarness(upgradeOffer: Self.miniprogram)
        defer { harness.finish() }
        let upstream = try #require(harness.upstream)
        upstream.channel.read()
        #expect(upstream.reads.count == 0, "nothing to relay broker bytes to yet")
        try harness.connect()
        #expect(upstream.reads.count == 1, "the held read is replayed once relaying starts")
    }

    @Test func theClientLeavingWhileTheBrokerIsDialledClosesIt() throws {
        let harness = try SessionHarness(.addedThenManual, upgradeOffer: Self.miniprogram)
        defer { harness.finish() }
        let upstream = try #require(harness.upstream)
        harness.client.close(promise: nil)
        harness.loop.run()
        #expect(upstream.closes.modes == [.all])
        #expect(harness.upgradeAnswer == nil)
    }

    @Test func theBrokerClosingBeforeTheConnectIs1000() throws {
        let harness = try SessionHarness(upgradeOffer: Self.miniprogram)
        defer { harness.finish() }
        harness.brokerCloses()
        #expect(try harness.framesToClient().map(\.closeCode) == [1000])
    }

    @Test func packetsBehindTheConnectPassTheTopicPolicyBeforeReachingADialledBroker() throws {
        let settings = SessionSettings(maximumPacketSize: 4096, topicAuthorizer: DenyAll())
        let harness = try SessionHarness(settings: settings, upgradeOffer: Self.miniprogram)
        defer { harness.finish() }
        try harness.send(.binary(Self.connect + MQTTSample.publish(payload: [1])))
        #expect(try harness.bytesToBroker() == Self.connect, "the denied PUBLISH never reaches the broker")
        #expect(try harness.framesToClient().map(\.closeCode) == [1008])
    }
}
