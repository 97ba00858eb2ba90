import BridgeTestSupport
import Foundation
import Testing

/// How a real client reaches the bridge: the browser route with mqtt.js's WebSocket transport (offers `mqtt`), or the
/// mini-program route with mqtt.js's own `wxs` transport in a WeChat-like runtime (offers nothing).
struct MQTTJSRoute: Sendable, CustomTestStringConvertible {
    var route: String
    var path: String
    var transport: MQTTJSScenario.Options.Transport
    var wxFixes: [String] = []

    static let browser = MQTTJSRoute(route: "browser", path: "/mqtt", transport: .ws)
    /// 4.3.7's wx.js with the two upstream fixes a mini-program needs (see Tests/Clients/mqttjs/wechat.js): as shipped
    /// it cannot connect (PR #1506) and never notices a server close (issue #1180). Those two are tested on their own.
    static let miniProgram = MQTTJSRoute(
        route: "miniprogram", path: "/wss", transport: .wechat, wxFixes: ["send-exact-bytes", "emit-close"])
    static let both = [browser, miniProgram]

    /// The access log's `subprotocol` field: what the client offered and the bridge answered.
    var subprotocol: String { self.transport == .ws ? "mqtt" : "none" }

    var testDescription: String { self.transport == .ws ? "browser route, ws transport" : "mini-program route, wxs transport" }

    func options(port: Int, version: Int, clientID: String) throws -> MQTTJSScenario.Options {
        MQTTJSScenario.Options(
            transport: self.transport, wxFixes: self.wxFixes, port: port, path: self.path, ca: try ThirdPartyClients.caFile,
            protocolVersion: version, clientId: clientID)
    }
}

/// mqtt.js 4.3.7 (Debian's node-mqtt, on Node.js) through the real bridge to a real Mosquitto, over wss:// with the
/// test CA trusted (no certificate check is turned off). The other end of every exchange is a plain MQTT client
/// talking to Mosquitto directly, so each direction is checked by an independent implementation.
@Suite("Third-party client: mqtt.js", .timeLimit(.minutes(2)))
struct MQTTJSClientTests {
    static let oneMiB = 1 << 20
    /// Two different 1 MiB payloads (one per direction), made once for every case.
    static let payloads: (toBroker: [UInt8], toClient: [UInt8]) = {
        var random = SeededRandom(seed: 0x6D71_7474_6A73)
        return (random.bytes(oneMiB), random.bytes(oneMiB))
    }()

    @Test("QoS 0/1/2 both ways and 1 MiB byte-exact both ways", arguments: MQTTJSRoute.both, [4, 5])
    func transfer(route: MQTTJSRoute, version: Int) async throws {
        let directory = try ThirdPartyClients.temporaryDirectory("mqttjs-transfer")
        let (toBroker, toClient) = Self.payloads
        try Data(toBroker).write(to: URL(fileURLWithPath: directory + "/to-broker.bin"))
        let prefix = "mqttjs/\(route.route)/v\(version)"
        let clientID = "mqttjs-\(route.route)-v\(version)-transfer"

        try await BridgeHarness.with { bridge in
            let subscriber = try await BrokerPeer.connect(to: bridge.broker, clientID: "\(clientID)-peer-sub")
            try await subscriber.subscribe("\(prefix)/out/#", qos: 2)
            var options = try route.options(port: bridge.wssPort, version: version, clientID: clientID)
            options.subscribe = .init(filter: "\(prefix)/in/#", qos: 2)
            options.publish =
                (0...2).map { .init(topic: "\(prefix)/out/q\($0)", qos: $0, text: "from mqtt.js at QoS \($0) ✓") }
                + [.init(topic: "\(prefix)/out/big", qos: 1, file: directory + "/to-broker.bin")]
            options.expectMessages = 4
            options.payloadDir = directory
            let client = try MQTTJSScenario.start(options, outputDirectory: directory)

            #expect(try await client.waitFor("subscribed").granted == [2])
            let publisher = try await BrokerPeer.connect(to: bridge.broker, clientID: "\(clientID)-peer-pub")
            for qos in 0...2 {
                try await publisher.publish(
                    "\(prefix)/in/q\(qos)", "to mqtt.js at QoS \(qos) ✓", qos: UInt8(qos), packetID: UInt16(qos + 1))
            }
            try await publisher.publish("\(prefix)/in/big", toClient, qos: 2, packetID: 9)

            // mqtt.js → bridge → Mosquitto, read by the plain client.
            let fromClient = try await subscriber.receivePublishes(4)
            for qos in 0...2 {
                let message = try #require(fromClient["\(prefix)/out/q\(qos)"], "\(fromClient.keys)")
                #expect(message.info.qos == UInt8(qos))
                #expect(message.payload == Array("from mqtt.js at QoS \(qos) ✓".utf8))
            }
            let big = try #require(fromClient["\(prefix)/out/big"])
            #expect(big.info.qos == 1)
            #expect(big.payload.count == Self.oneMiB)
            #expect(big.payload == toBroker, "1 MiB from mqtt.js arrived changed")

            // Mosquitto → bridge → mqtt.js.
            #expect(await client.waitForExit() == 0, "\(client.output)")
            let messages = Dictionary(client.events("message").map { ($0.topic ?? "", $0) }, uniquingKeysWith: { first, _ in first })
            for qos in 0...2 {
                let message = try #require(messages["\(prefix)/in/q\(qos)"], "\(client.output)")
                #expect(message.qos == qos)
                #expect(message.text == "to mqtt.js at QoS \(qos) ✓")
            }
            let received = try #require(messages["\(prefix)/in/big"])
            #expect(received.qos == 2)
            #expect(received.length == Self.oneMiB)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: try #require(received.file)))
            #expect(Array(bytes) == toClient, "1 MiB to mqtt.js arrived changed")

            let access = try await bridge.waitForAccessLine(containing: ["client_id=\(clientID)"])
            #expect(access.contains("route=\(route.route)"))
            #expect(access.contains("subprotocol=\(route.subprotocol)"))
            #expect(access.contains(version == 5 ? "mqtt_version=5.0" : "mqtt_version=3.1.1"))
            await publisher.close()
            await subscriber.close()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("A client that drops (killed, no DISCONNECT, no close frame) has its will published", arguments: MQTTJSRoute.both, [4, 5])
    func willOnDrop(route: MQTTJSRoute, version: Int) async throws {
        let directory = try ThirdPartyClients.temporaryDirectory("mqttjs-will")
        let clientID = "mqttjs-\(route.route)-v\(version)-will"
        let willTopic = "mqttjs/\(route.route)/v\(version)/will"
        try await BridgeHarness.with { bridge in
            let subscriber = try await BrokerPeer.connect(to: bridge.broker, clientID: "\(clientID)-peer")
            try await subscriber.subscribe(willTopic, qos: 1)
            var options = try route.options(port: bridge.wssPort, version: version, clientID: clientID)
            options.will = .init(topic: willTopic, payload: "\(clientID) is gone", qos: 1)
            let client = try MQTTJSScenario.start(options, outputDirectory: directory)
            try await client.waitFor("connected")

            await client.kill()
            let will = try await subscriber.receivePublish()
            #expect(will.info.topic == willTopic)
            #expect(will.info.qos == 1)
            #expect(will.payload == Array("\(clientID) is gone".utf8))
            let access = try await bridge.waitForAccessLine(containing: ["client_id=\(clientID)"])
            #expect(access.contains("closed_by=client"))
            await subscriber.close()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(
        "After a restart of the bridge binary the client reconnects by itself, resubscribes and receives again",
        arguments: MQTTJSRoute.both, [4, 5])
    func reconnectAfterBridgeRestart(route: MQTTJSRoute, version: Int) async throws {
        let directory = try ThirdPartyClients.temporaryDirectory("mqttjs-reconnect")
        let broker = try await MosquittoProcess.start()
        var bridge: BridgeProcess?
        var client: MQTTJSScenario?
        do {
            bridge = try await BridgeProcess.start(brokerPort: broker.port)
            let port = try #require(bridge).port
            let clientID = "mqttjs-\(route.route)-v\(version)-reconnect"
            let topic = "mqttjs/\(route.route)/v\(version)/news"
            var options = try route.options(port: port, version: version, clientID: clientID)
            options.reconnectPeriod = 200
            options.subscribe = .init(filter: topic, qos: 1)
            options.expectMessages = 2
            let scenario = try MQTTJSScenario.start(options, outputDirectory: directory)
            client = scenario
            let publisher = try await BrokerPeer.connect(to: broker, clientID: "\(clientID)-peer")

            try await scenario.waitFor("subscribed")
            try await publisher.publish(topic, "before the restart", qos: 1)
            try await scenario.waitFor("message") { $0.text == "before the restart" }

            #expect(await bridge?.stop() == 0, "the bridge drains and exits 0")
            try await scenario.waitFor("close")
            bridge = try await BridgeProcess.start(brokerPort: broker.port, port: port)

            // The SUBACK of mqtt.js's own resubscription, on its second connection.
            try await scenario.waitFor("subscribed", timeout: .seconds(20)) { $0.count == 2 }
            try await publisher.publish(topic, "after the restart", qos: 1)
            #expect(await scenario.waitForExit() == 0, "\(scenario.output)")
            #expect(scenario.events("message").map(\.text) == ["before the restart", "after the restart"])
            #expect(scenario.events("connected").count == 2)
            await publisher.close()
        } catch {
            await client?.kill()
            _ = await bridge?.stop()
            await broker.stop()
            throw error
        }
        _ = await bridge?.stop()
        await broker.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
