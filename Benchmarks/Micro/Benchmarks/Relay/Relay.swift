import Benchmark
import BridgeRelay
import CoreMetrics
import Logging
import MQTTWire
import NIOCore
import NIOEmbedded
import WebSocketTransport

// One scaled iteration = one relayed MQTT message, so every metric reads "per message" (×1000 per iteration).
// Messages are 64-byte QoS 0 PUBLISHes (83 bytes with the fixed header and topic), relayed in bursts of 50 — what a
// busy session sees per read. No sockets, no TLS: this is the bridge's own code, on one core.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 2_000
    )

    Benchmark("framer: whole packets out of 16 KiB reads") { benchmark in
        let stream = Messages.stream(count: benchmark.scaledIterations.count)
        let reads = Messages.chunks(of: stream, size: 16 * 1024)
        benchmark.startMeasurement()
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        var packets = 0
        for read in reads {
            accumulator.append(read)
            while let packet = try accumulator.nextPacket() {
                packets += 1
                blackHole(packet)
            }
        }
        benchmark.stopMeasurement()
        precondition(packets == benchmark.scaledIterations.count)
    }

    Benchmark("client→broker: masked frames in, MQTT bytes to the upstream") { benchmark in
        let rig = try RelayRig()
        let bursts = Messages.maskedFrameBursts(count: benchmark.scaledIterations.count, perBurst: Messages.burst)
        benchmark.startMeasurement()
        for burst in bursts {
            rig.clientRead(burst)
        }
        benchmark.stopMeasurement()
        blackHole(rig.drainUpstream())
    }

    Benchmark("broker→client: MQTT bytes in, one binary frame per packet out") { benchmark in
        let rig = try RelayRig()
        let bursts = Messages.plainBursts(count: benchmark.scaledIterations.count, perBurst: Messages.burst)
        benchmark.startMeasurement()
        for burst in bursts {
            rig.upstreamRead(burst)
        }
        benchmark.stopMeasurement()
        blackHole(rig.drainClient())
    }
}

/// Test messages, prepared outside the measurement.
enum Messages {
    static let burst = 50
    static let payload = ByteBuffer(repeating: 0x5A, count: 64)

    static func publish(into buffer: inout ByteBuffer) {
        MQTTPacket.writePublish(topic: "bench/topic/7", payload: payload, version: .v3_1_1, to: &buffer)
    }

    static func stream(count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        for _ in 0..<count { publish(into: &buffer) }
        return buffer
    }

    static func chunks(of stream: ByteBuffer, size: Int) -> [ByteBuffer] {
        var stream = stream
        var chunks: [ByteBuffer] = []
        while stream.readableBytes > 0 {
            chunks.append(stream.readSlice(length: min(size, stream.readableBytes))!)
        }
        return chunks
    }

    /// Bursts of `perBurst` PUBLISHes, each in its own masked binary frame (as a browser or WeChat sends them).
    static func maskedFrameBursts(count: Int, perBurst: Int) -> [ByteBuffer] {
        stride(from: 0, to: count, by: perBurst).map { start in
            var burst = ByteBuffer()
            for _ in start..<min(start + perBurst, count) {
                var packet = ByteBuffer()
                publish(into: &packet)
                let key = WebSocketMaskingKey(0x12, 0x34, 0x56, 0x78)
                WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: packet.readableBytes).write(to: &burst)
                burst.writeMaskedBytes(of: packet, key: key, keyOffset: 0)
            }
            return burst
        }
    }

    /// Bursts of `perBurst` PUBLISHes back to back, as the broker's TCP stream delivers them.
    static func plainBursts(count: Int, perBurst: Int) -> [ByteBuffer] {
        stride(from: 0, to: count, by: perBurst).map { start in
            var burst = ByteBuffer()
            for _ in start..<min(start + perBurst, count) { publish(into: &burst) }
            return burst
        }
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

/// A relayed session: the client channel (codec + session) and its upstream, both EmbeddedChannels on one loop.
final class RelayRig {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let upstream: EmbeddedChannel

    init() throws {
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

        // CONNECT → the session dials (the embedded upstream is ready at once) and relays from then on.
        var connect = ByteBuffer()
        MQTTPacket.writeConnect(version: .v3_1_1, clientID: "bench", to: &connect)
        var frame = ByteBuffer()
        let key = WebSocketMaskingKey(1, 2, 3, 4)
        WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: connect.readableBytes).write(to: &frame)
        frame.writeMaskedBytes(of: connect, key: key, keyOffset: 0)
        self.clientRead(frame)
        self.loop.run()
        _ = self.drainUpstream()
    }

    /// One read burst from the client socket.
    func clientRead(_ bytes: ByteBuffer) {
        self.client.pipeline.fireChannelRead(NIOAny(bytes))
        self.client.pipeline.fireChannelReadComplete()
        // What a real socket would do with the written bytes: take them.
        while (try? self.upstream.readOutbound(as: ByteBuffer.self)) != nil {}
    }

    /// One read burst from the broker socket.
    func upstreamRead(_ bytes: ByteBuffer) {
        self.upstream.pipeline.fireChannelRead(NIOAny(bytes))
        self.upstream.pipeline.fireChannelReadComplete()
        while (try? self.client.readOutbound(as: ByteBuffer.self)) != nil {}
    }

    func drainUpstream() -> Int {
        var count = 0
        while let buffer = try? self.upstream.readOutbound(as: ByteBuffer.self) { count += buffer.readableBytes }
        return count
    }

    func drainClient() -> Int {
        var count = 0
        while let buffer = try? self.client.readOutbound(as: ByteBuffer.self) { count += buffer.readableBytes }
        return count
    }
}
