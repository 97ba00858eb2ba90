import NIOCore

/// The first handler of every accepted connection: when a drain reaches it (`ChannelShouldQuiesceEvent`, sent by
/// NIOExtras' `ServerQuiescingHelper`), it waits for the connection's turn (`DrainPacer`, `shutdown.drain_rate`), then
/// passes the event on — a session answers with close 1001, a handshake in progress just closes — and closes the
/// connection itself if it is still open when the grace period (counted from the start of the drain) ends.
///
/// Each connection carries its own turn and deadline, so the drain needs no list of connections, and the helper's
/// "all closed" future is bounded by the grace period.
final class DrainDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let gracePeriod: TimeAmount
    private let pacer: DrainPacer?
    private let onHardClose: @Sendable () -> Void
    private var deadline: Scheduled<Void>?
    private var turn: Scheduled<Void>?

    /// - Parameters:
    ///   - pacer: when the connection's turn to hear of the drain comes; nil: at once.
    ///   - onHardClose: called when the grace period ends with the connection still open (for the log).
    init(gracePeriod: TimeAmount, pacer: DrainPacer? = nil, onHardClose: @escaping @Sendable () -> Void) {
        self.gracePeriod = gracePeriod
        self.pacer = pacer
        self.onHardClose = onHardClose
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard deadline == nil else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let onHardClose = onHardClose
        deadline = context.eventLoop.scheduleTask(in: gracePeriod) {
            onHardClose()
            loopBound.value.close(promise: nil)
        }
        let delay = pacer?.nextTurn() ?? .zero
        guard delay > .zero else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // A turn after the grace period never comes: the deadline closes the connection first.
        turn = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            loopBound.value.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        turn?.cancel()
        context.fireChannelInactive()
    }
}
