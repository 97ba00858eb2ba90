// The relay's hot path per message, for instruction counts (issue 10: the typed entrance against the side door).
//
// The rig of Benchmarks/Micro's relay benchmarks without the benchmark package: the real codec and session on
// EmbeddedChannels, an upstream that is an embedded channel, 64-byte QoS 0 PUBLISHes in bursts of 50. It only runs
// the messages, so a profiler sees nothing else:
//
//   swift build -c release --product relay-cost
//   strip --strip-debug -o /tmp/relay-cost .build/release/relay-cost   # valgrind 3.19 cannot read Swift 6.3's DWARF
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*passBursts*' /tmp/relay-cost broker-to-client 20000
//
// Instructions per message: the total divided by the messages (only `passBursts` is counted).
//
// Figures (2026-12-06, release build, valgrind 3.19 callgrind, 20,000 messages; the same driver on both trees):
//
//   direction          main 40e2164 (side door)   split, a write per packet (dcfb167)   one entrance, now
//   broker → client    1,878                      2,752                                 1,888
//   client → broker    1,205                      1,862                                 1,452
//
// What the split cost and what took it back: docs/PERFORMANCE.md, "Relay cost per message".
import BridgeRelay
import CoreMetrics
import Foundation
import Logging
import MQTTWire
import NIOCore
import NIOEmbedded
import WebSocketTransport

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let direction = arguments.first, ["broker-to-client", "client-to-broker"].contains(direction),
    let count = Int(arguments.last!), count > 0
else {
    print("usage: relay-cost broker-to-client|client-to-broker MESSAGES")
    exit(2)
}

let burst = 50
let payload = ByteBuffer(repeating: 0x5A, count: 64)
func publish(into buffer: inout ByteBuffer) {
    MQTTPacket.writePublish(topic: "bench/topic/7", payload: payload, version: .v3_1_1, to: &buffer)
}

/// The broker side: the session's dial puts its handler into the already connected embedded channel.
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

func masked(_ packet: ByteBuffer, into frame: inout ByteBuffer) {
    let key = WebSocketMaskingKey(0x12, 0x34, 0x56, 0x78)
    WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: packet.readableBytes).write(to: &frame)
    frame.writeMaskedBytes(of: packet, key: key, keyOffset: 0)
}

let loop = EmbeddedEventLoop()
let upstream = EmbeddedChannel(loop: loop)
try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1883)).wait()
let session = ClientSessionHandler(
    descriptor: SessionDescriptor(clientAddress: "bench", listener: "bench", route: "bench", subprotocol: nil),
    settings: SessionSettings(maximumPacketSize: 1 << 20),
    upstream: Upstream(connector: EmbeddedUpstream(channel: upstream), servers: SingleUpstreamServer(EmbeddedUpstream.server)),
    metrics: BridgeMetrics(routeNames: ["bench"], factory: NOOPMetricsHandler.instance),
    logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() },
    accessLogger: nil)
let client = EmbeddedChannel(handlers: [WebSocketMessageCodec(), session], loop: loop)
try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50000)).wait()

// CONNECT: the session dials (the embedded upstream is ready at once) and relays from then on.
var connect = ByteBuffer()
MQTTPacket.writeConnect(version: .v3_1_1, clientID: "bench", to: &connect)
var connectFrame = ByteBuffer()
masked(connect, into: &connectFrame)
try client.writeInbound(connectFrame)
loop.run()
while (try upstream.readOutbound(as: ByteBuffer.self)) != nil {}

// The bursts, prepared before the messages run.
let bursts: [ByteBuffer] = stride(from: 0, to: count, by: burst).map { start in
    var bytes = ByteBuffer()
    for _ in start..<min(start + burst, count) {
        if direction == "broker-to-client" {
            publish(into: &bytes)
        } else {
            var packet = ByteBuffer()
            publish(into: &packet)
            masked(packet, into: &bytes)
        }
    }
    return bytes
}

/// The measured part (`valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*passBursts*'` counts only
/// this): every burst through the pipeline, and the written bytes taken as a socket would take them.
@inline(never)
func passBursts(_ bursts: [ByteBuffer], from: EmbeddedChannel, to: EmbeddedChannel) throws -> Int {
    var relayed = 0
    for bytes in bursts {
        from.pipeline.syncOperations.fireChannelRead(NIOAny(bytes))
        from.pipeline.syncOperations.fireChannelReadComplete()
        while let written = try to.readOutbound(as: ByteBuffer.self) { relayed += written.readableBytes }
    }
    return relayed
}

let (from, to) = direction == "broker-to-client" ? (upstream, client) : (client, upstream)
let relayed = try passBursts(bursts, from: from, to: to)
print("\(direction): \(count) messages, \(relayed) bytes relayed")
