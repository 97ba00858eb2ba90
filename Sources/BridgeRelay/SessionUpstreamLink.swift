import NIOCore

/// A session's broker side: one dial through `UpstreamDial`, then the connection's `UpstreamHandler`, until the session
/// lets go of it. Client bytes are flushed once per read burst, coalesced over `coalesceWindow` while the session is
/// busy (`FlushCoalescing`); closing cancels a dial in progress, or closes the connection (in order after what was
/// written, or at once). It also keeps the session's broker → client flushes (`toClient`): broker reads wait while one
/// of those is deferred.
///
/// Owned by `ClientSessionHandler`, on its event loop.
final class SessionUpstreamLink {
    private let upstream: Upstream
    private let lingerTimeout: TimeAmount
    private var dial: UpstreamDial?
    private var handler: UpstreamHandler?
    /// The plan that chose `server`, holding the session's place in its count until the session lets go.
    private var plan: (any UpstreamServerPlan)?
    /// The broker the session went to, once connected: what the access log names.
    private(set) var server: UpstreamServer?
    /// The subprotocol a `ws` broker answered.
    private(set) var subprotocol: String?
    private var needsFlush = false
    /// Client → broker flushes.
    private let toBroker: CoalescedFlush
    /// Broker → client flushes, performed by the session (`ClientSessionHandler.flushToClient`).
    let toClient: CoalescedFlush

    /// Uses `settings.upstreamLingerTimeout` (after an orderly close, how long the broker gets to close its side) and
    /// `settings.coalesceWindow` (how long a busy session's flushes may be deferred, in each direction); counts the
    /// deferred flushes in `metrics`.
    init(upstream: Upstream, settings: SessionSettings, metrics: BridgeMetrics.Route?) {
        self.upstream = upstream
        self.lingerTimeout = settings.upstreamLingerTimeout
        self.toBroker = CoalescedFlush(window: settings.coalesceWindow, deferrals: metrics?.deferredFlushes(.clientToBroker))
        self.toClient = CoalescedFlush(window: settings.coalesceWindow, deferrals: metrics?.deferredFlushes(.brokerToClient))
    }

    var description: String { self.upstream.description }
    var dialsBeforeUpgrade: Bool { self.upstream.connector.dialsBeforeUpgrade }
    /// False only while a connection is there and cannot take more.
    var isWritable: Bool { self.handler?.isWritable ?? true }

    /// Dials; `completion` runs unless the link was closed meanwhile, with the server the session is connected to. On
    /// success the connection's handler is the session's partner.
    func dial(
        _ request: UpstreamDialRequest, prelude: ByteBuffer?, subprotocols: [String]?, timeout: TimeAmount, metrics: BridgeMetrics,
        eventLoop: any EventLoop, makeHandler: @escaping (EventLoopPromise<String?>) -> UpstreamHandler,
        completion: @escaping (Result<UpstreamServer, any Error>) -> Void
    ) {
        let dial = UpstreamDial(
            upstream: self.upstream, request: request, prelude: prelude, subprotocols: subprotocols, timeout: timeout,
            metrics: metrics, eventLoop: eventLoop, makeHandler: makeHandler)
        self.dial = dial
        dial.start().assumeIsolated().whenComplete { result in
            guard self.dial === dial else { return }  // closed while dialling
            self.dial = nil
            completion(
                result.map { connected in
                    self.handler = connected.handler
                    self.server = connected.server
                    self.subprotocol = connected.subprotocol
                    self.plan = connected.plan
                    connected.plan.sessionOpened(on: connected.server)
                    return connected.server
                })
        }
    }

    func write(_ bytes: ByteBuffer) {
        guard let handler = self.handler else { return }
        handler.partnerWrite(bytes)
        self.needsFlush = true
    }

    /// At the end of a read burst of `burstBytes`: now when the direction was idle (or the burst is large), else at the
    /// end of the coalescing window.
    func flush(burstBytes: Int) {
        guard self.needsFlush, let eventLoop = self.handler?.eventLoop else { return }
        self.toBroker.flushWanted(on: eventLoop, burstBytes: burstBytes) { self.flushNow() }
    }

    private func flushNow() {
        guard self.needsFlush else { return }
        self.needsFlush = false
        self.handler?.partnerFlush()
    }

    /// The client can take broker bytes again: a read held back for it is replayed.
    func clientCanTakeMore() {
        self.handler?.partnerBecameWritable()
    }

    /// The connection is gone (its handler said so).
    func lost() {
        self.handler = nil
        self.releaseServer()
        self.toBroker.cancel()
    }

    /// `graceful`: what was written goes out first and the broker sees an orderly end of stream; else closed at once.
    func close(graceful: Bool) {
        if let dial = self.dial {
            self.dial = nil
            dial.cancel()
        }
        self.releaseServer()
        // The session flushed to the client before letting go (close frame) or the client is gone: nothing to defer.
        self.toClient.cancel()
        guard let handler = self.handler else { return }
        // A deferred flush to the broker is performed now, before its end of stream.
        self.toBroker.cancel()
        if graceful { self.flushNow() }
        self.handler = nil
        self.needsFlush = false
        handler.partnerClose(graceful: graceful, fullCloseAfter: self.lingerTimeout)
    }

    /// The session no longer counts on its server (for `least_sessions` and the per-server session gauge).
    private func releaseServer() {
        guard let plan = self.plan else { return }
        self.plan = nil
        plan.sessionClosed()
    }
}
