import BridgeServer
import BridgeTLS
import BridgeTestSupport
import Foundation
import Testing

/// Self-tests of the raw test clients: against Mosquitto (a real, independent WebSocket server) and against
/// scripted servers that send exactly the bytes each case needs.
@Suite struct TestSupportTests {
    /// MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "a":
    /// fixed header 10, remaining length 13 = variable header 10 (00 04 "MQTT", level 04, flags 02, 00 3C) + payload 3 (00 01 "a").
    static let connect: [UInt8] = [0x10, 0x0D, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, 0x61]
    /// CONNACK, session present 0, return code 0 (accepted).
    static let connack: [UInt8] = [0x20, 0x02, 0x00, 0x00]
    static let pingreq: [UInt8] = [0xC0, 0x00]
    static let pingresp: [UInt8] = [0xD0, 0x00]
    static let disconnect: [UInt8] = [0xE0, 0x00]

    @Test func acceptValueMatchesTheRFC6455Example() {
        // RFC 6455 §1.3.
        #expect(WebSocketHandshakeKey.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(WebSocketHandshakeKey.random().count == 24)
        #expect(ByteFormatting.bytes(fromHex: "20 02 00 00") == Self.connack)
        #expect(ByteFormatting.hex(Self.connack) == "20 02 00 00")
    }

    // MARK: - Against Mosquitto

    @Test func mosquittoWebSocketsEchoesMQTTSubprotocolAndAnswersConnect() async throws {
        try await withBroker { broker in
            let port = try #require(broker.websocketsPort)
            let (response, client) = try await TestWebSocketClient.connect(host: broker.host, port: port, path: "/mqtt")
            #expect(response.status == 101, "\(response)")
            #expect(response.values("sec-websocket-protocol") == ["mqtt"], "\(response)")
            let ws = try #require(client)

            try await ws.sendBinary(Self.connect)
            #expect(try await ws.receiveBinaryMessage() == Self.connack)

            // An MQTT packet split across a binary frame and a continuation frame.
            try await ws.sendBinary(Self.pingreq, fragmentSize: 1)
            #expect(try await ws.receiveBinaryMessage() == Self.pingresp)

            // Nothing else is due: a short receive must time out, and say what had arrived.
            let error = await #expect(throws: TestClientError.self) { try await ws.receiveFrame(timeout: .milliseconds(200)) }
            #expect(error?.kind == .timedOut)
            #expect(error?.description.contains("timed out after 200ms waiting for a frame; received so far: ") == true)
            #expect(error?.description.contains("binary 4 B: 20 02 00 00") == true, "\(String(describing: error))")

            // DISCONNECT: the broker closes the connection.
            try await ws.sendBinary(Self.disconnect)
            try await ws.expectTCPClose()
            #expect(ws.isTCPClosed)
            let closed = await #expect(throws: TestClientError.self) { try await ws.receiveBinaryMessage(timeout: .seconds(1)) }
            #expect(closed?.kind == .connectionClosed)
        }
    }

    @Test func closeHandshakeWithMosquitto() async throws {
        try await withBroker { broker in
            let port = try #require(broker.websocketsPort)
            let ws = try #require(try await TestWebSocketClient.connect(host: broker.host, port: port, path: "/mqtt").client)
            try await ws.sendBinary(Self.connect)
            #expect(try await ws.receiveBinaryMessage() == Self.connack)
            let reply = try await ws.close(code: 1000)
            #expect(reply?.code == 1000, "\(ws.summary)")
            try await ws.expectTCPClose()
        }
    }

    @Test func mosquittoTCPListenerAnswersConnect() async throws {
        try await withBroker { broker in
            let tcp = try await TestTCPClient.connect(host: broker.host, port: broker.port)
            try await tcp.send(Self.connect)
            #expect(try await tcp.receive(count: 4, timeout: .seconds(5)) == Self.connack)
            try await tcp.send(Self.pingreq + Self.pingreq)
            #expect(try await tcp.receive(count: 2, timeout: .seconds(5)) == Self.pingresp)
            #expect(try await tcp.receive(count: 2, timeout: .seconds(5)) == Self.pingresp)
            let error = await #expect(throws: TestClientError.self) { try await tcp.receiveAvailable(timeout: .milliseconds(200)) }
            #expect(error?.kind == .timedOut)
            try await tcp.send(Self.disconnect)
            try await tcp.expectClosed()
            #expect(tcp.isClosed)
        }
    }

    // MARK: - Handshake parsing, against scripted servers

    @Test func non101ResponsesAreReadWithTheirBodies() async throws {
        let cases: [(reply: String, status: Int, body: String)] = [
            ("HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nX-Extra: a\r\nX-Extra: b\r\n\r\nbad request", 400, "bad request"),
            (
                "HTTP/1.1 426 Upgrade Required\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                426, "hello world"
            ),
            ("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nno such route", 404, "no such route"),
        ]
        for (reply, status, body) in cases {
            // The close-delimited case closes after replying; the others keep the connection open.
            let server = try await ScriptedTCPServer.start(script: Self.afterRequestHead(reply: Array(reply.utf8), close: status == 404))
            let (response, client) = try await TestWebSocketClient.connect(host: server.host, port: server.port, path: "/x")
            #expect(client == nil)
            #expect(response.status == status)
            #expect(response.body == body, "\(response)")
            #expect(response.rawHead == reply.components(separatedBy: "\r\n\r\n")[0] + "\r\n\r\n")
            if status == 400 {
                #expect(response.reason == "Bad Request")
                #expect(response.values("x-extra") == ["a", "b"])
                #expect(response.values("Sec-WebSocket-Protocol").isEmpty)
            }
            await server.stop()
        }
    }

    @Test func requestHeadersCanBeOmittedOverriddenAndAdded() async throws {
        let server = try await ScriptedTCPServer.start(
            script: Self.afterRequestHead(reply: Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8), close: false)
        )
        _ = try await TestWebSocketClient.connect(
            host: server.host, port: server.port, path: "/wss?x=1", subprotocols: nil,
            extraHeaders: [("Sec-WebSocket-Version", "8"), ("Origin", "https://servicewechat.com")], omitHeaders: ["upgrade"]
        )
        _ = try await TestWebSocketClient.connect(host: server.host, port: server.port, path: "/mqtt", subprotocols: ["mqtt", "mqttv3.1"])
        let requests = server.receivedByConnection.map { String(decoding: $0, as: UTF8.self) }
        try #require(requests.count == 2)
        let first = requests[0]
        #expect(first.hasPrefix("GET /wss?x=1 HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nConnection: Upgrade\r\n"), "\(first)")
        #expect(!first.lowercased().contains("upgrade: websocket"))
        #expect(!first.lowercased().contains("sec-websocket-protocol"))
        #expect(first.contains("\r\nSec-WebSocket-Version: 8\r\n"))
        #expect(!first.contains("Sec-WebSocket-Version: 13"))
        #expect(first.hasSuffix("\r\nOrigin: https://servicewechat.com\r\n\r\n"))
        #expect(requests[1].contains("\r\nSec-WebSocket-Protocol: mqtt, mqttv3.1\r\n"), "\(requests[1])")
        await server.stop()
    }

    @Test func a101WithAWrongAcceptIsRefused() async throws {
        let reply =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        let server = try await ScriptedTCPServer.start(script: Self.afterRequestHead(reply: Array(reply.utf8), close: false))
        let error = await #expect(throws: TestClientError.self) {
            try await TestWebSocketClient.connect(host: server.host, port: server.port, path: "/mqtt")
        }
        #expect(error?.kind == .handshakeFailed)
        #expect(error?.description.contains("Sec-WebSocket-Accept") == true, "\(String(describing: error))")
        await server.stop()
    }

    @Test func aServerThatClosesWithoutAnswerGivesConnectionClosed() async throws {
        let server = try await ScriptedTCPServer.start { unconsumed in
            unconsumed.isEmpty ? nil : ScriptedTCPServer.Reply(bytes: [], close: true)
        }
        let error = await #expect(throws: TestClientError.self) {
            try await TestWebSocketClient.rawRequest(host: server.host, port: server.port, bytes: Array("GARBAGE\r\n\r\n".utf8))
        }
        #expect(error?.kind == .connectionClosed)

        let silent = try await ScriptedTCPServer.start { _ in nil }
        let timeout = await #expect(throws: TestClientError.self) {
            try await TestWebSocketClient.rawRequest(
                host: silent.host, port: silent.port, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8), timeout: .milliseconds(300)
            )
        }
        #expect(timeout?.kind == .timedOut)
        #expect(String(decoding: silent.receivedByConnection.first ?? [], as: UTF8.self) == "GET / HTTP/1.1\r\n\r\n")
        await server.stop()
        await silent.stop()
    }

    /// A server that sends frames in the same write as its 101, then a ping and a close: the client must find
    /// the frames, answer the ping and the close like a browser, and see the TCP close.
    @Test func framesAfterThe101AreDecodedAndPingAndCloseAreAnswered() async throws {
        let server = try await ScriptedTCPServer.start { unconsumed in
            if unconsumed.starts(with: Array("GET ".utf8)) {
                guard let head = Self.requestHead(unconsumed) else { return nil }
                unconsumed.removeFirst(head.utf8.count)
                let key =
                    head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }?
                    .dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) ?? ""
                let response =
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: \(WebSocketHandshakeKey.acceptValue(forKey: key))\r\n\r\n"
                let frames: [UInt8] =
                    [0x02, 0x01, 0xAB, 0x80, 0x01, 0xCD]  // "AB" then "CD" as binary + continuation
                    + [0x89, 0x01, 0x70]  // ping "p"
                    + [0x88, 0x02, 0x03, 0xE9]  // close 1001
                return ScriptedTCPServer.Reply(bytes: Array(response.utf8) + frames)
            }
            // After the 101: wait for the client's close frame, then close TCP as the server must.
            let frames = Self.clientFrames(unconsumed)
            guard frames.contains(where: { $0.opcode == 0x8 }) else { return nil }
            unconsumed.removeAll()
            return ScriptedTCPServer.Reply(bytes: [], close: true)
        }
        let (response, client) = try await TestWebSocketClient.connect(host: server.host, port: server.port, path: "/mqtt")
        #expect(response.status == 101)
        #expect(response.values("Sec-WebSocket-Protocol").isEmpty)
        let ws = try #require(client)
        #expect(try await ws.receiveBinaryMessage() == [0xAB, 0xCD])
        let close = try await ws.expectClose()
        #expect(close.code == 1001)
        #expect(ws.receivedPings == [[0x70]])

        let received = try #require(server.receivedByConnection.first)
        let head = try #require(Self.requestHead(received))
        let sent = Self.clientFrames(Array(received.dropFirst(head.utf8.count)))
        #expect(sent.map(\.opcode) == [0xA, 0x8], "\(sent)")
        #expect(sent.allSatisfy { $0.masked })
        #expect(sent.first?.payload == [0x70])
        #expect(sent.last?.payload == [0x03, 0xE9])
        await server.stop()
    }

    @Test func outgoingFramesAreMaskedUnlessAskedOtherwise() async throws {
        let server = try await ScriptedTCPServer.start(script: Self.upgrading { _ in nil })
        let ws = try #require(try await TestWebSocketClient.connect(host: server.host, port: server.port, path: "/").client)
        try await ws.sendBinary([1, 2, 3])
        try await ws.sendFrame(opcode: .text, payload: Array("hi".utf8), masked: false, reservedBits: 0x40)
        try await ws.sendRaw([0x82, 0x00])
        // Wait until the server has all three frames (polling with a deadline).
        let deadline = ContinuousClock.now + .seconds(5)
        var frames: [ClientFrame] = []
        while ContinuousClock.now < deadline {
            let received = server.receivedByConnection.first ?? []
            let head = Self.requestHead(received)?.utf8.count ?? received.count
            frames = Self.clientFrames(Array(received.dropFirst(head)))
            if frames.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try #require(frames.count == 3, "\(frames)")
        #expect(frames[0] == ClientFrame(first: 0x82, masked: true, payload: [1, 2, 3]))
        #expect(frames[1] == ClientFrame(first: 0xC1, masked: false, payload: Array("hi".utf8)))
        #expect(frames[2] == ClientFrame(first: 0x82, masked: false, payload: []))
        await ws.closeTCP()
        await server.stop()
    }

    /// A paused client reads nothing (the server's frame waits in the socket) until it resumes.
    @Test func pausedClientReadsNothingUntilResumed() async throws {
        // Each client frame makes the server send one binary frame "AB".
        let server = try await ScriptedTCPServer.start(
            script: Self.upgrading { unconsumed in
                let frames = Self.clientFrames(unconsumed)
                guard !frames.isEmpty else { return nil }
                unconsumed.removeAll()
                return ScriptedTCPServer.Reply(bytes: [0x82, 0x02, 0xAB, 0xCD])
            })
        let ws = try #require(try await TestWebSocketClient.connect(host: server.host, port: server.port, path: "/").client)
        try await ws.sendBinary([1])
        #expect(try await ws.receiveBinaryMessage() == [0xAB, 0xCD])

        try await ws.pauseReading()
        try await ws.sendBinary([2])
        let error = await #expect(throws: TestClientError.self) { try await ws.receiveFrame(timeout: .milliseconds(300)) }
        #expect(error?.kind == .timedOut)
        try await ws.resumeReading()
        #expect(try await ws.receiveBinaryMessage() == [0xAB, 0xCD])
        await ws.closeTCP()
        await server.stop()
    }

    /// wss: the same client through TLS, trusting a development CA and checking the name.
    @Test func webSocketOverTLS() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wss-test-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try DevelopmentCertificate.ensure(in: directory)
        let server = try await ScriptedTCPServer.start(
            tls: .init(certificatePEMPath: paths.certificate, privateKeyPEMPath: paths.key),
            script: Self.upgrading { unconsumed in
                guard !Self.clientFrames(unconsumed).isEmpty else { return nil }
                unconsumed.removeAll()
                return ScriptedTCPServer.Reply(bytes: [0x82, 0x01, 0x42])
            }
        )
        let tls = TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: "localhost")
        let (response, client) = try await TestWebSocketClient.connect(
            host: server.host, port: server.port, path: "/wss", tls: tls, subprotocols: nil
        )
        #expect(response.status == 101)
        let ws = try #require(client)
        try await ws.sendBinary([0])
        #expect(try await ws.receiveBinaryMessage() == [0x42])
        await ws.closeTCP()

        // Trusting another CA, the handshake fails, and connect says so.
        let otherCA = try DevelopmentCertificate.ensure(in: directory + "/other").caCertificate
        let untrusted = await #expect(throws: TestClientError.self) {
            try await TestWebSocketClient.connect(
                host: server.host, port: server.port, path: "/wss", tls: TestTLS(trustRootsPEMPath: otherCA, serverName: "localhost")
            )
        }
        #expect(untrusted?.kind == .connectFailed, "\(String(describing: untrusted))")
        await server.stop()
    }

    // MARK: - Helpers

    private func withBroker(_ body: (MosquittoProcess) async throws -> Void) async throws {
        let broker = try await MosquittoProcess.start(websockets: true)
        do {
            try await body(broker)
        } catch {
            await broker.stop()
            Issue.record("broker log:\n\(broker.log())")
            throw error
        }
        await broker.stop()
    }

    /// Answers the upgrade request with a valid 101 (no subprotocol), then hands later bytes to `afterUpgrade`.
    static func upgrading(then afterUpgrade: @escaping ScriptedTCPServer.Script) -> ScriptedTCPServer.Script {
        { unconsumed in
            guard unconsumed.starts(with: Array("GET ".utf8)) else { return afterUpgrade(&unconsumed) }
            guard let head = requestHead(unconsumed) else { return nil }
            unconsumed.removeFirst(head.utf8.count)
            let key =
                head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }?
                .dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) ?? ""
            let response =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(WebSocketHandshakeKey.acceptValue(forKey: key))\r\n\r\n"
            return ScriptedTCPServer.Reply(bytes: Array(response.utf8))
        }
    }

    /// Replies once the request head is complete.
    static func afterRequestHead(reply: [UInt8], close: Bool) -> ScriptedTCPServer.Script {
        { unconsumed in
            guard let head = requestHead(unconsumed) else { return nil }
            unconsumed.removeFirst(head.utf8.count)
            return ScriptedTCPServer.Reply(bytes: reply, close: close)
        }
    }

    /// The request head (through CRLF CRLF) at the start of `bytes`, if complete.
    static func requestHead(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[..<end.upperBound])
    }

    /// A frame as a client sent it (first byte, mask bit, unmasked payload): an independent mini-decoder.
    struct ClientFrame: Equatable, CustomStringConvertible {
        var first: UInt8
        var masked: Bool
        var payload: [UInt8]
        var opcode: UInt8 { first & 0x0F }
        var description: String { "\(ByteFormatting.hex([first])) masked=\(masked) \(ByteFormatting.hex(payload))" }
    }

    /// Decodes the complete short frames (payload < 126) at the start of `bytes`.
    static func clientFrames(_ bytes: [UInt8]) -> [ClientFrame] {
        var frames: [ClientFrame] = []
        var index = 0
        while index + 2 <= bytes.count {
            let masked = bytes[index + 1] & 0x80 != 0
            let length = Int(bytes[index + 1] & 0x7F)
            guard length < 126 else { break }
            let payloadStart = index + 2 + (masked ? 4 : 0)
            guard payloadStart + length <= bytes.count else { break }
            var payload = Array(bytes[payloadStart..<(payloadStart + length)])
            if masked {
                let key = bytes[(index + 2)..<(index + 6)].map { $0 }
                for offset in payload.indices { payload[offset] ^= key[offset % 4] }
            }
            frames.append(ClientFrame(first: bytes[index], masked: masked, payload: payload))
            index = payloadStart + length
        }
        return frames
    }
}
