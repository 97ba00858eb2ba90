// The relay's hot path on EmbeddedChannels, shared by the two tools that measure it: Benchmarks/Micro (time and
// allocations per message, ordo-one's Benchmark) and Benchmarks/RelayCost (instructions per message, callgrind).
// One rig, so both measure exactly the same pipeline: the real WebSocket codec and session handler on the client
// channel, an upstream that is an embedded channel on the same loop, 64-byte QoS 0 PUBLISHes in bursts of 50 — what a
// busy session sees per read. No sockets, no TLS: the bridge's own code, on one core.
//
// `public` because Benchmarks/Micro is a separate package (Package.swift, "Access").
import BridgeRelay
import CoreMetrics
import Logging
import MQTTWire
import NIOCore
import NIOEmbedded
import WebSocketTransport

/// A relayed session: the client channel (codec + session) and its upstream, both EmbeddedChannels on one loop,
/// past the CONNECT (the session has dialled and relays from then on).
public final class RelayRig {
    public let loop = EmbeddedEventLoop()
    /// The client side: masked frames in, frames out.
    public let client: EmbeddedChannel
    /// The broker side: MQTT bytes in and out.
    public let upstream: EmbeddedChannel

    public init() throws {
        self.upstream = EmbeddedChannel(loop: self.loop)
        try self.upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1883)).wait()
        let session = ClientSessionHandler(
            descriptor: SessionDescriptor(clientAddress: "bench", listener: "bench", route: "bench", subprotocol: nil),
            settings: SessionSettings(maximumPacketSize: 1 << 20),
            upstream: Upstream(connector: EmbeddedUpstream(channel: self.upstream), servers: SingleUpstreamServer(EmbeddedUpstream.server)),
            metrics: BridgeMetrics(routeNames: ["bench"], factory: NOOPMetricsHandler.instance),
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() },
            accessLogger: nil)
        self.client = EmbeddedChannel(handlers: [WebSocketMessageCodec(), session], loop: self.loop)
        try self.client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50000)).wait()

        // CONNECT: the session dials (the embedded upstream is ready at once) and relays from then on.
        var connect = ByteBuffer()
        MQTTPacket.writeConnect(version: .v3_1_1, clientID: "bench", to: &connect)
        var frame = ByteBuffer()
        RelayMessages.writeMaskedFrame(of: connect, to: &frame)
        self.clientRead(frame)
        self.loop.run()
        _ = self.drainUpstream()
    }

    /// One read burst from the client socket; the bytes written to the broker are taken, as a socket would take them.
    /// Returns how many bytes were relayed.
    @discardableResult
    public func clientRead(_ bytes: ByteBuffer) -> Int {
        Self.read(bytes, into: self.client, relayedTo: self.upstream)
    }

    /// One read burst from the broker socket; the frames written to the client are taken. Returns the bytes relayed.
    @discardableResult
    public func upstreamRead(_ bytes: ByteBuffer) -> Int {
        Self.read(bytes, into: self.upstream, relayedTo: self.client)
    }

    /// The bytes written to the broker and not taken yet.
    public func drainUpstream() -> Int { Self.drain(self.upstream) }

    /// The bytes written to the client and not taken yet.
    public func drainClient() -> Int { Self.drain(self.client) }

    private static func read(_ bytes: ByteBuffer, into from: EmbeddedChannel, relayedTo to: EmbeddedChannel) -> Int {
        from.pipeline.syncOperations.fireChannelRead(NIOAny(bytes))
        from.pipeline.syncOperations.fireChannelReadComplete()
        return self.drain(to)
    }

    private static func drain(_ channel: EmbeddedChannel) -> Int {
        var count = 0
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) { count += buffer.readableBytes }
        return count
    }
}

/// The broker side of the rig: the session's dial puts its handler into the already connected embedded channel.
struct EmbeddedUpstream: UpstreamConnector {
    static let server = UpstreamServer(host: "embedded", port: 1883)
    let channel: any Channel

    var dialsBeforeUpgrade: Bool { false }

    func endpointDescription(of server: UpstreamServer) -> String { "embedded" }

    func connect(
        to server: UpstreamServer, on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, options: UpstreamConnectOptions
    ) -> EventLoopFuture<any Channel> {
        let channel = self.channel
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(handler.value)
            return channel
        }
    }
}

/// The test messages, prepared before a measurement starts.
public enum RelayMessages {
    /// PUBLISHes per read burst.
    public static let burst = 50
    public static let payload = ByteBuffer(repeating: 0x5A, count: 64)

    /// One 64-byte QoS 0 PUBLISH (83 bytes with the fixed header and topic).
    public static func publish(into buffer: inout ByteBuffer) {
        MQTTPacket.writePublish(topic: "bench/topic/7", payload: payload, version: .v3_1_1, to: &buffer)
    }

    /// `packet` as one masked binary frame, as a browser or WeChat sends it.
    public static func writeMaskedFrame(of packet: ByteBuffer, to frame: inout ByteBuffer) {
        let key = WebSocketMaskingKey(0x12, 0x34, 0x56, 0x78)
        WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: packet.readableBytes).write(to: &frame)
        frame.writeMaskedBytes(of: packet, key: key, keyOffset: 0)
    }

    /// `count` PUBLISHes back to back.
    public static func stream(count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        for _ in 0..<count { publish(into: &buffer) }
        return buffer
    }

    /// `stream` cut into reads of `size` bytes.
    public static func chunks(of stream: ByteBuffer, size: Int) -> [ByteBuffer] {
        var stream = stream
        var chunks: [ByteBuffer] = []
        while stream.readableBytes > 0 {
            chunks.append(stream.readSlice(length: min(size, stream.readableBytes))!)
        }
        return chunks
    }

    /// Bursts of `perBurst` PUBLISHes, each in its own masked binary frame: the client → broker direction.
    public static func maskedFrameBursts(count: Int, perBurst: Int = burst) -> [ByteBuffer] {
        bursts(count: count, perBurst: perBurst) { burst in
            var packet = ByteBuffer()
            publish(into: &packet)
            writeMaskedFrame(of: packet, to: &burst)
        }
    }

    /// Bursts of `perBurst` PUBLISHes back to back, as the broker's TCP stream delivers them: broker → client.
    public static func plainBursts(count: Int, perBurst: Int = burst) -> [ByteBuffer] {
        bursts(count: count, perBurst: perBurst) { publish(into: &$0) }
    }

    private static func bursts(count: Int, perBurst: Int, message: (inout ByteBuffer) -> Void) -> [ByteBuffer] {
        stride(from: 0, to: count, by: perBurst).map { start in
            var burst = ByteBuffer()
            for _ in start..<min(start + perBurst, count) { message(&burst) }
            return burst
        }
    }
}
