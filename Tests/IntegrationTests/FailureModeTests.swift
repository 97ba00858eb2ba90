import BridgeConfig
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// Bad input and broken peers: a clear error and a clean close, never a hang.
@Suite("Failure modes", .timeLimit(.minutes(2)))
struct FailureModeTests {
    @Test("A text frame is refused with close 1003")
    func textFrameRefused() async throws {
        try await BridgeHarness.with { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "texter")
            try await ws.sendFrame(opcode: .text, payload: Array("hello".utf8))
            let close = try await ws.expectClose()
            #expect(close.code == 1003)
            let line = try await bridge.waitForAccessLine(containing: ["client_id=texter"])
            #expect(line.contains("close_code=1003"))
            #expect(line.contains("closed_by=bridge"))
        }
    }

    @Test("A first packet that is not CONNECT is refused with close 1002, before anything reaches the broker")
    func firstPacketNotConnect() async throws {
        try await BridgeHarness.with { bridge in
            let (_, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.publish("sneaky", payload: [1]))
            let close = try await ws.expectClose()
            #expect(close.code == 1002)
            #expect(close.reason.contains("CONNECT"))
        }
    }

    @Test("A malformed remaining length (5-byte variable byte integer) closes with 1002")
    func malformedLength() async throws {
        try await BridgeHarness.with { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "malformed")
            try await ws.sendBinary([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
            #expect(try await ws.expectClose().code == 1002)
        }
    }

    @Test("A packet over the route's max_packet_size closes with 1009")
    func packetTooLarge() async throws {
        try await BridgeHarness.with(configure: { config in
            for index in config.routes.indices { config.routes[index].maxPacketSize = 1024 }
        }) { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "large")
            try await ws.sendBinary(MQTTTestPackets.publish("t", payload: Array(repeating: 1, count: 2000)))
            let close = try await ws.expectClose()
            #expect(close.code == 1009)
        }
    }

    @Test("No CONNECT within the timeout closes with 1002")
    func connectTimeout() async throws {
        try await BridgeHarness.with(configure: { $0.timeouts.connectPacket = .milliseconds(300) }) { bridge in
            let (_, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            let ws = try #require(client)
            let close = try await ws.expectClose(timeout: .seconds(5))
            #expect(close.code == 1002)
            #expect(close.reason.contains("no CONNECT"))
        }
    }

    @Test("Broker down: CONNACK 'server unavailable' in the client's version, then close 1013", arguments: [MQTTTestVersion.v3_1_1, .v5])
    func brokerDown(version: MQTTTestVersion) async throws {
        let broker = try await MosquittoProcess.start()
        // A long close timeout: if the bridge waited for it instead of completing the close handshake,
        // expectClose's own 5 s bound would fail.
        try await BridgeHarness.with(configure: { $0.timeouts.closeHandshake = .seconds(60) }, broker: broker) { bridge in
            await broker.stop()
            let (_, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "orphan", version: version.wire))
            let connack = try await ws.receiveBinaryMessage()
            #expect(connack == (version == .v5 ? [0x20, 0x03, 0x00, 0x88, 0x00] : [0x20, 0x02, 0x00, 0x03]))
            let close = try await ws.expectClose()
            #expect(close.code == 1013)
            #expect(close.reason.contains("broker unavailable"))
        }
        await broker.stop()
    }

    @Test("Broker closes the connection: the client gets close 1000")
    func brokerCloses() async throws {
        let broker = try await MosquittoProcess.start()
        try await BridgeHarness.with(broker: broker) { bridge in
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "abandoned")
            await broker.stop()
            let close = try await ws.expectClose()
            #expect(close.code == 1000)
            let line = try await bridge.waitForAccessLine(containing: ["client_id=abandoned"])
            #expect(line.contains("closed_by=broker"))
        }
        await broker.stop()
    }

    @Test("Client close frame: the broker sees the session end (will published on abrupt end, not on DISCONNECT)")
    func clientCloseEndsUpstream() async throws {
        try await BridgeHarness.with { bridge in
            let watcher = try await bridge.directClient(clientID: "will-watcher")
            try await watcher.send(MQTTTestPackets.subscribe("wills/#", qos: 0, packetID: 1))
            _ = try await watcher.receivePacket()

            // A client with a will that closes the WebSocket without DISCONNECT: the broker publishes the will.
            let (_, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            let ws = try #require(client)
            let will = MQTTPacket.WillMessage(topic: "wills/dev-1", payload: .init(bytes: Array("gone".utf8)))
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "dev-1", will: will))
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            let reply = try await ws.close(code: 1000)
            #expect(reply?.code == 1000, "the bridge echoes the client's close code")
            let published = try MQTTTestPackets.decodePublish(try await watcher.receivePacket())
            #expect(published.info.topic == "wills/dev-1")
            let line = try await bridge.waitForAccessLine(containing: ["client_id=dev-1"])
            #expect(line.contains("closed_by=client"))
            #expect(line.contains("close_code=1000"))
            await watcher.close()
        }
    }

    @Test("HTTP refusals: unknown path 404, plain GET on a route 426, bad version 426, missing key 400")
    func httpRefusals() async throws {
        try await BridgeHarness.with { bridge in
            let (notFound, _) = try await bridge.connect(path: "/nope", subprotocols: nil)
            #expect(notFound.status == 404)
            #expect(notFound.body.contains("/nope"))

            let plain = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, tls: nil,
                bytes: Array("GET /wss HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
            #expect(plain.status == 426)
            #expect(plain.values("Upgrade") == ["websocket"])

            let (badVersion, _) = try await bridge.connect(path: "/wss", subprotocols: nil, extraHeaders: [("Sec-WebSocket-Version", "8")])
            #expect(badVersion.status == 426)
            #expect(badVersion.values("Sec-WebSocket-Version") == ["13"])

            let missingKey = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, tls: nil,
                bytes: Array(
                    "GET /wss HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
            #expect(missingKey.status == 400)
            #expect(missingKey.body.contains("Sec-WebSocket-Key"))

            let huge = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, tls: nil,
                bytes: Array("GET /wss HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n".utf8))
            #expect(huge.status == 431)
        }
    }

    @Test("Drain (graceful shutdown): connected clients receive close 1001, listeners stop accepting")
    func drain() async throws {
        try await BridgeHarness.with { bridge in
            let first = try await bridge.connectMQTT(path: "/wss", clientID: "drain-1")
            let second = try await bridge.connectMQTT(path: "/mqtt", subprotocols: ["mqtt"], clientID: "drain-2")
            async let shutdown: Void = bridge.shutdown()
            #expect(try await first.expectClose().code == 1001)
            #expect(try await second.expectClose().code == 1001)
            await shutdown
            #expect(bridge.server.phase == .stopped)
            await #expect(throws: (any Error).self) {
                _ = try await TestWebSocketClient.connect(
                    host: "127.0.0.1", port: bridge.wssPort, path: "/wss", tls: try BridgeHarness.tls, timeout: .seconds(2))
            }
        }
    }

    /// A restart must not duplicate QoS 1 deliveries: an acknowledgement already on its way when close 1001 arrives still
    /// reaches the broker, which then has nothing left to redeliver (MQTT-4.4.0-1 resends unacknowledged messages on
    /// reconnect, ahead of anything else).
    @Test("Drain: a QoS 1 PUBACK the client sends after close 1001 still reaches the broker, so nothing is redelivered")
    func drainRelaysTheClientsLastAcknowledgements() async throws {
        try await BridgeHarness.with { bridge in
            let watcher = try await bridge.directClient(clientID: "drain-watcher")
            try await watcher.send(MQTTTestPackets.subscribe("wills/#", qos: 0, packetID: 1))
            _ = try await watcher.receivePacket()

            let (_, client) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: bridge.wssPort, path: "/wss", tls: try BridgeHarness.tls, subprotocols: nil,
                options: .init(answerClose: false))
            let ws = try #require(client)
            let will = MQTTPacket.WillMessage(topic: "wills/drain-sub", payload: .init(bytes: Array("gone".utf8)))
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "drain-sub", cleanStart: false, will: will))
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            try await ws.sendBinary(MQTTTestPackets.subscribe("orders/#", qos: 1, packetID: 1))
            #expect(try await ws.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x01, 0x01])

            let publisher = try await bridge.directClient(clientID: "drain-pub")
            try await publisher.send(MQTTTestPackets.publish("orders/1", payload: [1], qos: 1, packetID: 7))
            #expect(try await publisher.receivePacket() == MQTTTestPackets.puback(7))
            let delivery = try MQTTTestPackets.decodePublish(try await ws.receiveBinaryMessage())
            let packetID = try #require(delivery.packetID)

            // The drain begins before the subscriber has acknowledged.
            async let shutdown: Void = bridge.shutdown()
            let close = try await ws.receiveFrame()
            #expect(close.opcode == .connectionClose && close.close.code == 1001, "got \(close)")
            try await ws.sendBinary(MQTTTestPackets.puback(packetID))
            #expect(try await ws.close(code: 1001)?.code == 1001)
            await shutdown

            // The will is published when the broker handles the end of the connection, after anything sent before it.
            #expect(try MQTTTestPackets.decodePublish(try await watcher.receivePacket()).topic == "wills/drain-sub")
            let again = try await TestTCPClient.connect(host: bridge.broker.host, port: bridge.broker.port)
            try await again.send(MQTTTestPackets.connect(clientID: "drain-sub", cleanStart: false))
            #expect(try await again.receivePacket() == [0x20, 0x02, 0x01, 0x00], "the persistent session is there")
            try await again.send(MQTTTestPackets.pingreq)
            let next = try await again.receivePacket()
            #expect(next == MQTTTestPackets.pingresp, "redelivered instead: \(next)")
            await again.close()
            await publisher.close()
            await watcher.close()
        }
    }

    @Test("The access log line names route, subprotocol, version, client id, username and bytes, never the password")
    func accessLog() async throws {
        try await BridgeHarness.with { bridge in
            let (_, client) = try await bridge.connect(path: "/mqtt", subprotocols: ["mqtt"])
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "logged", username: "alice", password: "s3cret-pw"))
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            try await ws.sendBinary(MQTTTestPackets.disconnect)
            _ = try? await ws.expectClose()
            let line = try await bridge.waitForAccessLine(containing: ["client_id=logged"])
            let broker = "broker=\(bridge.broker.host):\(bridge.broker.port)"
            for fragment in [
                "route=browser", "subprotocol=mqtt", "mqtt_version=3.1.1", "username=alice", "listener=wss", broker, "bytes_in=",
                "bytes_out=4",
                "duration_ms=", "closed_by=",
            ] {
                #expect(line.contains(fragment), "missing \(fragment) in \(line)")
            }
            #expect(!bridge.logs.collected.joined().contains("s3cret-pw"))
        }
    }
}
