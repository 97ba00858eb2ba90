import NIOCore

/// The first handler of a load-generator connection: on `AbruptCloseHandler.Request` (a user outbound event) it closes
/// the channel from here, below the TLS handler, so that a storm's cut is a network cut — no TLS close_notify, no
/// WebSocket close — while every handler above it stays in the dark, as they would be.
///
/// The request travels down the pipeline like any outbound event (NIOSSL and the WebSocket handlers pass it on), so
/// the client handler that cuts does not need to find this handler or the TLS handler by type.
final class AbruptCloseHandler: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny

    /// Close the connection at once, below everything else in the pipeline.
    struct Request: Sendable {}

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is Request {
            context.close(promise: promise)
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }
}
