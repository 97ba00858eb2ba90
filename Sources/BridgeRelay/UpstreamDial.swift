import NIOCore

/// One session's way to a broker, and the only code that dials one.
///
/// It asks the selector for a plan that suits what the session knows (`UpstreamDialRequest`), then tries the plan's
/// servers one by one until one is ready for MQTT (connected; TLS and, for `ws`, WebSocket handshakes done), all within
/// one deadline (`upstream.connect_timeout` from the start). Each connect first takes a slot at its event loop's
/// `UpstreamDialGate` (`upstream.max_concurrent_dials`), waiting in line if need be, within the same deadline; a dial
/// still waiting at the deadline blames no server. The slot stays taken until the broker's first bytes on the
/// connection (`UpstreamDialSlotHolder`), which may come after the dial succeeded (a `tcp` broker speaks only to
/// answer the CONNECT that the session writes once the connection is ready); it is released at the latest at the
/// deadline, and at once when the attempt fails or the dial is cancelled. A failed attempt is counted, reported to
/// the plan, and its connection closed before the next server is tried (in line again); each attempt gets what is
/// left of the deadline. The connect metrics (`mqtt_ws_bridge_upstream_connect_seconds`, from the attempt's start,
/// its wait included; `..._failures_total`) are recorded here and nowhere else.
///
/// Lives on the session's event loop, owned by the session for the length of one dial.
final class UpstreamDial {
    /// A connection ready for MQTT; its handler reports to the session from now on.
    struct Connected {
        let handler: UpstreamHandler
        let server: UpstreamServer
        /// The subprotocol a `ws` broker answered.
        let subprotocol: String?
        /// The plan that chose `server`: the session's link tells it when the session opens there, and when it ends.
        let plan: any UpstreamServerPlan
    }

    /// Every server failed, or none was left when the deadline passed.
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    private let upstream: Upstream
    private let request: UpstreamDialRequest
    private let prelude: ByteBuffer?
    private let subprotocols: [String]?
    private let timeout: TimeAmount
    private let metrics: BridgeMetrics
    private let eventLoop: any EventLoop
    /// A handler for one attempt: it fulfils the promise when its connection is ready (or fails it).
    private let makeHandler: (EventLoopPromise<String?>) -> UpstreamHandler
    private let promise: EventLoopPromise<Connected>

    private var plan: (any UpstreamServerPlan)?
    private var failures: [(server: UpstreamServer, reason: String)] = []
    /// One server tried: its connection's handler, and its place at the dial gate (nil only while it starts).
    private struct Attempt {
        let server: UpstreamServer
        let handler: UpstreamHandler
        /// Completed by the connection (ready for MQTT, or failed); by `giveUp` for an attempt that never connected.
        let ready: EventLoopPromise<String?>
        var ticket: UpstreamDialGate.Ticket?
    }

    /// The attempt in progress, or the one that succeeded.
    private var attempt: Attempt?
    private var deadline = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var isFinished = false

    init(
        upstream: Upstream, request: UpstreamDialRequest, prelude: ByteBuffer?, subprotocols: [String]?, timeout: TimeAmount,
        metrics: BridgeMetrics, eventLoop: any EventLoop, makeHandler: @escaping (EventLoopPromise<String?>) -> UpstreamHandler
    ) {
        self.upstream = upstream
        self.request = request
        self.prelude = prelude
        self.subprotocols = subprotocols
        self.timeout = timeout
        self.metrics = metrics
        self.eventLoop = eventLoop
        self.makeHandler = makeHandler
        self.promise = eventLoop.makePromise(of: Connected.self)
    }

    /// Starts dialling. The future fails with `Failed` when no server could be reached, or `CancellationError` after `cancel()`.
    func start() -> EventLoopFuture<Connected> {
        self.deadline = self.eventLoop.now + self.timeout
        self.plan = self.upstream.servers.dialPlan(for: self.request, on: self.eventLoop)
        self.timer = self.eventLoop.assumeIsolated().scheduleTask(deadline: self.deadline) {
            self.timedOut()
        }
        self.next()
        return self.promise.futureResult
    }

    /// The session no longer needs a broker (the client left, a drain began): the attempt in progress is closed and no
    /// other is started. Does nothing once the dial has succeeded: that connection is the session's.
    func cancel() {
        guard !self.isFinished else { return }
        let attempt = self.attempt
        self.attempt = nil
        if let attempt { self.giveUp(attempt) }  // a session that left dials nothing, and holds no slot
        self.finish(.failure(CancellationError()))
        // Last: closing may report back synchronously, to a dial that no longer listens.
        attempt?.handler.abandon()
    }

    private func next() {
        guard !self.isFinished, let plan = self.plan else { return }
        guard let server = plan.next() else {
            self.finish(.failure(Failed(description: self.failureDescription)))
            return
        }
        let ready = self.eventLoop.makePromise(of: String?.self)
        let handler = self.makeHandler(ready)
        self.attempt = Attempt(server: server, handler: handler, ready: ready)
        let started = NIODeadline.now()
        // Waiting for a slot counts against the deadline: the connect gets what is left of it.
        let ticket = self.upstream.dialGates.gate(for: self.eventLoop).enter { ticket in
            self.connect(to: server, handler: handler, ready: ready, ticket: ticket)
        }
        if self.attempt?.handler === handler { self.attempt?.ticket = ticket }
        ready.futureResult.assumeIsolated().whenComplete { result in
            guard self.attempt?.handler === handler, !self.isFinished else { return }
            switch result {
            case .success(let subprotocol):
                self.metrics.recordUpstreamConnect(since: started)
                self.finish(.success(Connected(handler: handler, server: server, subprotocol: subprotocol, plan: plan)))
            case .failure(let error):
                self.attemptFailed(UpstreamErrorDescription.describe(error))
                self.next()
            }
        }
    }

    /// The attempt's turn at the gate: connects with the slot's holder first in the pipeline, which hands the slot on
    /// when the broker's first bytes arrive or the connection ends; a connect that fails hands it on here, and the
    /// deadline bounds how long the broker may stay silent.
    private func connect(
        to server: UpstreamServer, handler: UpstreamHandler, ready: EventLoopPromise<String?>, ticket: UpstreamDialGate.Ticket
    ) {
        var options = UpstreamConnectOptions(prelude: self.prelude, subprotocols: self.subprotocols, deadline: self.deadline)
        if ticket.holdsSlot {
            ticket.release(at: self.deadline, on: self.eventLoop)
            options.dialSlot = NIOLoopBound(UpstreamDialSlotHolder(ticket), eventLoop: self.eventLoop)
        }
        self.upstream.connector.connect(
            to: server, on: self.eventLoop, handler: NIOLoopBound(handler, eventLoop: self.eventLoop), options: options
        )
        .assumeIsolated()
        .whenComplete { result in
            switch result {
            case .success(let channel):
                // An attempt given up meanwhile (deadline, cancel, failure) leaves no connection behind: before the
                // handler had a context, closing it could not reach the socket. (Its slot was released then.)
                if self.attempt?.handler !== handler { channel.close(promise: nil) }
            case .failure(let error):
                // The holder may never have been added (the host did not resolve): no connection to release the slot.
                ticket.release()
                ready.fail(error)  // the handler may never have been added
            }
        }
    }

    /// Hands an abandoned attempt's slot, or its place in the line, to the next dial. An attempt still in the line
    /// never connects, so nothing else would ever complete its `ready`: it fails here, or the promise would keep the
    /// closure waiting on it, and with it this dial and the session, alive for good.
    private func giveUp(_ attempt: Attempt) {
        let neverConnected = attempt.ticket?.isWaiting == true
        attempt.ticket?.release()
        if neverConnected { attempt.ready.fail(CancellationError()) }
    }

    private func timedOut() {
        guard !self.isFinished else { return }
        if let attempt = self.attempt, attempt.ticket?.isWaiting == true {
            // Never dialled: the server is not to blame (no passive health report, no connect failure counted).
            self.attempt = nil
            self.giveUp(attempt)
            self.failures.append(
                (attempt.server, "no free upstream dial slot within \(self.timeout.humanDescription) (upstream.max_concurrent_dials)"))
            attempt.handler.abandon()
        } else {
            self.attemptFailed("no connection within \(self.timeout.humanDescription)")
        }
        self.finish(.failure(Failed(description: self.failureDescription)))
    }

    private func attemptFailed(_ reason: String) {
        guard let attempt = self.attempt else { return }
        self.attempt = nil
        self.giveUp(attempt)
        self.metrics.upstreamConnectFailed()
        self.plan?.dialFailed(attempt.server, reason: reason)
        self.failures.append((attempt.server, reason))
        attempt.handler.abandon()
    }

    /// One server: its reason, as the access log has always said it. Several: each with its address.
    private var failureDescription: String {
        switch self.failures.count {
        case 0: "no upstream server available"
        case 1: self.failures[0].reason
        default: self.failures.map { "\($0.server): \($0.reason)" }.joined(separator: "; ")
        }
    }

    private func finish(_ result: Result<Connected, any Error>) {
        self.isFinished = true
        self.timer?.cancel()
        self.timer = nil
        self.promise.assumeIsolated().completeWith(result)
    }
}
