import NIOCore

/// Sends one static file's body in chunks, each written only when the previous one has reached the socket: a
/// connection holds at most one chunk beyond the file's shared buffer, however slowly the client reads. (Handing the
/// whole body to the channel at once made NIOSSL encrypt all of it up front: 15.6 MB held per reader of a 15 MiB
/// file.) The whole answer must be sent within `deadline`, or the connection is closed.
///
/// It works through the context of the handler that answered the request, so its writes take the same path as the
/// response head (through TLS, if any).
struct StaticFileSender {
    /// Bytes handed to the channel at a time: a few TLS records, enough to keep a fast client's socket busy.
    static let chunkSize = 64 * 1024

    /// Writes `head`, then `body` chunk by chunk, then closes the connection (also when the deadline passes first,
    /// or a write fails). Must run on the channel's event loop.
    static func send(
        head: ByteBuffer, body: ByteBuffer?, deadline: TimeAmount, context: ChannelHandlerContext
    ) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) {
            loopBound.value.close(promise: nil)
        }
        context.channel.closeFuture.whenComplete { _ in timer.cancel() }
        var remaining = body ?? ByteBuffer()
        let headWritten = context.writeAndFlush(NIOAny(head))
        func next(_ result: Result<Void, any Error>) {
            let context = loopBound.value
            guard case .success = result, let chunk = remaining.readSlice(length: min(chunkSize, remaining.readableBytes)),
                chunk.readableBytes > 0
            else {
                context.close(promise: nil)
                return
            }
            context.writeAndFlush(NIOAny(chunk)).assumeIsolated().whenComplete(next)
        }
        headWritten.assumeIsolated().whenComplete(next)
    }
}
