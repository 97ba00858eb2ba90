import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A TCP (optionally TLS) server on 127.0.0.1 and an ephemeral port that answers from a script: a fake broker
/// that misbehaves on cue (refuses, answers garbage, never answers), a canned HTTP server to test the test
/// clients, or an echo server behind TLS to check certificates.
package final class ScriptedTCPServer: Sendable {
    /// Bytes to send back, and whether to close the connection after sending them.
    package struct Reply: Sendable {
        package var bytes: [UInt8]
        package var close: Bool

        package init(bytes: [UInt8], close: Bool = false) {
            self.bytes = bytes
            self.close = close
        }
    }

    /// Called per connection with the bytes not yet consumed: once when the connection opens (with nothing), then
    /// after every read. It removes what it consumed and returns a reply, or nil to wait for more. While it returns
    /// replies *and* consumes bytes it is called again, so several requests in one read get several replies.
    package typealias Script = @Sendable (_ unconsumed: inout [UInt8]) -> Reply?

    /// Sends every byte back.
    package static let echo: Script = { unconsumed in
        guard !unconsumed.isEmpty else { return nil }
        defer { unconsumed.removeAll() }
        return Reply(bytes: unconsumed)
    }

    /// Certificate and key (PEM files) for a TLS server; TLS 1.2 minimum like the bridge.
    package struct TLS: Sendable {
        package var certificatePEMPath: String
        package var privateKeyPEMPath: String
        package var minimumVersion: TLSVersion

        package init(certificatePEMPath: String, privateKeyPEMPath: String, minimumVersion: TLSVersion = .tlsv12) {
            self.certificatePEMPath = certificatePEMPath
            self.privateKeyPEMPath = privateKeyPEMPath
            self.minimumVersion = minimumVersion
        }
    }

    struct State: Sendable {
        var connections: [ObjectIdentifier: any Channel] = [:]
        var received: [[UInt8]] = []
        var errors: [String] = []
    }

    package let host: String
    package let port: Int
    private let serverChannel: any Channel
    private let shared: Shared

    /// Starts listening; the port is in `port`.
    package static func start(host: String = "127.0.0.1", tls: TLS? = nil, script: @escaping Script) async throws -> ScriptedTCPServer {
        let sslContext = try tls.map { tls in
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificatePEMPath).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKeyPEMPath, format: .pem))
            )
            configuration.minimumTLSVersion = tls.minimumVersion
            return try NIOSSLContext(configuration: configuration)
        }
        let shared = Shared()
        let serverChannel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let index = shared.state.withLockedValue { state in
                        state.connections[ObjectIdentifier(channel)] = channel
                        state.received.append([])
                        return state.received.count - 1
                    }
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ScriptedConnectionHandler(script: script, shared: shared, index: index)
                    )
                }
            }
            .bind(host: host, port: 0).get()
        guard let port = serverChannel.localAddress?.port else {
            try? await serverChannel.close()
            throw TestSupportError("scripted server has no local port")
        }
        return ScriptedTCPServer(host: host, port: port, serverChannel: serverChannel, shared: shared)
    }

    private init(host: String, port: Int, serverChannel: any Channel, shared: Shared) {
        self.host = host
        self.port = port
        self.serverChannel = serverChannel
        self.shared = shared
    }

    /// How many connections were accepted so far.
    package var acceptedConnections: Int { shared.state.withLockedValue { $0.received.count } }
    /// Every byte received, per connection in accept order.
    package var receivedByConnection: [[UInt8]] { shared.state.withLockedValue { $0.received } }
    /// Errors on accepted connections (e.g. a client that refused our certificate).
    package var errors: [String] { shared.state.withLockedValue { $0.errors } }

    /// Closes the listener and every open connection.
    package func stop() async {
        try? await serverChannel.close()
        let open = shared.state.withLockedValue { Array($0.connections.values) }
        for channel in open { try? await channel.close() }
    }

    deinit {
        serverChannel.close(promise: nil)
    }

    /// State shared between the server object and its connection handlers.
    final class Shared: Sendable {
        let state = NIOLockedValueBox(State())
    }
}

/// Runs the script for one accepted connection.
private final class ScriptedConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let script: ScriptedTCPServer.Script
    private let shared: ScriptedTCPServer.Shared
    private let index: Int
    private var unconsumed: [UInt8] = []

    init(script: @escaping ScriptedTCPServer.Script, shared: ScriptedTCPServer.Shared, index: Int) {
        self.script = script
        self.shared = shared
        self.index = index
    }

    func channelActive(context: ChannelHandlerContext) {
        runScript(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        shared.state.withLockedValue { $0.received[index].append(contentsOf: bytes) }
        unconsumed.append(contentsOf: bytes)
        runScript(context: context)
    }

    private func runScript(context: ChannelHandlerContext) {
        while true {
            let before = unconsumed.count
            guard let reply = script(&unconsumed) else { return }
            if !reply.bytes.isEmpty {
                context.write(wrapOutboundOut(ByteBuffer(bytes: reply.bytes)), promise: nil)
            }
            if reply.close {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
                context.close(promise: nil)
                return
            }
            context.flush()
            if unconsumed.isEmpty || unconsumed.count == before { return }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let id = ObjectIdentifier(context.channel)
        shared.state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let text = String(describing: error)
        shared.state.withLockedValue { $0.errors.append(text) }
        context.close(promise: nil)
    }
}
