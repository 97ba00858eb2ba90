import NIOCore

/// The first handler of every accepted connection: when a drain reaches it (`ChannelShouldQuiesceEvent`, sent by
/// NIOExtras' `ServerQuiescingHelper`), it passes the event on — a session answers with close 1001, a handshake in
/// progress just closes — and closes the connection itself if it is still open when the grace period ends.
///
/// Each connection carries its own deadline, so the drain needs no list of connections for the hard close, and the
/// helper's "all closed" future is bounded by the grace period.
///
/// This is also where a paced drain (closing sessions at a set rate, so the other instances are not hit by all of
/// this one's clients at once) would slot in: delay passing the event on by this connection's turn, and start the
/// deadline from there.
final class DrainDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let gracePeriod: TimeAmount
    private let onHardClose: @Sendable () -> Void
    private var deadline: Scheduled<Void>?

    /// - Parameter onHardClose: called when the grace period ends with the connection still open (for the log).
    init(gracePeriod: TimeAmount, onHardClose: @escaping @Sendable () -> Void) {
        self.gracePeriod = gracePeriod
        self.onHardClose = onHardClose
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, deadline == nil {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let onHardClose = onHardClose
            deadline = context.eventLoop.scheduleTask(in: gracePeriod) {
                onHardClose()
                loopBound.value.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}
