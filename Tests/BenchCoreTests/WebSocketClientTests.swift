import MQTTWire
import NIOCore
import NIOEmbedded
import Testing
import WebSocketTransport

@testable import BenchCore

/// Collects what the WebSocket stack passes up: MQTT bytes, transport events, errors.
final class InboundRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var bytes: [UInt8] = []
    var reads = 0
    var events: [WebSocketEvent] = []
    var errors: [any Error] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.reads += 1
        self.bytes += Array(self.unwrapInboundIn(data).readableBytesView)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? WebSocketEvent { self.events.append(event) }
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

/// The generator's WebSocket stack (`BenchConnector.webSocketHandlers`): the transport's client handshake and
/// client-role codec, and the adapter that sends one message per MQTT packet.
@Suite struct BenchWebSocketStackTests {
    /// RFC 6455 §1.3's example key and its accept value.
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    final class Stack {
        let channel = EmbeddedChannel()
        let recorder = InboundRecorder()
        let upgraded: EventLoopPromise<String?>

        init(subprotocol: String? = "mqtt") throws {
            let target = try BenchTarget(parsing: "wss://broker.example.com:8443/wss")
            self.upgraded = self.channel.eventLoop.makePromise(of: String?.self)
            let handlers = BenchConnector.webSocketHandlers(
                target: target, subprotocol: subprotocol, key: BenchWebSocketStackTests.key, upgraded: self.upgraded)
            try self.channel.pipeline.syncOperations.addHandlers(handlers + [self.recorder])
            try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// Whether the upgrade succeeded (false while it is pending or when it failed).
        var isUpgraded: Bool {
            var succeeded = false
            self.upgraded.futureResult.assumeIsolated().whenSuccess { _ in succeeded = true }
            return succeeded
        }

        deinit {
            self.upgraded.fail(ChannelError.ioOnClosedChannel)
            _ = try? self.channel.finish(acceptAlreadyClosed: true)
        }
    }

    static func response(subprotocol: String? = "mqtt", accept: String = Self.accept, extraHeaders: String = "") -> String {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        return text + extraHeaders + "\r\n"
    }

    static func upgradedStack() throws -> Stack {
        let stack = try Stack()
        _ = try stack.channel.readOutbound(as: ByteBuffer.self)
        try stack.channel.writeInbound(ByteBuffer(string: Self.response()))
        return stack
    }

    /// Decodes every frame in the channel's outbound buffers.
    static func sentFrames(_ channel: EmbeddedChannel) throws -> [SentFrame] {
        try Self.decode(Self.outbound(channel))
    }

    static func outbound(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        return buffers
    }

    static func decode(_ buffers: [ByteBuffer]) throws -> [SentFrame] {
        var all = ByteBuffer()
        for var buffer in buffers { all.writeBuffer(&buffer) }
        var frames: [SentFrame] = []
        while all.readableBytes > 0 {
            let read = try WebSocketFrameHeader.read(from: &all)
            let header = try #require(read)
            let slice = all.readSlice(length: header.payloadLength)
            var payload = try #require(slice)
            if let key = header.maskingKey {
                payload.maskReadableBytes(key: key)
            }
            frames.append(
                SentFrame(
                    opcode: header.opcode, fin: header.fin, masked: header.maskingKey != nil, payload: Array(payload.readableBytesView)))
        }
        return frames
    }

    @Test func sendsABrowserLikeUpgradeRequest() throws {
        let stack = try Stack()
        let request = String(buffer: try #require(try stack.channel.readOutbound(as: ByteBuffer.self)))
        let lines = request.components(separatedBy: "\r\n")
        #expect(lines.first == "GET /wss HTTP/1.1")
        #expect(lines.contains("Host: broker.example.com:8443"))
        #expect(lines.contains("Upgrade: websocket"))
        #expect(lines.contains("Connection: Upgrade"))
        #expect(lines.contains("Sec-WebSocket-Key: \(Self.key)"))
        #expect(lines.contains("Sec-WebSocket-Version: 13"))
        #expect(lines.contains("Sec-WebSocket-Protocol: mqtt"))
        #expect(lines.contains("User-Agent: mqtt-ws-bench"))
        #expect(request.hasSuffix("\r\n\r\n"))

        let weChat = try Stack(subprotocol: nil)
        let weChatRequest = String(buffer: try #require(try weChat.channel.readOutbound(as: ByteBuffer.self)))
        #expect(!weChatRequest.contains("Sec-WebSocket-Protocol"), "WeChat offers no subprotocol")
    }

    @Test func upgradeThenFramesInTheSameRead() throws {
        let stack = try Stack()
        _ = try stack.channel.readOutbound(as: ByteBuffer.self)
        var bytes = ByteBuffer(string: Self.response())
        bytes.writeBytes([0x82, 0x04, 0x20, 0x02, 0x00, 0x00])  // binary frame: CONNACK
        // The response arrives in two pieces, the second one carrying the first frame too.
        try stack.channel.writeInbound(bytes.getSlice(at: 0, length: 20))
        #expect(!stack.isUpgraded)
        try stack.channel.writeInbound(bytes.getSlice(at: 20, length: bytes.readableBytes - 20))
        #expect(stack.isUpgraded)
        #expect(stack.recorder.bytes == [0x20, 0x02, 0x00, 0x00])
        #expect(stack.recorder.errors.isEmpty)
        #expect(throws: Never.self, "the codec took over") {
            try stack.channel.pipeline.syncOperations.handler(type: WebSocketMessageCodec.self)
        }
    }

    @Test func framesSplitAnywhereAreReassembled() throws {
        let stack = try Self.upgradedStack()
        let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        var frame: [UInt8] = [0x82, 0x7E, 0x01, 0x2C] + payload  // 300 bytes, 16-bit length
        frame += [0x02, 0x02, 0xAA, 0xBB]  // a first fragment…
        frame += [0x80, 0x01, 0xCC]  // …and its continuation
        // Feed it in awkward pieces: inside the header, inside the extended length, inside the payload.
        let cuts = [1, 3, 4, 150, 305, 307, frame.count]
        var start = 0
        for cut in cuts {
            try stack.channel.writeInbound(ByteBuffer(bytes: frame[start..<cut]))
            start = cut
        }
        #expect(stack.recorder.bytes == payload + [0xAA, 0xBB, 0xCC])
        #expect(stack.recorder.errors.isEmpty)
    }

    @Test func packetsGoOutAsOneMaskedFramePerPacketInOneWrite() throws {
        let stack = try Self.upgradedStack()
        var packets = ByteBuffer()
        MQTTPacket.writeConnect(version: .v3_1_1, clientID: "abc", to: &packets)
        let connect = Array(packets.readableBytesView)
        MQTTPacket.writePublish(topic: "t", payload: ByteBuffer(repeating: 7, count: 200), version: .v3_1_1, to: &packets)
        let publish = Array(packets.readableBytesView.dropFirst(connect.count))
        try stack.channel.writeOutbound(packets)
        let buffers = try Self.outbound(stack.channel)
        #expect(buffers.count == 1, "a batch of packets is one socket write")
        #expect(
            try Self.decode(buffers) == [
                SentFrame(opcode: .binary, fin: true, masked: true, payload: connect),
                SentFrame(opcode: .binary, fin: true, masked: true, payload: publish),
            ])
    }

    @Test func maskingKeysDifferPerFrame() throws {
        let stack = try Self.upgradedStack()
        var keys: Set<UInt32> = []
        for _ in 0..<20 {
            var packet = ByteBuffer()
            MQTTPacket.writePingreq(to: &packet)
            try stack.channel.writeOutbound(packet)
            var frame = try #require(try stack.channel.readOutbound(as: ByteBuffer.self))
            let read = try WebSocketFrameHeader.read(from: &frame)
            let header = try #require(read)
            keys.insert(try #require(header.maskingKey).networkOrder)
        }
        #expect(keys.count == 20)
    }

    @Test func pingIsAnsweredWithAMaskedPong() throws {
        let stack = try Self.upgradedStack()
        try stack.channel.writeInbound(ByteBuffer(bytes: [0x89, 0x02, 0x68, 0x69]))
        #expect(try Self.sentFrames(stack.channel) == [SentFrame(opcode: .pong, fin: true, masked: true, payload: [0x68, 0x69])])
        #expect(stack.recorder.bytes.isEmpty)
    }

    @Test func serverCloseIsAnsweredAndReported() throws {
        let stack = try Self.upgradedStack()
        try stack.channel.writeInbound(ByteBuffer(bytes: [0x88, 0x02, 0x03, 0xF1]))  // 1009
        #expect(stack.recorder.events == [.closeReceived(code: .messageTooBig, reason: "")])
        #expect(try Self.sentFrames(stack.channel) == [SentFrame(opcode: .close, fin: true, masked: true, payload: [0x03, 0xF1])])
        #expect(!stack.channel.isActive)
    }

    @Test func clientCloseSendsACloseFrameFirst() throws {
        let stack = try Self.upgradedStack()
        try stack.channel.close().wait()
        #expect(try Self.sentFrames(stack.channel) == [SentFrame(opcode: .close, fin: true, masked: true, payload: [0x03, 0xE8])])
    }

    @Test(arguments: [
        ([0x82, 0x81, 1, 2, 3, 4, 0x00] as [UInt8], "must not be masked"),
        ([0x81, 0x01, 0x41], "text frames"),
        ([0xC2, 0x01, 0x00], "reserved bits"),
        ([0x83, 0x00], "reserved opcode"),
        ([0x80, 0x01, 0x00], "continuation frame without a message"),
        ([0x09, 0x00], "fragmented control frame"),
        ([0x89, 0x7E, 0x00, 0x05], "non-minimal"),
    ])
    func protocolViolationsCloseTheConnectionWithTheirCode(frame: [UInt8], fragment: String) throws {
        let stack = try Self.upgradedStack()
        try stack.channel.writeInbound(ByteBuffer(bytes: frame))
        guard case .protocolViolation(let error) = try #require(stack.recorder.events.first) else {
            Issue.record("no violation reported: \(stack.recorder.events)")
            return
        }
        #expect(error.reason.contains(fragment), "\(error.reason)")
        let close = try #require(try Self.sentFrames(stack.channel).last)
        #expect(close.opcode == .close && close.masked)
        #expect(!stack.channel.isActive)
    }

    @Test func wrongAcceptKeyFailsTheUpgrade() throws {
        let stack = try Stack()
        try stack.channel.writeInbound(ByteBuffer(string: Self.response(accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")))
        let error = try #require(stack.recorder.errors.first)
        #expect(BenchClientHandler.classify(error).kind == .upgrade)
        #expect("\(error)".contains("Sec-WebSocket-Accept"))
        #expect(!stack.isUpgraded)
        #expect(!stack.channel.isActive)
    }

    @Test func writesBeforeTheUpgradeAreRefused() throws {
        let stack = try Stack()
        #expect(throws: WebSocketClientHandshakeError.self) {
            try stack.channel.writeOutbound(ByteBuffer(bytes: [0xC0, 0x00]))
        }
    }

    @Test func handshakeFailuresAreCountedAsUpgradeErrors() {
        let error = WebSocketClientHandshakeError(
            "offered Sec-WebSocket-Protocol mqtt but the answer has none (browsers fail such a handshake)")
        #expect(BenchClientHandler.classify(error) == BenchClientError(.upgrade, error.reason))
    }
}
