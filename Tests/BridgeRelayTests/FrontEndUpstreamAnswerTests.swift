import BridgeConfig
import BridgeFrontEnd
import NIOCore
import Testing

/// The front end decides, the relay connects: for an upstream that must answer before the 101 (`ws`), the front end
/// asks the session and performs its answer (101 with the broker's subprotocol, or 502), holding reads meanwhile.
@Suite struct FrontEndUpstreamAnswerTests {
    typealias Request = UpgradeHandlerTests.Request

    @Test func theBrokerIsDialledBeforeThe101AndReadsWaitForIt() throws {
        let harness = try FrontEndHarness(connector: .manual, dialsBeforeUpgrade: true, countsReads: true)
        defer { harness.finish() }
        let connect = MQTTSample.connect()
        try harness.send(Request("/mqtt").with("Sec-WebSocket-Protocol", "mqtt").bytes + ClientFrame.binary(connect).encoded)
        #expect(try harness.response() == nil, "the 101 waits for the broker")
        #expect(harness.connector.dials == 1)
        let readsBefore = harness.reads?.count ?? 0
        harness.channel.read()
        #expect(harness.reads?.count == readsBefore, "held while the broker is dialled")

        try harness.connector.completeDial()
        harness.loop.run()
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(response.headerSet == UpgradeHandlerTests.switching.union(["Sec-WebSocket-Protocol: mqtt"]))
        #expect(harness.reads?.count == readsBefore + 1, "the held read is replayed")
        #expect(harness.handlerTypeNames == ["WebSocketMessageCodec", "ClientSessionHandler"])
        #expect(try harness.bytesToBroker() == connect, "the CONNECT sent with the request goes to the open broker connection")
        #expect(harness.metrics.value("mqtt_ws_bridge_handshakes_total", [("route", "browser"), ("result", "accepted")]) == 1)
    }

    @Test func aPassthroughClientGetsTheBrokersAnswerEvenNone() throws {
        let harness = try FrontEndHarness(dialsBeforeUpgrade: true, brokerAnswer: { _ in nil })
        defer { harness.finish() }
        try harness.send(Request("/mqtt").with("Sec-WebSocket-Protocol", "mqtt").bytes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(response.headerSet == UpgradeHandlerTests.switching)
        #expect(harness.connector.offers == [["mqtt"]])
    }

    @Test func aMiniprogramClientKeepsItsRoutesAnswer() throws {
        let harness = try FrontEndHarness(dialsBeforeUpgrade: true, brokerAnswer: { _ in "mqtt" })
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        let response = try #require(try harness.response())
        #expect(response.headerSet == UpgradeHandlerTests.switching, "WeChat fails on an unasked subprotocol")
        #expect(harness.connector.offers == [["mqtt"]], "the broker is offered mqtt on the client's behalf")
    }

    @Test func anUnreachableBrokerIs502() throws {
        let harness = try FrontEndHarness(connector: .refuse, dialsBeforeUpgrade: true)
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 502 Bad Gateway")
        #expect(response.body == "broker unavailable\n")
        #expect(!harness.isOpen)
        #expect(harness.metrics.value("mqtt_ws_bridge_handshakes_total", [("route", "miniprogram"), ("result", "bad_gateway")]) == 1)
        #expect(harness.metrics.value("mqtt_ws_bridge_upstream_connect_failures_total") == 1, "counted once, by the relay")
        #expect(harness.metrics.value("mqtt_ws_bridge_sessions_total", [("route", "miniprogram")]) == 0)
    }

    @Test func theClientLeavingDuringTheDialClosesTheBrokerConnection() throws {
        let harness = try FrontEndHarness(connector: .addedThenManual, dialsBeforeUpgrade: true)
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        let upstream = try #require(harness.connector.upstream)
        harness.channel.close(promise: nil)
        harness.loop.run()
        #expect(upstream.closes.modes == [.all])
        #expect(harness.logs.entries(label: "access").isEmpty, "no session started")
    }

    @Test func aDrainDuringTheDialClosesBothSides() throws {
        let harness = try FrontEndHarness(connector: .manual, dialsBeforeUpgrade: true)
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        harness.loop.run()
        #expect(!harness.isOpen)
        let upstream = try harness.connector.completeDial()
        #expect(!upstream.channel.isActive, "the late broker connection is closed")
    }

    @Test func aTCPBrokerIsDialledOnlyAfterTheConnect() throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        #expect(try harness.response()?.status == 101)
        #expect(harness.connector.dials == 0)
        try harness.send(ClientFrame.binary(MQTTSample.connect()).encoded)
        #expect(harness.connector.dials == 1)
    }
}
