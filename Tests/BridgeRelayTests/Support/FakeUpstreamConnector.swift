import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOTLS

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
        /// The handler is added to a channel that is not connected yet (what `ClientBootstrap` does once the host
        /// name is resolved); `completeDial()` connects it.
        case addedThenManual
    }

    struct RefusedError: Error, CustomStringConvertible {
        var description: String { "connection refused (fake)" }
    }

    /// One broker connection the bridge opened.
    struct Upstream {
        let channel: EmbeddedChannel
        let reads: ReadCounter
        let closes: CloseRecorder
    }

    private struct PendingDial {
        let handler: NIOLoopBound<UpstreamHandler>
        /// The dial's slot holder, first in the pipeline once a channel exists (as the real connectors add it).
        let dialSlot: NIOLoopBound<UpstreamDialSlotHolder>?
        let promise: EventLoopPromise<any Channel>
        /// For `.addedThenManual`: the channel the handler is already in.
        let upstream: Upstream?
    }

    private struct State {
        var behaviour: Behaviour
        var dials = 0
        /// The server of each dial.
        var servers: [UpstreamServer] = []
        /// What each dial was asked to send first (a PROXY protocol header).
        var preludes: [ByteBuffer?] = []
        /// The subprotocols each dial was asked to offer (`ws`).
        var offers: [[String]?] = []
        var upstreams: [Upstream] = []
        var pending: [PendingDial] = []
    }

    private let state: NIOLockedValueBox<State>
    private let emulateHalfClose: Bool
    let dialsBeforeUpgrade: Bool
    /// What a broker dialled before the upgrade answers in `Sec-WebSocket-Protocol`.
    private let answer: @Sendable ([String]?) -> String?
    /// Servers whose dials fail at once, whatever the behaviour.
    private let refusing: Set<UpstreamServer>

    static let server = UpstreamServer(host: "broker.test", port: 1883)

    /// - Parameters:
    ///   - emulateHalfClose: see `CloseRecorder`.
    ///   - dialsBeforeUpgrade: behave as the `ws` kind: the session dials before the 101 and the broker answers
    ///     `answer(offer)` as its subprotocol.
    init(
        _ behaviour: Behaviour = .connect, emulateHalfClose: Bool = false, dialsBeforeUpgrade: Bool = false,
        answer: @escaping @Sendable ([String]?) -> String? = { $0?.first }, refusing: Set<UpstreamServer> = []
    ) {
        self.state = NIOLockedValueBox(State(behaviour: behaviour))
        self.emulateHalfClose = emulateHalfClose
        self.dialsBeforeUpgrade = dialsBeforeUpgrade
        self.answer = answer
        self.refusing = refusing
    }

    /// This connector behind one server, as sessions get it.
    var relayUpstream: BridgeRelay.Upstream { BridgeRelay.Upstream(connector: self, servers: SingleUpstreamServer(Self.server)) }

    func endpointDescription(of server: UpstreamServer) -> String { "tcp://\(server)" }

    /// How many times the bridge dialled.
    var dials: Int { self.state.withLockedValue { $0.dials } }
    var servers: [UpstreamServer] { self.state.withLockedValue { $0.servers } }
    var preludes: [ByteBuffer?] { self.state.withLockedValue { $0.preludes } }
    var offers: [[String]?] { self.state.withLockedValue { $0.offers } }
    var upstreams: [Upstream] { self.state.withLockedValue { $0.upstreams } }
    var upstream: Upstream? { self.upstreams.first }

    func connect(
        to server: UpstreamServer, on eventLoop: any EventLoop, handler: NIOLoopBound<UpstreamHandler>, options: UpstreamConnectOptions
    ) -> EventLoopFuture<any Channel> {
        let behaviour = self.state.withLockedValue { state in
            state.dials += 1
            state.servers.append(server)
            state.preludes.append(options.prelude)
            state.offers.append(options.subprotocols)
            return state.behaviour
        }
        if self.dialsBeforeUpgrade { handler.value.negotiatedSubprotocol = self.answer(options.subprotocols) }
        if self.refusing.contains(server) { return eventLoop.makeFailedFuture(RefusedError()) }
        switch behaviour {
        case .refuse:
            return eventLoop.makeFailedFuture(RefusedError())
        case .manual:
            let promise = eventLoop.makePromise(of: (any Channel).self)
            self.state.withLockedValue {
                $0.pending.append(PendingDial(handler: handler, dialSlot: options.dialSlot, promise: promise, upstream: nil))
            }
            return promise.futureResult
        case .addedThenManual:
            let promise = eventLoop.makePromise(of: (any Channel).self)
            do {
                let upstream = try self.open(
                    on: eventLoop, handler: handler.value, dialSlot: options.dialSlot?.value, awaitTLS: false, connect: false)
                self.state.withLockedValue {
                    $0.pending.append(PendingDial(handler: handler, dialSlot: options.dialSlot, promise: promise, upstream: upstream))
                }
            } catch {
                promise.fail(error)
            }
            return promise.futureResult
        case .connect, .connectAwaitingTLS:
            do {
                let upstream = try self.open(
                    on: eventLoop, handler: handler.value, dialSlot: options.dialSlot?.value, awaitTLS: behaviour == .connectAwaitingTLS)
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
        if let upstream = dial.upstream {
            guard upstream.closes.modes.isEmpty else {
                // Closed while connecting: the connect fails, as it does on a real socket.
                // (`EmbeddedChannel` would otherwise become active again after a close.)
                dial.promise.fail(ChannelError.ioOnClosedChannel)
                return upstream
            }
            upstream.channel.connect(to: try SocketAddress(ipAddress: "192.0.2.1", port: 1883), promise: nil)
            dial.promise.succeed(upstream.channel)
            return upstream
        }
        let upstream = try self.open(
            on: dial.promise.futureResult.eventLoop, handler: dial.handler.value, dialSlot: dial.dialSlot?.value, awaitTLS: false)
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
        return try self.state.withLockedValue { state in
            guard !state.pending.isEmpty else { throw NoPendingDial() }
            return state.pending.removeFirst()
        }
    }

    private func open(
        on eventLoop: any EventLoop, handler: UpstreamHandler, dialSlot: UpstreamDialSlotHolder?, awaitTLS: Bool, connect: Bool = true
    ) throws -> Upstream {
        guard let loop = eventLoop as? EmbeddedEventLoop else {
            struct NotEmbedded: Error {}
            throw NotEmbedded()
        }
        let channel = EmbeddedChannel(loop: loop)
        let reads = ReadCounter()
        let closes = CloseRecorder(emulateHalfClose: self.emulateHalfClose)
        handler.expectsTLSHandshake = awaitTLS
        if let dialSlot { try channel.pipeline.syncOperations.addHandler(dialSlot) }
        try channel.pipeline.syncOperations.addHandler(closes)
        try channel.pipeline.syncOperations.addHandler(reads)
        try channel.pipeline.syncOperations.addHandler(handler)
        let upstream = Upstream(channel: channel, reads: reads, closes: closes)
        self.state.withLockedValue { $0.upstreams.append(upstream) }
        if connect {
            channel.connect(to: try SocketAddress(ipAddress: "192.0.2.1", port: 1883), promise: nil)
        }
        return upstream
    }

    /// Closes every broker connection still open (test tear-down).
    func closeAll() {
        for upstream in self.upstreams {
            upstream.channel.close(promise: nil)
        }
        let pending = self.state.withLockedValue { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
        for dial in pending {
            dial.promise.fail(ChannelError.ioOnClosedChannel)
        }
    }
}
