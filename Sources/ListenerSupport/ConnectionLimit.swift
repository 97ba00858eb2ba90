import NIOConcurrencyHelpers
import NIOCore

/// The open connections of one or more listeners, held against one limit: the count behind `connectionCount`, the
/// cap behind `limits.max_connections` and `admin.max_connections`.
///
/// Each listener's server channel gets `makeServerChannelHandler()` in its `serverChannelInitializer`, before
/// anything else sees the accepted channel: a connection over the limit, or one accepted after `stopAdmitting()`,
/// is closed there, before its pipeline is even set up (the cheapest answer is none).
package final class ConnectionLimit: Sendable {
    private struct State {
        var open = 0
        var admitting = true
    }

    /// 0: no limit.
    package let limit: Int
    private let state = NIOLockedValueBox(State())

    package init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Connections open now (accepted and not yet closed; handshakes included).
    package var count: Int {
        state.withLockedValue { $0.open }
    }

    /// From now on every new connection is closed at accept: a drain has begun. Call it before asking the
    /// connections to quiesce, so none slips in between unasked.
    package func stopAdmitting() {
        state.withLockedValue { $0.admitting = false }
    }

    /// Counts a new connection, or says no (draining, or `limit` reached).
    func admit() -> Bool {
        state.withLockedValue { state in
            guard state.admitting, limit == 0 || state.open < limit else { return false }
            state.open += 1
            return true
        }
    }

    func closed() {
        state.withLockedValue { $0.open -= 1 }
    }

    /// For a listener's server channel pipeline: counts each accepted connection until it closes.
    package func makeServerChannelHandler() -> some ChannelInboundHandler {
        ConnectionLimitHandler(limit: self)
    }
}

/// On a server channel, where each read is a newly accepted connection.
final class ConnectionLimitHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let limit: ConnectionLimit

    init(limit: ConnectionLimit) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let connection = unwrapInboundIn(data)
        guard limit.admit() else {
            connection.close(promise: nil)
            return
        }
        connection.closeFuture.whenComplete { [limit] _ in limit.closed() }
        context.fireChannelRead(data)
    }
}
