import NIOCore
import NIOPosix
import NIOSSL

/// Opens the TCP (+TLS) channel under every test client.
enum ClientChannel {
    /// - Parameter receiveBufferSize: `SO_RCVBUF` before connecting (a client with a tiny TCP window: a slow reader
    ///   whose kernel cannot buffer much for it either); nil keeps the system's default.
    static func open(
        host: String, port: Int, tls: TestTLS?, timeout: Duration, receiveBufferSize: Int? = nil,
        addHandlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) async throws -> any Channel {
        let sslContext: NIOSSLContext?
        do {
            sslContext = try tls?.makeContext()
        } catch {
            throw TestClientError(.connectFailed, "cannot build the client TLS configuration: \(error)")
        }
        let serverName = tls?.sniName
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        try pipeline.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try addHandlers(pipeline)
                }
            }
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        do {
            return try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw TestClientError(.connectFailed, "could not connect to \(host):\(port): \(error)")
        }
    }

    /// Writes bytes through the named handler's context, i.e. below any frame encoder that sits after it.
    static func writeRaw(_ bytes: [UInt8], on channel: any Channel, below handlerName: String) async throws {
        let buffer = ByteBuffer(bytes: bytes)
        do {
            try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
                do {
                    let context = try channel.pipeline.syncOperations.context(name: handlerName)
                    return context.writeAndFlush(NIOAny(buffer))
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }.get()
        } catch {
            throw TestClientError(.connectionClosed, "could not send \(bytes.count) bytes: \(error)")
        }
    }
}

extension Duration {
    /// `5s`, `250ms`: short enough for failure messages.
    var shortDescription: String {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}
