import NIOCore
import NIOEmbedded
import Testing
import WebSocketTransport

/// The client side of the opening handshake: the request, the browser's checks on the answer, and the handler that
/// performs it and hands the connection to a client-role codec.
@Suite struct ClientHandshakeTests {
    /// RFC 6455 §1.3's example key and its accept value.
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func handshake(_ subprotocols: [String] = ["mqtt"], strict: Bool = true) -> WebSocketClientHandshake {
        WebSocketClientHandshake(
            host: "broker.example.com:8443", path: "/mqtt", subprotocols: subprotocols, requiresSubprotocolAnswer: strict, key: key)
    }

    static func response(subprotocol: String? = "mqtt", accept: String = Self.accept, extraHeaders: String = "") -> String {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        return text + extraHeaders + "\r\n"
    }

    @Test func theRequest() {
        let lines = Self.handshake(["mqtt", "mqttv3.1"]).request.components(separatedBy: "\r\n")
        #expect(lines.first == "GET /mqtt HTTP/1.1")
        #expect(lines.contains("Host: broker.example.com:8443"))
        #expect(lines.contains("Sec-WebSocket-Key: \(Self.key)"))
        #expect(lines.contains("Sec-WebSocket-Version: 13"))
        #expect(lines.contains("Sec-WebSocket-Protocol: mqtt, mqttv3.1"))
        #expect(!Self.handshake([]).request.contains("Sec-WebSocket-Protocol"), "WeChat offers none")
    }

    @Test func acceptsAProperAnswer() throws {
        #expect(try Self.handshake().validate(responseHead: Self.response()) == "mqtt")
        #expect(try Self.handshake([]).validate(responseHead: Self.response(subprotocol: nil)) == nil)
        #expect(
            try Self.handshake(strict: false).validate(responseHead: Self.response(subprotocol: nil)) == nil, "RFC 6455 allows no choice")
        // Header names are case-insensitive; Connection may list several tokens.
        let relaxed =
            "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: \(Self.accept)\r\n\r\n"
        #expect(try Self.handshake([]).validate(responseHead: relaxed) == nil)
    }

    @Test(arguments: [
        ("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", ["mqtt"], "upgrade refused: \"HTTP/1.1 400 Bad Request\""),
        ("SSH-2.0-OpenSSH\r\n\r\n", ["mqtt"], "not an HTTP response"),
        ("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n", ["mqtt"], "Upgrade: websocket"),
        ("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n", ["mqtt"], "Connection: Upgrade"),
        (response(accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), ["mqtt"], "Sec-WebSocket-Accept"),
        (response(subprotocol: "mqtt"), [], "although none was offered (WeChat"),
        (response(subprotocol: nil), ["mqtt"], "the answer has none (browsers"),
        (response(subprotocol: "mqttv3.1"), ["mqtt"], "the server answered mqttv3.1"),
        (response(subprotocol: "mqtt, mqttv3.1"), ["mqtt", "mqttv3.1"], "the server answered mqtt, mqttv3.1"),
        (response(extraHeaders: "Sec-WebSocket-Extensions: permessage-deflate\r\n"), ["mqtt"], "extensions"),
        ("HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n", ["mqtt"], "malformed header line"),
    ])
    func refusesWhatABrowserRefuses(response: String, offer: [String], fragment: String) {
        #expect {
            try Self.handshake(offer).validate(responseHead: response)
        } throws: { error in
            (error as? WebSocketClientHandshakeError)?.reason.contains(fragment) == true
        }
    }

    @Test func findsTheEndOfTheHead() {
        #expect(WebSocketClientHandshake.responseHeadLength(in: ByteBuffer(string: "HTTP/1.1 101 OK\r\n")) == nil)
        #expect(WebSocketClientHandshake.responseHeadLength(in: ByteBuffer(string: "HTTP/1.1 101 OK\r\n\r\nxyz")) == 19)
    }

    // MARK: The handler

    final class Upgrade {
        let channel = EmbeddedChannel()
        let recorder = Recorder()
        let upgraded: EventLoopPromise<String?>
        var result: Result<String?, any Error>?

        init(strict: Bool = true) throws {
            self.upgraded = self.channel.eventLoop.makePromise(of: String?.self)
            let handler = WebSocketClientUpgradeHandler(
                handshake: ClientHandshakeTests.handshake(strict: strict), codec: .init(), upgraded: self.upgraded)
            try self.channel.pipeline.syncOperations.addHandlers([handler, self.recorder])
            self.upgraded.futureResult.assumeIsolated().whenComplete { self.result = $0 }
            try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        deinit {
            self.upgraded.fail(ChannelError.ioOnClosedChannel)
            _ = try? self.channel.finish(acceptAlreadyClosed: true)
        }
    }

    @Test func theRequestGoesOutWhenActiveAndTheCodecTakesOverAfterThe101() throws {
        let upgrade = try Upgrade()
        let request = try #require(try upgrade.channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: request) == Self.handshake().request)
        var answer = ByteBuffer(string: Self.response())
        answer.writeBytes([0x82, 0x02, 0x20, 0x00])  // the first frame, right behind the head
        try upgrade.channel.writeInbound(answer.getSlice(at: 0, length: 30)!)
        #expect(upgrade.result == nil)
        try upgrade.channel.writeInbound(answer.getSlice(at: 30, length: answer.readableBytes - 30)!)
        #expect(try upgrade.result?.get() == "mqtt")
        #expect(upgrade.recorder.delivered == [0x20, 0x00])
        _ = try upgrade.channel.pipeline.syncOperations.handler(type: WebSocketMessageCodec.self)  // the codec took over
        #expect(throws: (any Error).self, "the upgrade handler removed itself") {
            try upgrade.channel.pipeline.syncOperations.handler(type: WebSocketClientUpgradeHandler.self)
        }
        // Writes now go through the client-role codec: masked.
        try upgrade.channel.writeOutbound(WebSocketOutbound.binary(ByteBuffer(bytes: [1, 2, 3])))
        let frame = try #require(try upgrade.channel.readOutbound(as: ByteBuffer.self))
        #expect(frame.getInteger(at: 1, as: UInt8.self) == 0x83, "mask bit, 3 bytes")
    }

    @Test func aBadAnswerFailsTheUpgradeAndClosesTheConnection() throws {
        let upgrade = try Upgrade()
        _ = try upgrade.channel.readOutbound(as: ByteBuffer.self)
        // The error is also passed on down the pipeline (EmbeddedChannel rethrows it).
        #expect(throws: WebSocketClientHandshakeError.self) {
            try upgrade.channel.writeInbound(ByteBuffer(string: Self.response(subprotocol: nil)))
        }
        #expect(throws: WebSocketClientHandshakeError.self) { try upgrade.result?.get() }
        #expect(!upgrade.channel.isActive)
    }

    @Test func anEndlessHeadIsRefused() throws {
        let upgrade = try Upgrade()
        #expect(throws: WebSocketClientHandshakeError.self) {
            try upgrade.channel.writeInbound(
                ByteBuffer(string: "HTTP/1.1 101 OK\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 800)))
        }
        #expect(throws: WebSocketClientHandshakeError.self) { try upgrade.result?.get() }
        #expect(!upgrade.channel.isActive)
    }

    @Test func theServerClosingDuringTheHandshakeFailsIt() throws {
        let upgrade = try Upgrade()
        upgrade.channel.pipeline.fireChannelInactive()
        #expect(throws: WebSocketClientHandshakeError("the server closed the connection during the WebSocket handshake")) {
            try upgrade.result?.get()
        }
    }

    @Test func writesBeforeTheUpgradeFail() throws {
        let upgrade = try Upgrade()
        _ = try upgrade.channel.readOutbound(as: ByteBuffer.self)
        #expect(throws: WebSocketClientHandshakeError.self) {
            try upgrade.channel.writeOutbound(WebSocketOutbound.binary(ByteBuffer(bytes: [1])))
        }
        #expect(try upgrade.channel.readOutbound(as: ByteBuffer.self) == nil)
    }
}
