import BridgeAdmin
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// `POST /api/v1/publish` end to end: a backend posts, a WeChat-style client subscribed through the bridge receives.
@Suite("Admin listener: publish API", .timeLimit(.minutes(2)))
struct AdminPublishTests {
    @Test("A WeChat-style client on /wss (no subprotocol) receives the posted message byte-exact", arguments: [UInt8(0), 1, 2])
    func delivered(qos: UInt8) async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let subscriber = try await bridge.connectMQTT(path: "/wss", subprotocols: nil, clientID: "wechat-\(qos)")
            try await subscriber.sendBinary(MQTTTestPackets.subscribe("push/user/#", qos: 2, packetID: 1))
            #expect(try await subscriber.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x01, 0x02])
            try await bridge.waitForPublishers()

            // Every byte value, so nothing is re-encoded on the way.
            let payload = (0...255).map { UInt8($0) } + Array("推送 ✓".utf8)
            let response = try await bridge.publish(
                #"{"topic": "push/user/42", "payload_base64": "\#(Data(payload).base64EncodedString())", "qos": \#(qos)}"#)
            #expect(response.status == 200, "\(response)")
            let body = try response.json()
            #expect(body["message_id"] is Int)
            #expect(body["qos"] as? Int == Int(qos))
            #expect(body["topic"] as? String == "push/user/42")

            let publish = try MQTTTestPackets.decodePublish(try await subscriber.receiveBinaryMessage())
            #expect(publish.info.topic == "push/user/42")
            #expect(publish.info.qos == qos)
            #expect(publish.info.retain == false)
            #expect(Array(publish.payload.readableBytesView) == payload)
            // Finish the broker's flow towards the subscriber.
            if let id = publish.info.packetID, qos == 1 {
                try await subscriber.sendBinary(MQTTTestPackets.puback(id))
            } else if let id = publish.info.packetID, qos == 2 {
                try await subscriber.sendBinary(MQTTTestPackets.pubrec(id))
                #expect(try await subscriber.receiveBinaryMessage() == MQTTTestPackets.pubrel(id))
                try await subscriber.sendBinary(MQTTTestPackets.pubcomp(id))
            }

            // A text payload arrives as its UTF-8 bytes.
            let text = try await bridge.publish(#"{"topic": "push/user/42", "payload": "h\u00e9llo \"w\"\n"}"#)
            #expect(text.status == 200, "\(text)")
            let second = try MQTTTestPackets.decodePublish(try await subscriber.receiveBinaryMessage())
            #expect(Array(second.payload.readableBytesView) == Array("héllo \"w\"\n".utf8))
        }
    }

    @Test("MQTT 5 properties reach an MQTT 5 subscriber")
    func properties() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let subscriber = try await bridge.connectMQTT(path: "/wss", clientID: "v5-props", version: .v5)
            try await subscriber.sendBinary(MQTTTestPackets.subscribe("props/#", qos: 0, packetID: 1, version: .v5))
            _ = try await subscriber.receiveBinaryMessage()
            try await bridge.waitForPublishers()
            let response = try await bridge.publish(
                #"{"topic": "props/a", "payload": "x", "content_type": "text/plain", "message_expiry": 60, "user_properties": {"source": "billing"}}"#
            )
            #expect(response.status == 200, "\(response)")
            let packet = try await subscriber.receiveBinaryMessage()
            let bytes = String(decoding: packet, as: UTF8.self)
            #expect(bytes.contains("text/plain"))
            #expect(bytes.contains("source") && bytes.contains("billing"))
        }
    }

    @Test("retain: true is honoured for later subscribers; an empty retained payload clears it")
    func retained() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            try await bridge.waitForPublishers()
            let response = try await bridge.publish(#"{"topic": "state/lamp", "payload": "on", "qos": 1, "retain": true}"#)
            #expect(response.status == 200, "\(response)")
            #expect(try response.json()["retain"] as? Bool == true)

            let later = try await bridge.connectMQTT(path: "/wss", clientID: "late-subscriber")
            try await later.sendBinary(MQTTTestPackets.subscribe("state/#", qos: 0, packetID: 1))
            _ = try await later.receiveBinaryMessage()  // SUBACK
            let publish = try MQTTTestPackets.decodePublish(try await later.receiveBinaryMessage())
            #expect(publish.info.retain == true)
            #expect(Array(publish.payload.readableBytesView) == Array("on".utf8))

            #expect(try await bridge.publish(#"{"topic": "state/lamp", "payload": "", "qos": 1, "retain": true}"#).status == 200)
            let fresh = try await bridge.connectMQTT(path: "/wss", clientID: "fresh-subscriber")
            try await fresh.sendBinary(MQTTTestPackets.subscribe("state/#", qos: 0, packetID: 1))
            _ = try await fresh.receiveBinaryMessage()  // SUBACK
            try await fresh.sendBinary(MQTTTestPackets.pingreq)
            #expect(try await fresh.receiveBinaryMessage() == MQTTTestPackets.pingresp, "no retained message any more")
        }
    }

    @Test(
        "Invalid topics are refused with 400 and libmosquitto's reason",
        arguments: [
            ("\"a/+/b\"", "wildcards"),
            ("\"#\"", "wildcards"),
            ("\"\"", "empty"),
            ("\"bad\\udc80topic\"", "UTF-8"),  // a lone surrogate escape in the JSON
            ("\"nul\\u0000\"", "UTF-8"),
        ])
    func invalidTopics(topic: String, reason: String) async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let response = try await bridge.publish(#"{"topic": \#(topic), "payload": "x"}"#)
            #expect(response.status == 400, "\(response)")
            let body = try response.json()
            #expect(body["field"] as? String == "topic")
            #expect((body["error"] as? String)?.contains(reason) == true, "\(response)")
        }
    }

    @Test("A topic with raw invalid UTF-8 bytes in the JSON is refused with 400")
    func rawInvalidBytes() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let body = Array(#"{"topic": "a/"#.utf8) + [0xFF, 0xFE] + Array(#"", "payload": "x"}"#.utf8)
            let response = try await bridge.publish(bytes: body)
            #expect(response.status == 400, "\(response)")
            #expect(try response.json()["field"] as? String == "topic")
            #expect(response.text.contains("UTF-8"))
        }
    }

    @Test(
        "Malformed or mistyped bodies answer 400 naming the field",
        arguments: [
            (#"{"topic": "a", "payload": "x", "qos": }"#, "qos"),
            (#"{"topic": "a", "payload": "x", "qos": 3}"#, "qos"),
            (#"{"topic": "a", "payload": "x", "retain": "yes"}"#, "retain"),
            (#"{"topic": "a", "payload": "x", "retian": true}"#, "retian"),
            (#"{"topic": "a"}"#, "payload"),
            (#"{"topic": "a", "payload": "x", "payload_base64": "eA=="}"#, "payload_base64"),
            (#"{"topic": "a", "payload_base64": "not base64!"}"#, "payload_base64"),
            (#"{"payload": "x"}"#, "topic"),
            (#"{"topic": 5, "payload": "x"}"#, "topic"),
            (#"{"topic": "a", "payload": "x", "message_expiry": -1}"#, "message_expiry"),
            (#"{"topic": "a", "payload": "x", "user_properties": {"k": 1}}"#, "user_properties"),
            (#"{"topic": "a", "topic": "b", "payload": "x"}"#, "topic"),
        ])
    func badBodies(body: String, field: String) async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let response = try await bridge.publish(body)
            #expect(response.status == 400, "\(response)")
            #expect(try response.json()["field"] as? String == field, "\(response)")
        }
    }

    @Test("Not JSON at all, or not an object: 400 with the reason")
    func notJSON() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let garbage = try await bridge.publish("topic=a&payload=x")
            #expect(garbage.status == 400)
            #expect(garbage.text.contains("invalid JSON"))
            let array = try await bridge.publish("[1, 2]")
            #expect(array.status == 400)
            #expect(array.text.contains("JSON object"))
            let noType = try await bridge.admin("POST", "/api/v1/publish", body: Array(#"{"topic":"a","payload":"x"}"#.utf8))
            #expect(noType.status == 415)
            let wrongMethod = try await bridge.admin("GET", "/api/v1/publish")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "POST")
        }
    }

    @Test("With a token: none → 401 with WWW-Authenticate: Bearer; a wrong one → 401; the right one → 200")
    func bearerToken() async throws {
        let token = "s3cr3t-token-0123456789abcdef"
        try await BridgeHarness.with(configure: { $0.admin.publish.token = token }, admin: true) { bridge in
            try await bridge.waitForPublishers()
            let message = #"{"topic": "t/1", "payload": "x"}"#
            let missing = try await bridge.publish(message)
            #expect(missing.status == 401)
            #expect(missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            let wrong = try await bridge.publish(message, token: token + "x")
            #expect(wrong.status == 401)
            #expect(wrong.header("WWW-Authenticate")?.contains("invalid_token") == true)
            let prefix = try await bridge.publish(message, token: String(token.dropLast()))
            #expect(prefix.status == 401)
            let right = try await bridge.publish(message, token: token)
            #expect(right.status == 200, "\(right)")
            // The health endpoints stay open.
            #expect(try await bridge.admin("GET", "/healthz").status == 200)
        }
    }

    @Test("Broker down: 503 at once with Retry-After, not a hang; publishing resumes after the broker is back")
    func brokerDown() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            try await bridge.waitForPublishers()
            await bridge.broker.stop()
            try await bridge.waitFor("the publisher pool to notice") { bridge.admin?.publisherConnections == 0 }
            // The client's own read timeout bounds this: a hung request fails the test.
            let response = try await bridge.publish(#"{"topic": "t/down", "payload": "x", "qos": 1}"#)
            #expect(response.status == 503, "\(response)")
            #expect(response.header("Retry-After") == "1")
            #expect(response.text.contains("nothing was sent"))

            try await bridge.broker.restart()
            try await bridge.waitForPublishers()
            #expect(try await bridge.publish(#"{"topic": "t/up", "payload": "x", "qos": 1}"#).status == 200)
        }
    }

    @Test("A body over admin.publish.max_body_size answers 413, announced or chunked, without reading it all")
    func oversize() async throws {
        try await BridgeHarness.with(configure: { $0.admin.publish.maxBodySize = 1024 }, admin: true) { bridge in
            let payload = String(repeating: "x", count: 4096)
            let announced = try await bridge.publish(#"{"topic": "big", "payload": "\#(payload)"}"#)
            #expect(announced.status == 413, "\(announced)")
            #expect(announced.header("Connection") == "close")

            // Chunked: the size is found while reading.
            let client = try await AdminHTTPClient.connect(port: bridge.adminPort)
            let body = Array(#"{"topic": "big", "payload": "\#(payload)"}"#.utf8)
            var request = Array(
                "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for chunk in stride(from: 0, to: body.count, by: 512).map({ Array(body[$0..<min($0 + 512, body.count)]) }) {
                request += Array(String(chunk.count, radix: 16).utf8) + [13, 10] + chunk + [13, 10]
            }
            request += Array("0\r\n\r\n".utf8)
            try await client.connection.send(request)
            let chunked = try await client.readResponse(method: "POST")
            #expect(chunked.status == 413, "\(chunked)")
            try await client.connection.expectClosed()

            // Expect: 100-continue with a too-large Content-Length: 413 straight away, the body is never sent.
            let careful = try await AdminHTTPClient.connect(port: bridge.adminPort)
            try await careful.connection.send(
                Array(
                    "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n"
                        .utf8))
            #expect(try await careful.readResponse(method: "POST").status == 413)
            await careful.close()

            // Within the limit, Expect: 100-continue gets the go-ahead first.
            try await bridge.waitForPublishers()
            let small = try await AdminHTTPClient.connect(port: bridge.adminPort)
            let smallBody = Array(#"{"topic": "small", "payload": "x"}"#.utf8)
            try await small.connection.send(
                Array(
                    "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(smallBody.count)\r\nExpect: 100-continue\r\n\r\n"
                        .utf8))
            #expect(try await small.readResponse(method: "POST").status == 100)
            try await small.connection.send(smallBody)
            #expect(try await small.readResponse(method: "POST").status == 200)
            await small.close()
        }
    }

    @Test("qos must be written 0, 1 or 2: -0 is refused like any other spelling", arguments: ["-0", "-1", "\"1\"", "true"])
    func qosSpelling(qos: String) async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let response = try await bridge.publish(#"{"topic": "a", "payload": "x", "qos": \#(qos)}"#)
            #expect(response.status == 400, "\(response)")
            #expect(try response.json()["field"] as? String == "qos", "\(response)")
        }
    }

    @Test("A chunked body announcing a chunk larger than admin.publish.max_body_size answers 413 at once, before its data")
    func hugeChunkAnnounced() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let client = try await AdminHTTPClient.connect(port: bridge.adminPort)
            // 1 GiB announced, a few bytes sent: the answer must not wait for the rest.
            try await client.connection.send(
                Array(
                    "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n40000000\r\n{\"topic\""
                        .utf8))
            let response = try await client.readResponse(method: "POST", timeout: .seconds(5))
            #expect(response.status == 413, "\(response)")
            #expect(response.header("Connection") == "close")
            #expect(try response.json()["error"] as? String == "the body is larger than admin.publish.max_body_size (1048576 bytes)")
            await client.close()
        }
    }
}
