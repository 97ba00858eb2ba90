// The whole server side of a wss session per message, TLS included, on EmbeddedChannels (issue 14: where a relayed
// message's user-space CPU goes). Unlike `RelayRig` (codec and session only), the bridge's side of the client
// connection is built as the bridge builds it: `NIOSSLServerHandler` with the listener's context from
// `CertificateStore.makeContext()`, then `WebSocketFrontEnd.configureHandshake`, whose upgrade handler puts the codec
// and session in place after a real HTTP upgrade. The browser is a real `NIOSSLClientHandler` on its own
// EmbeddedChannel; bytes are shuttled between the channels in memory.
//
// The client's work is kept out of the measured part: its records are encrypted before (client → broker) and
// decrypted after (broker → client) the messages run, so a profiler counting `passBursts` sees the bridge's side
// and the embedded channels' own bookkeeping (which production does not have: docs/PERFORMANCE.md reports it apart).
// Not in this pipeline: `DrainDeadline` and the PROXY protocol handler (BridgeServer's private child initialiser adds
// them; neither looks at reads or writes), the sockets and their system calls, and the coalescing window (zero
// here: every read is flushed at once, as a cold session's is; virtual time stands still on an EmbeddedEventLoop).
import BridgeConfig
import BridgeFrontEnd
import BridgeRelay
import BridgeServer
import BridgeTLS
import CoreMetrics
import Foundation
import Logging
import MQTTWire
import NIOCore
import NIOEmbedded
import NIOSSL
import WebSocketTransport

public final class TLSPipelineRig {
    public enum RigError: Error, CustomStringConvertible {
        case handshake(String)
        case corrupted(String)

        public var description: String {
            switch self {
            case .handshake(let reason): "the wss handshake did not complete: \(reason)"
            case .corrupted(let reason): "the relayed bytes are not the messages sent: \(reason)"
            }
        }
    }

    public let loop = EmbeddedEventLoop()
    /// The browser or WeChat: `NIOSSLClientHandler`; plaintext WebSocket bytes are written and read here.
    private let client: EmbeddedChannel
    /// The bridge's end of the client connection: TLS, then the front end (HTTP upgrade → codec + session).
    private let server: EmbeddedChannel
    /// The broker side: MQTT bytes in and out.
    private let upstream: EmbeddedChannel
    private let certificates: URL

    public init() throws {
        self.certificates = FileManager.default.temporaryDirectory.appendingPathComponent("tls-pipeline-rig-\(UUID().uuidString)")
        let paths = try DevelopmentCertificate.ensure(in: self.certificates.path)

        // The wss listener as the bridge configures it: its TLS context, and the front end with its routes.
        var configuration = BridgeConfiguration()
        configuration.upstream.coalesceWindow = .zero
        let tls = ListenerTLSConfiguration(certificatePath: paths.certificate, keyPath: paths.key)
        let store = try CertificateStore(
            listener: "wss", tls: ListenerTLSSettings(tls), logger: Self.logger, metricsFactory: NOOPMetricsHandler.instance)
        self.upstream = EmbeddedChannel(loop: self.loop)
        try self.upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1883)).wait()
        let frontEnd = WebSocketFrontEnd(
            settings: FrontEndSettings(configuration),
            upstream: Upstream(connector: EmbeddedUpstream(channel: self.upstream), servers: SingleUpstreamServer(EmbeddedUpstream.server)),
            metrics: BridgeMetrics(routeNames: configuration.routes.map(\.name), factory: NOOPMetricsHandler.instance),
            logger: Self.logger, accessLogger: nil)
        self.server = EmbeddedChannel(loop: self.loop)
        try self.server.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: try store.makeContext()))
        try frontEnd.configureHandshake(on: self.server.pipeline.syncOperations, listener: ListenerSettings(name: "wss"))

        // The client trusts the development CA, as a developer's browser does.
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.trustRoots = .file(paths.caCertificate)
        self.client = EmbeddedChannel(loop: self.loop)
        try self.client.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: NIOSSLContext(configuration: clientTLS), serverHostname: "localhost"))

        try self.server.connect(to: SocketAddress(ipAddress: "198.51.100.4", port: 40000)).wait()
        try self.client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8443)).wait()
        try self.openSession()
    }

    deinit {
        try? FileManager.default.removeItem(at: self.certificates)
    }

    private static let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

    /// TLS handshake, WebSocket upgrade on the mini-program route (no subprotocol, as WeChat sends it), CONNECT and
    /// CONNACK: from here on the session relays.
    private func openSession() throws {
        let request =
            "GET /wss HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        self.client.writeAndFlush(ByteBuffer(string: request), promise: nil)
        self.shuttle()
        let response = String(buffer: self.clientPlaintext())
        guard response.hasPrefix("HTTP/1.1 101") else { throw RigError.handshake(response) }
        // What the benchmark's clients negotiate with the bridge (and the development certificate is ECDSA P-256).
        let version = try self.server.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).tlsVersion
        guard version == .tlsv13 else { throw RigError.handshake("TLS version \(String(describing: version)), not 1.3") }

        var connect = ByteBuffer()
        MQTTPacket.writeConnect(version: .v3_1_1, clientID: "bench", to: &connect)
        var frame = ByteBuffer()
        RelayMessages.writeMaskedFrame(of: connect, to: &frame)
        self.client.writeAndFlush(frame, promise: nil)
        self.shuttle()
        guard self.drainUpstream().readableBytes == connect.readableBytes else { throw RigError.handshake("no CONNECT at the broker") }
        // CONNACK, session present 0, accepted.
        self.upstream.pipeline.syncOperations.fireChannelRead(NIOAny(ByteBuffer(bytes: [0x20, 0x02, 0x00, 0x00])))
        self.upstream.pipeline.syncOperations.fireChannelReadComplete()
        self.shuttle()
        guard self.clientPlaintext().readableBytes == 6 else { throw RigError.handshake("no CONNACK at the client") }
    }

    /// Passes records both ways until neither side has anything left to send (the handshake, the upgrade).
    private func shuttle() {
        var moved = true
        while moved {
            moved = false
            self.loop.run()
            for record in Self.drain(self.client) {
                moved = true
                Self.read(record, into: self.server)
            }
            for record in Self.drain(self.server) {
                moved = true
                Self.read(record, into: self.client)
            }
        }
    }

    // MARK: The measured part and its two sides

    /// Client → broker, before the measurement: each burst of plaintext frames written and flushed by the client as
    /// one write, so each becomes one TLS record (at most 16 KiB) the bridge reads at once.
    public func encryptFromClient(_ bursts: [ByteBuffer]) throws -> [ByteBuffer] {
        var records: [ByteBuffer] = []
        for burst in bursts {
            self.client.writeAndFlush(burst, promise: nil)
            let written = Self.drain(self.client)
            guard written.count == 1, let record = written.first else {
                throw RigError.corrupted("a burst became \(written.count) client writes")
            }
            records.append(record)
        }
        return records
    }

    /// Measured: one read of the client's socket on the bridge (records → TLS → codec → session → the broker
    /// channel). The MQTT bytes written to the broker are taken, as a socket would take them, into `written`.
    public func serverRead(_ record: ByteBuffer, into written: inout [ByteBuffer]) {
        Self.read(record, into: self.server)
        Self.drain(self.upstream, into: &written)
    }

    /// Measured: one read of the broker's socket on the bridge (MQTT → session → codec → TLS). The records written
    /// to the client are taken into `written`.
    public func upstreamRead(_ bytes: ByteBuffer, into written: inout [ByteBuffer]) {
        Self.read(bytes, into: self.upstream)
        Self.drain(self.server, into: &written)
    }

    /// Broker → client, after the measurement: the client decrypts the records the bridge wrote.
    public func decryptAtClient(_ records: [ByteBuffer]) -> ByteBuffer {
        for record in records { Self.read(record, into: self.client) }
        return self.clientPlaintext()
    }

    /// Checks that `received`, joined, is exactly `expected` (the relay may cut and join reads, never change a byte).
    public static func verify(received: [ByteBuffer], expected: ByteBuffer) throws {
        var all = ByteBuffer()
        for buffer in received { all.writeImmutableBuffer(buffer) }
        guard all == expected else {
            throw RigError.corrupted("\(all.readableBytes) bytes received, \(expected.readableBytes) expected")
        }
    }

    /// What the client must receive for `count` PUBLISHes from the broker: each in its own unmasked binary frame.
    public static func expectedFrames(count: Int) -> ByteBuffer {
        var packet = ByteBuffer()
        RelayMessages.publish(into: &packet)
        var frames = ByteBuffer()
        for _ in 0..<count {
            WebSocketFrameHeader(opcode: .binary, payloadLength: packet.readableBytes).write(to: &frames)
            frames.writeImmutableBuffer(packet)
        }
        return frames
    }

    // MARK: Moving bytes between the embedded channels

    private func clientPlaintext() -> ByteBuffer {
        var plaintext = ByteBuffer()
        while let buffer = try? self.client.readInbound(as: ByteBuffer.self) { plaintext.writeImmutableBuffer(buffer) }
        return plaintext
    }

    private func drainUpstream() -> ByteBuffer {
        var bytes = ByteBuffer()
        for buffer in Self.drain(self.upstream) { bytes.writeImmutableBuffer(buffer) }
        return bytes
    }

    private static func read(_ bytes: ByteBuffer, into channel: EmbeddedChannel) {
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(bytes))
        channel.pipeline.syncOperations.fireChannelReadComplete()
    }

    private static func drain(_ channel: EmbeddedChannel) -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        self.drain(channel, into: &buffers)
        return buffers
    }

    private static func drain(_ channel: EmbeddedChannel, into buffers: inout [ByteBuffer]) {
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
    }
}
