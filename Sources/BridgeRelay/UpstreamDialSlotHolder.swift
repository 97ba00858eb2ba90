import NIOCore

/// Holds a dial's slot at its `UpstreamDialGate` until the broker has sent the first bytes on the connection, the
/// proof that the broker `accept()`ed it (a broker says nothing before): then it releases the slot and leaves the
/// pipeline, so the bytes that follow pass no extra handler.
///
/// The connector adds it first, before anything else (`UpstreamConnectOptions.dialSlot`), so it sees the very first
/// bytes: a TLS ServerHello and a WebSocket 101 as well as a CONNACK. A connection that closes or is torn down before
/// the broker said a word releases the slot too; the dial releases it when the connect fails, is cancelled or runs
/// past its deadline (`UpstreamDialGate.Ticket.release(at:on:)`). The ticket counts only the first release.
package final class UpstreamDialSlotHolder: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer

    private let ticket: UpstreamDialGate.Ticket

    init(_ ticket: UpstreamDialGate.Ticket) {
        self.ticket = ticket
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.ticket.release()
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        self.ticket.release()
        context.fireChannelInactive()
    }

    /// Removed after the first bytes, or torn down with a channel that never connected.
    package func handlerRemoved(context: ChannelHandlerContext) {
        self.ticket.release()
    }
}
