import NIOCore
import NIOEmbedded
import NIOTLS
import Synchronization

@testable import BridgeRelay

/// An `UpstreamConnector` whose "broker connections" are `EmbeddedChannel`s on the session's own
/// `EmbeddedEventLoop`: the test reads what the bridge wrote to the broker and injects what the broker sends.
///
/// Every call happens on the test's thread (the embedded loop's thread), so the lock only satisfies `Sendable`.
final class FakeUpstreamConnector: UpstreamConnector {
    enum Behaviour: Sendable {
        /// Connected and ready at once: the handler is added, the channel activated, the future succeeded.
        case connect
        /// The dial fails at once (refused broker).
        case refuse
        /// Nothing happens until the test calls `completeDial()` or `failDial()`.
        case manual
        /// Connected (future succeeded, channel active) but waiting for a TLS handshake that the test completes
        /// with `finishTLSHandshake()`, or never.
        case connectAwaitingTLS
    }

    struct RefusedError: Error, CustomStringConvertible {
        var description: String { "connection refused (fake)" }
    }

    /// One broker connection the bridge opened.
    struct Upstream {
        let channel: EmbeddedChannel
        let reads: ReadCounter
    }

    private struct PendingDial {
        let handler: NIOLoopBound<UpstreamHandler>
        let promise: EventLoopPromise<any Channel>
    }

    private struct State {
        var behaviour: Behaviour
        var dials = 0
        var upstreams: [Upstream] = []
        var pending: [PendingDial] = []
    }

    private let state: Mutex<State>

    init(_ behaviour: Behaviour = .connect) {
        self.state = Mutex(State(behaviour: behaviour))
    }

    let endpointDescription = "tcp://broker.test:1883"

    /// How many times the bridge dialled.
    var dials: Int { self.state.withLock { $0.dials } }
    var upstreams: [Upstream] { self.state.withLock { $0.upstreams } }
    var upstream: Upstream? { self.upstreams.first }

    func connect(on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>) -> EventLoopFuture<any Channel> {
        let behaviour = self.state.withLock { state in
            state.dials += 1
            return state.behaviour
        }
        switch behaviour {
        case .refuse:
            return eventLoop.makeFailedFuture(RefusedError())
        case .manual:
            let promise = eventLoop.makePromise(of: (any Channel).self)
            self.state.withLock { $0.pending.append(PendingDial(handler: handler, promise: promise)) }
            return promise.futureResult
        case .connect, .connectAwaitingTLS:
            do {
                let upstream = try self.open(on: eventLoop, handler: handler.value, awaitTLS: behaviour == .connectAwaitingTLS)
                return eventLoop.makeSucceededFuture(upstream.channel)
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
        }
    }

    /// Completes the oldest manual dial: the connection opens and becomes ready.
    @discardableResult
    func completeDial() throws -> Upstream {
        let dial = try self.takePending()
        let upstream = try self.open(on: dial.promise.futureResult.eventLoop, handler: dial.handler.value, awaitTLS: false)
        dial.promise.succeed(upstream.channel)
        return upstream
    }

    /// Fails the oldest manual dial.
    func failDial(_ error: any Error = RefusedError()) throws {
        try self.takePending().promise.fail(error)
    }

    /// Completes the TLS handshake of an upstream opened with `.connectAwaitingTLS`.
    func finishTLSHandshake(of upstream: Upstream) {
        upstream.channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
    }

    private func takePending() throws -> PendingDial {
        struct NoPendingDial: Error {}
        return try self.state.withLock { state in
            guard !state.pending.isEmpty else { throw NoPendingDial() }
            return state.pending.removeFirst()
        }
    }

    private func open(on eventLoop: any EventLoop, handler: UpstreamHandler, awaitTLS: Bool) throws -> Upstream {
        guard let loop = eventLoop as? EmbeddedEventLoop else {
            struct NotEmbedded: Error {}
            throw NotEmbedded()
        }
        let channel = EmbeddedChannel(loop: loop)
        let reads = ReadCounter()
        handler.expectsTLSHandshake = awaitTLS
        try channel.pipeline.syncOperations.addHandler(reads)
        try channel.pipeline.syncOperations.addHandler(handler)
        let upstream = Upstream(channel: channel, reads: reads)
        self.state.withLock { $0.upstreams.append(upstream) }
        channel.connect(to: try SocketAddress(ipAddress: "192.0.2.1", port: 1883), promise: nil)
        return upstream
    }

    /// Closes every broker connection still open (test tear-down).
    func closeAll() {
        for upstream in self.upstreams {
            upstream.channel.close(promise: nil)
        }
        let pending = self.state.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
        for dial in pending {
            dial.promise.fail(ChannelError.ioOnClosedChannel)
        }
    }
}
