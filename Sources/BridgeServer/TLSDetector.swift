import NIOCore
import NIOSSL

/// The first handler of a listener in `auto` mode: looks at the first byte a client sends and continues
/// as TLS (a ClientHello record starts with 0x16, the TLS handshake content type) or as plain HTTP,
/// on the same connection — no reconnect, no guessing from ports or addresses.
///
/// The HTTP handshake handlers are already in the pipeline behind it, so the handshake timeout runs
/// from the moment of accept: a client that sends nothing is closed like any other slow client.
final class TLSDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let tlsHandshakeRecord: UInt8 = 0x16
    private let tlsContext: NIOSSLContext

    init(tlsContext: NIOSSLContext) {
        self.tlsContext = tlsContext
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        let pipeline = context.pipeline.syncOperations
        if first == Self.tlsHandshakeRecord {
            do {
                try pipeline.addHandler(NIOSSLServerHandler(context: self.tlsContext), position: .after(self))
            } catch {
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            }
        }
        // The bytes go to the TLS handler (or the HTTP decoder) behind us; then we leave.
        context.fireChannelRead(data)
        pipeline.removeHandler(context: context, promise: nil)
    }
}
