import NIOCore
import NIOHTTP1

/// Closes an admin connection that sits idle between requests, or that takes too long to send one request, for
/// `timeout` (`admin.idle_timeout`).
///
/// The clock runs while the server waits for the client: from accept or from the end of a response until the next
/// request head, and from that head until the request's end. It stops while a complete request is being answered
/// (a QoS 2 publish may wait for the broker), which `admin.publish.ack_timeout` bounds instead. It restarts when a
/// response ends, so a client that stops reading a response is also closed in the end.
final class AdminConnectionTimer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Requests fully received and not yet answered: while there are any, the clock is stopped.
    private var awaitingResponse = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            if awaitingResponse == 0 { arm(context) }
        case .body:
            break
        case .end:
            awaitingResponse += 1
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // A response sent before its request was read to the end (401, 413 …) answers nothing that was counted.
            awaitingResponse = max(0, awaitingResponse - 1)
            if awaitingResponse == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }
}
