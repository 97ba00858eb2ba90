import NIOCore

/// Bounds the bytes a client may send before its request head is complete.
///
/// NIOHTTP1's decoder limits header fields but not the request line, and it buffers until a head is
/// complete; this handler makes a slow or endless head cost at most `limit` bytes. The upgrade handler
/// removes it as soon as the head has been parsed, so bytes after the head (a pipelined first frame)
/// never count.
final class RequestHeadLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    struct TooLarge: Error {}

    private let limit: Int
    private var seen = 0
    private var removed = false

    init(limit: Int) {
        self.limit = limit
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.removed = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.seen += self.unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
        // The decoder runs synchronously above: if the head completed, we were removed meanwhile.
        if !self.removed && self.seen > self.limit {
            self.removed = true
            context.fireErrorCaught(TooLarge())
        }
    }
}
