import BridgeConfig
import BridgeTestSupport
import CompressNIO
import Foundation
import MQTTWire
import NIOCore
import Testing

/// permessage-deflate (RFC 7692) end to end. The client side is done here with zlib directly, not with
/// the bridge's own code, so both ends of the extension are independent implementations.
@Suite("Compression (permessage-deflate)", .timeLimit(.minutes(2)))
struct CompressionTests {
    /// The client half of permessage-deflate with context takeover, 15-bit windows.
    final class ClientDeflate {
        let compressor: ZlibCompressor
        let decompressor: ZlibDecompressor

        /// Windows as agreed: the client compresses with at most `clientWindowBits`.
        init(serverWindowBits: Int32 = 15, clientWindowBits: Int32 = 15) throws {
            self.compressor = try ZlibCompressor(algorithm: .deflate, configuration: ZlibConfiguration(windowSize: clientWindowBits))
            self.decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: serverWindowBits)
        }

        func compress(_ bytes: [UInt8]) throws -> [UInt8] {
            var input = ByteBuffer(bytes: bytes)
            var output = ByteBuffer()
            output.reserveCapacity(compressor.maxSize(from: input))
            try compressor.deflate(from: &input, to: &output, flush: .sync)
            return Array(output.readableBytesView.dropLast(4))  // RFC 7692 §7.2.1: strip 00 00 ff ff
        }

        func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
            var input = ByteBuffer(bytes: bytes + [0x00, 0x00, 0xFF, 0xFF])
            var output = ByteBuffer()
            while input.readableBytes > 0 {
                output.reserveCapacity(minimumWritableBytes: 64 * 1024)
                do {
                    try decompressor.inflate(from: &input, to: &output)
                } catch let error as CompressNIOError where error == .bufferOverflow || error == .inputBufferOverflow {
                    continue
                }
            }
            return Array(output.readableBytesView)
        }
    }

    static func withCompression(_ body: (BridgeHarness) async throws -> Void) async throws {
        try await BridgeHarness.with(
            configure: { config in
                for index in config.routes.indices {
                    config.routes[index].compression = CompressionConfiguration(enabled: true, threshold: 64)
                    config.routes[index].maxPacketSize = 4 << 20
                    config.routes[index].maxFrameSize = 4 << 20
                }
            }, body)
    }

    /// Connects offering permessage-deflate; returns the client and the agreed response header.
    static func connect(_ bridge: BridgeHarness, clientID: String) async throws -> (TestWebSocketClient, String) {
        let (response, client) = try await bridge.connect(
            path: "/wss", subprotocols: nil,
            extraHeaders: [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")])
        let ws = try #require(client)
        let agreed = try #require(response.values("Sec-WebSocket-Extensions").first)
        try await ws.sendBinary(MQTTTestPackets.connect(clientID: clientID))
        #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted, "small packets go uncompressed")
        return (ws, agreed)
    }

    @Test("Negotiated parameters, and byte-exact relay of compressible, incompressible and 1 MiB payloads both ways")
    func relaysByteExact() async throws {
        try await Self.withCompression { bridge in
            let (ws, agreed) = try await Self.connect(bridge, clientID: "deflate-1")
            #expect(agreed.hasPrefix("permessage-deflate"))
            #expect(agreed.contains("server_max_window_bits=12"))
            #expect(agreed.contains("client_max_window_bits=12"))
            let deflate = try ClientDeflate(serverWindowBits: 12, clientWindowBits: 12)

            try await ws.sendBinary(MQTTTestPackets.subscribe("z/#", packetID: 1))
            _ = try await ws.receiveBinaryMessage()
            var generator = SeededRandom(seed: 77)
            let payloads: [[UInt8]] = [
                Array(String(repeating: "{\"temperature\": 21.5, \"unit\": \"C\"} ", count: 200).utf8),
                (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) },
                (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 / 3) },
            ]
            let direct = try await bridge.directClient(clientID: "deflate-direct")
            try await direct.send(MQTTTestPackets.subscribe("z/#", packetID: 1))
            _ = try await direct.receivePacket()

            for (index, payload) in payloads.enumerated() {
                let publish = MQTTTestPackets.publish("z/\(index)", payload: payload)
                // Client → bridge, compressed: the broker receives the plain packet.
                try await ws.sendFrame(opcode: .binary, payload: try deflate.compress(publish), reservedBits: 0x40)
                #expect(try await direct.receivePacket(timeout: .seconds(20)) == publish)
                // Bridge → client: compressed (RSV1), inflates to the exact packet.
                let frame = try await ws.receiveFrame(timeout: .seconds(20))
                #expect(frame.reservedBits == 0x40)
                #expect(try deflate.inflate(frame.payload) == publish)
            }
            await direct.close()
        }
    }

    @Test("A decompression bomb is refused with close 1009, not inflated into memory")
    func decompressionBomb() async throws {
        try await Self.withCompression { bridge in
            let (ws, _) = try await Self.connect(bridge, clientID: "bomb")
            // 32 MiB of zeros compress to about 32 KiB: eight times the 4 MiB message limit once inflated.
            let compressor = try ZlibCompressor(algorithm: .deflate, configuration: ZlibConfiguration(windowSize: 15))
            var bomb = ByteBuffer()
            let zeros = ByteBuffer(repeating: 0, count: 1 << 20)
            for _ in 0..<32 {
                var chunk = zeros
                bomb.reserveCapacity(minimumWritableBytes: compressor.maxSize(from: chunk))
                try compressor.deflate(from: &chunk, to: &bomb, flush: .no)
            }
            bomb.reserveCapacity(minimumWritableBytes: 1024)
            var empty = ByteBuffer()
            try compressor.deflate(from: &empty, to: &bomb, flush: .sync)
            #expect(bomb.readableBytes < 1 << 20)
            try await ws.sendFrame(opcode: .binary, payload: Array(bomb.readableBytesView.dropLast(4)), reservedBits: 0x40)
            let close = try await ws.expectClose(timeout: .seconds(10))
            #expect(close.code == 1009)
            #expect(close.reason.contains("decompressed"))
        }
    }

    @Test("Compression stays off on routes without it, and for clients that do not offer it")
    func offByDefault() async throws {
        try await BridgeHarness.with { bridge in
            let (response, _) = try await bridge.connect(
                path: "/wss", subprotocols: nil, extraHeaders: [("Sec-WebSocket-Extensions", "permessage-deflate")])
            #expect(response.status == 101)
            #expect(response.values("Sec-WebSocket-Extensions").isEmpty)
        }
        try await Self.withCompression { bridge in
            let (response, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            #expect(response.values("Sec-WebSocket-Extensions").isEmpty)
            let ws = try #require(client)
            try await ws.sendFrame(opcode: .binary, payload: MQTTTestPackets.connect(clientID: "no-rsv"), reservedBits: 0x40)
            #expect(try await ws.expectClose().code == 1002, "RSV1 without the extension is a protocol error")
        }
    }
}
