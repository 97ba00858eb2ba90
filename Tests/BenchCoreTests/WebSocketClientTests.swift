import MQTTWire
import NIOCore
import NIOEmbedded
import Testing
import WebSocketTransport

@testable import BenchCore

/// Collects what the WebSocket handler passes up: MQTT bytes, transport events, errors.
final class InboundRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var bytes: [UInt8] = []
    var reads = 0
    var events: [BenchTransportEvent] = []
    var errors: [any Error] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.reads += 1
        self.bytes += Array(self.unwrapInboundIn(data).readableBytesView)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? BenchTransportEvent { self.events.append(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.errors.append(error)
    }
}

/// A frame the client sent, unmasked.
struct SentFrame: Equatable {
    var opcode: WebSocketOpcode
    var fin: Bool
    var masked: Bool
    var payload: [UInt8]
}

@Suite struct WebSocketClientHandlerTests {
    /// RFC 6455 §1.3's example key and its accept value.
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func makeChannel(subprotocol: String? = "mqtt") throws -> (EmbeddedChannel, InboundRecorder) {
        let channel = EmbeddedChannel()
        let target = try BenchTarget(parsing: "wss://broker.example.com:8443/wss")
        let handler = WebSocketClientHandler(
            target: target, handshake: WebSocketClientHandshake(key: Self.key, subprotocol: subprotocol), maskingSeed: 42)
        let recorder = InboundRecorder()
        try channel.pipeline.syncOperations.addHandlers([handler, recorder])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, recorder)
    }

    static func response(subprotocol: String? = "mqtt", accept: String = Self.accept, extraHeaders: String = "") -> String {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        return text + extraHeaders + "\r\n"
    }

    static func upgradedChannel() throws -> (EmbeddedChannel, InboundRecorder) {
        let (channel, recorder) = try Self.makeChannel()
        _ = try channel.readOutbound(as: ByteBuffer.self)
        try channel.writeInbound(ByteBuffer(string: Self.response()))
        return (channel, recorder)
    }

    /// Decodes every frame in the channel's outbound buffers.
    static func sentFrames(_ channel: EmbeddedChannel) throws -> [SentFrame] {
        var all = ByteBuffer()
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            all.writeBuffer(&buffer)
        }
        var frames: [SentFrame] = []
        while all.readableBytes > 0 {
            let read = try WebSocketFrameHeader.read(from: &all)
            let header = try #require(read)
            let slice = all.readSlice(length: header.payloadLength)
            var payload = try #require(slice)
            if let key = header.maskingKey {
                payload.maskReadableBytes(key: key)
            }
            frames.append(SentFrame(opcode: header.opcode, fin: header.fin, masked: header.maskingKey != nil, payload: Array(payload.readableBytesView)))
        }
        return frames
    }

    @Test func sendsABrowserLikeUpgradeRequest() throws {
        let (channel, _) = try Self.makeChannel()
        let request = String(buffer: try #require(try channel.readOutbound(as: ByteBuffer.self)))
        let lines = request.components(separatedBy: "\r\n")
        #expect(lines.first == "GET /wss HTTP/1.1")
        #expect(lines.contains("Host: broker.example.com:8443"))
        #expect(lines.contains("Upgrade: websocket"))
        #expect(lines.contains("Connection: Upgrade"))
        #expect(lines.contains("Sec-WebSocket-Key: \(Self.key)"))
        #expect(lines.contains("Sec-WebSocket-Version: 13"))
        #expect(lines.contains("Sec-WebSocket-Protocol: mqtt"))
        #expect(request.hasSuffix("\r\n\r\n"))

        let (weChat, _) = try Self.makeChannel(subprotocol: nil)
        let weChatRequest = String(buffer: try #require(try weChat.readOutbound(as: ByteBuffer.self)))
        #expect(!weChatRequest.contains("Sec-WebSocket-Protocol"), "WeChat offers no subprotocol")
    }

    @Test func upgradeThenFramesInTheSameRead() throws {
        let (channel, recorder) = try Self.makeChannel()
        _ = try channel.readOutbound(as: ByteBuffer.self)
        var bytes = ByteBuffer(string: Self.response())
        bytes.writeBytes([0x82, 0x04, 0x20, 0x02, 0x00, 0x00])  // binary frame: CONNACK
        // The response arrives in two pieces, the second one carrying the first frame too.
        try channel.writeInbound(bytes.getSlice(at: 0, length: 20))
        #expect(recorder.events.isEmpty)
        try channel.writeInbound(bytes.getSlice(at: 20, length: bytes.readableBytes - 20))
        #expect(recorder.events == [.ready])
        #expect(recorder.bytes == [0x20, 0x02, 0x00, 0x00])
        #expect(recorder.errors.isEmpty)
    }

    @Test func framesSplitAnywhereAreReassembled() throws {
        let (channel, recorder) = try Self.upgradedChannel()
        let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        var frame: [UInt8] = [0x82, 0x7E, 0x01, 0x2C] + payload  // 300 bytes, 16-bit length
        frame += [0x02, 0x02, 0xAA, 0xBB]  // a first fragment…
        frame += [0x80, 0x01, 0xCC]  // …and its continuation
        // Feed it in awkward pieces: inside the header, inside the extended length, inside the payload.
        let cuts = [1, 3, 4, 150, 305, 307, frame.count]
        var start = 0
        for cut in cuts {
            try channel.writeInbound(ByteBuffer(bytes: frame[start..<cut]))
            start = cut
        }
        #expect(recorder.bytes == payload + [0xAA, 0xBB, 0xCC])
        #expect(recorder.errors.isEmpty)
    }

    @Test func packetsGoOutAsOneMaskedFramePerPacket() throws {
        let (channel, _) = try Self.upgradedChannel()
        var packets = ByteBuffer()
        MQTTPacket.writeConnect(version: .v3_1_1, clientID: "abc", to: &packets)
        let connect = Array(packets.readableBytesView)
        MQTTPacket.writePublish(topic: "t", payload: ByteBuffer(repeating: 7, count: 200), version: .v3_1_1, to: &packets)
        let publish = Array(packets.readableBytesView.dropFirst(connect.count))
        try channel.writeOutbound(packets)
        let frames = try Self.sentFrames(channel)
        #expect(frames == [
            SentFrame(opcode: .binary, fin: true, masked: true, payload: connect),
            SentFrame(opcode: .binary, fin: true, masked: true, payload: publish),
        ])
    }

    @Test func maskingKeysDifferPerFrame() throws {
        let (channel, _) = try Self.upgradedChannel()
        var keys: Set<UInt32> = []
        for _ in 0..<20 {
            var packet = ByteBuffer()
            MQTTPacket.writePingreq(to: &packet)
            try channel.writeOutbound(packet)
            var frame = try #require(try channel.readOutbound(as: ByteBuffer.self))
            let read = try WebSocketFrameHeader.read(from: &frame)
            let header = try #require(read)
            keys.insert(try #require(header.maskingKey).networkOrder)
        }
        #expect(keys.count == 20)
    }

    @Test func pingIsAnsweredWithAMaskedPong() throws {
        let (channel, recorder) = try Self.upgradedChannel()
        try channel.writeInbound(ByteBuffer(bytes: [0x89, 0x02, 0x68, 0x69]))
        #expect(try Self.sentFrames(channel) == [SentFrame(opcode: .pong, fin: true, masked: true, payload: [0x68, 0x69])])
        #expect(recorder.bytes.isEmpty)
    }

    @Test func serverCloseIsAnsweredAndReported() throws {
        let (channel, recorder) = try Self.upgradedChannel()
        try channel.writeInbound(ByteBuffer(bytes: [0x88, 0x02, 0x03, 0xF1]))  // 1009
        #expect(recorder.events == [.ready, .closeReceived(code: 1009)])
        #expect(try Self.sentFrames(channel) == [SentFrame(opcode: .close, fin: true, masked: true, payload: [0x03, 0xF1])])
        #expect(!channel.isActive)
    }

    @Test func clientCloseSendsACloseFrameFirst() throws {
        let (channel, _) = try Self.upgradedChannel()
        try channel.close().wait()
        #expect(try Self.sentFrames(channel) == [SentFrame(opcode: .close, fin: true, masked: true, payload: [0x03, 0xE8])])
    }

    @Test(arguments: [
        ([0x82, 0x81, 1, 2, 3, 4, 0x00] as [UInt8], "masked frame"),
        ([0x81, 0x01, 0x41], "text frame"),
        ([0xC2, 0x01, 0x00], "reserved bits"),
        ([0x83, 0x00], "unknown opcode"),
        ([0x80, 0x01, 0x00], "continuation frame outside a message"),
        ([0x09, 0x00], "fragmented or oversized"),
        ([0x89, 0x7E, 0x00, 0x05], "non-minimal"),
    ])
    func protocolViolationsFailTheConnection(frame: [UInt8], fragment: String) throws {
        let (channel, recorder) = try Self.upgradedChannel()
        try channel.writeInbound(ByteBuffer(bytes: frame))
        let error = try #require(recorder.errors.first as? BenchClientError)
        #expect(error.kind == .protocolViolation)
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(!channel.isActive)
    }

    @Test func wrongAcceptKeyFailsTheUpgrade() throws {
        let (channel, recorder) = try Self.makeChannel()
        try channel.writeInbound(ByteBuffer(string: Self.response(accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")))
        let error = try #require(recorder.errors.first as? BenchClientError)
        #expect(error.kind == .upgrade)
        #expect(error.message.contains("Sec-WebSocket-Accept"))
        #expect(recorder.events.isEmpty)
        #expect(!channel.isActive)
    }

    @Test func writesBeforeTheUpgradeAreRefused() throws {
        let (channel, _) = try Self.makeChannel()
        #expect(throws: BenchClientError.self) {
            try channel.writeOutbound(ByteBuffer(bytes: [0xC0, 0x00]))
        }
    }
}

@Suite struct WebSocketClientHandshakeTests {
    let key = WebSocketClientHandlerTests.key

    func validate(_ response: String, offering subprotocol: String? = "mqtt") throws {
        try WebSocketClientHandshake(key: self.key, subprotocol: subprotocol).validate(responseHead: response)
    }

    @Test func acceptsAProperAnswer() throws {
        try self.validate(WebSocketClientHandlerTests.response())
        try self.validate(WebSocketClientHandlerTests.response(subprotocol: nil), offering: nil)
        // Header names are case-insensitive; Connection may list several tokens.
        try self.validate(
            "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: \(WebSocketClientHandlerTests.accept)\r\n\r\n",
            offering: nil)
    }

    @Test(arguments: [
        ("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "mqtt" as String?, "upgrade refused: \"HTTP/1.1 400 Bad Request\""),
        ("SSH-2.0-OpenSSH\r\n\r\n", "mqtt", "not an HTTP response"),
        ("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(WebSocketClientHandlerTests.accept)\r\n\r\n", "mqtt", "Upgrade: websocket"),
        ("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: \(WebSocketClientHandlerTests.accept)\r\n\r\n", "mqtt", "Connection: Upgrade"),
        (WebSocketClientHandlerTests.response(subprotocol: "mqtt"), nil, "although none was offered (WeChat"),
        (WebSocketClientHandlerTests.response(subprotocol: nil), "mqtt", "the answer has none (browsers"),
        (WebSocketClientHandlerTests.response(subprotocol: "mqttv3.1"), "mqtt", "the server answered mqttv3.1"),
        (WebSocketClientHandlerTests.response(extraHeaders: "Sec-WebSocket-Extensions: permessage-deflate\r\n"), "mqtt", "extensions"),
        ("HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n", "mqtt", "malformed header line"),
    ])
    func refusesWhatABrowserRefuses(response: String, offer: String?, fragment: String) {
        #expect {
            try self.validate(response, offering: offer)
        } throws: { error in
            (error as? BenchClientError)?.kind == .upgrade && "\(error)".contains(fragment)
        }
    }

    @Test func findsTheEndOfTheHead() {
        #expect(WebSocketClientHandshake.responseHeadLength(in: ByteBuffer(string: "HTTP/1.1 101 OK\r\n")) == nil)
        #expect(WebSocketClientHandshake.responseHeadLength(in: ByteBuffer(string: "HTTP/1.1 101 OK\r\n\r\nxyz")) == 19)
    }
}
