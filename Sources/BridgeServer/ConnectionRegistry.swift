import NIOCore
import Synchronization

/// The connections accepted by all listeners, so a drain can reach each of them.
///
/// Draining fires `ChannelShouldQuiesceEvent` into every connection (a session answers with close
/// 1001, a handshake in progress just closes) and waits until all are gone; whatever is left at the end
/// of the grace period is closed hard. A connection accepted after the drain began is closed at once.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
        var drained: EventLoopPromise<Void>?
    }

    private let state = Mutex(State())

    var count: Int { self.state.withLock { $0.channels.count } }

    /// Registers a new connection; false when draining or when `limit` (0: none) connections are open
    /// already (the caller closes it).
    func add(_ channel: any Channel, limit: Int = 0) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = self.state.withLock { state -> Bool in
            guard !state.draining, limit == 0 || state.channels.count < limit else { return false }
            state.channels[id] = channel
            return true
        }
        guard accepted else { return false }
        channel.closeFuture.whenComplete { _ in self.remove(id) }
        return true
    }

    private func remove(_ id: ObjectIdentifier) {
        let promise = self.state.withLock { state -> EventLoopPromise<Void>? in
            state.channels[id] = nil
            guard state.channels.isEmpty, let promise = state.drained else { return nil }
            state.drained = nil
            return promise
        }
        promise?.succeed()
    }

    /// Asks every connection to close and returns a future that succeeds once none is left.
    func drain(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let channels = self.state.withLock { state -> [any Channel] in
            state.draining = true
            if state.channels.isEmpty { return [] }
            state.drained = promise
            return Array(state.channels.values)
        }
        if channels.isEmpty {
            promise.succeed()
            return promise.futureResult
        }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        return promise.futureResult
    }

    /// Closes whatever is still open (end of the grace period).
    func closeAll() {
        let channels = self.state.withLock { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}
