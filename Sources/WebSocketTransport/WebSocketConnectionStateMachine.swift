import NIOCore

/// The closing handshake (RFC 6455 §7) and the keepalive of one connection, as a state machine that returns what to
/// do. Time is an input (`now`), so every timeout is tested with a controlled clock; the codec performs the actions
/// and keeps one timer armed for the deadline an action names.
///
/// ```
///  open ──close requested / received / violation──► closeSent (ours, awaiting the answer) ──answer, timeout──► closed
///    │              │ (a streamed message is half written)                                                  ▲
///    │              └────────► closePending ──message complete──► the close frame goes out ─────────────────┤
///    │                               └──────────────timeout: no close frame can be sent ────────────────────┤
///    └────────────────────────── keepalive: no answer to a ping ────────────────────────────────────────────┘
/// ```
///
/// A close frame cannot go inside a frame: while a streamed message is half written the close waits for its end
/// (`closePending`), bounded by the close timeout; the connection ends without a close frame only when the rest of
/// the message does not come in time.
struct WebSocketConnectionStateMachine {
    struct Configuration: Sendable {
        /// From our close frame to the peer's answer (and from a close that must wait for a streamed message to the
        /// end of that message).
        var closeTimeout: TimeAmount
        /// Silence after which a ping is sent; nil: no keepalive.
        var pingInterval: TimeAmount?
        /// How long an answer to that ping may take.
        var pingTimeout: TimeAmount
    }

    /// A close frame's content.
    struct CloseFrame: Equatable {
        var code: WebSocketCloseCode?
        var reason: String
    }

    /// What happens once our close frame is written.
    enum AfterClose: Equatable {
        /// We started the handshake: wait for the peer's close frame until the deadline.
        case awaitAnswer(until: NIODeadline)
        /// The handshake is complete (we answered) or abandoned (a violation): close the socket.
        case closeSocket
    }

    enum Action: Equatable {
        case none
        /// Write this close frame after everything queued, then do `then`.
        case sendClose(CloseFrame, then: AfterClose)
        /// The close frame waits for the end of the streamed message; arm the timer for the deadline.
        case waitForStream(until: NIODeadline)
        /// Write a keepalive ping and arm the timer for the deadline of its answer.
        case sendPing(answerBy: NIODeadline)
        /// Arm the timer for the next check.
        case arm(NIODeadline)
        /// The peer did not answer a ping: report `reason`, write a close 1001 if `sendsCloseFrame`, close the socket.
        case keepaliveExpired(reason: String, sendsCloseFrame: Bool)
        /// Close the socket now, without (another) close frame.
        case closeSocket
    }

    enum State: Equatable {
        case open
        /// A close frame is owed but a streamed message is half written; `awaitsAnswer`: whether we started the
        /// handshake (then the peer's close frame is awaited once ours is out).
        case closePending(CloseFrame, deadline: NIODeadline, awaitsAnswer: Bool)
        case closeSent(deadline: NIODeadline)
        case closed
    }

    let configuration: Configuration
    private(set) var state = State.open
    /// When the peer last sent anything (every frame proves it is alive).
    private var lastHeardFrom: NIODeadline
    /// When the unanswered keepalive ping was sent.
    private var pingSentAt: NIODeadline?
    /// A ping became due while a streamed message was half written: it goes out when the message is complete.
    private var pingDue = false
    /// Our close asked to keep passing on the peer's data frames until its answering close frame.
    private var keepsReceiving = false

    init(configuration: Configuration, now: NIODeadline) {
        self.configuration = configuration
        self.lastHeardFrom = now
    }

    /// Messages may be written (and the peer's data passed on) only while open.
    var isOpen: Bool { self.state == .open }

    var isClosed: Bool { self.state == .closed }

    /// Whether the peer's data frames are passed on: while open, and while our own close (one that asked to keep
    /// receiving) is owed or awaits the peer's answer. Never after the peer's close frame.
    var deliversData: Bool {
        switch self.state {
        case .open: true
        case .closePending(_, _, let awaitsAnswer): awaitsAnswer && self.keepsReceiving
        case .closeSent: self.keepsReceiving
        case .closed: false
        }
    }

    /// Whether `peerHeard(at:)` matters: the hot path reads the clock only then.
    var usesKeepalive: Bool { self.configuration.pingInterval.map { $0 > .zero } ?? false }

    // MARK: Keepalive

    /// The first timer, when keepalive is on.
    func start() -> Action {
        guard let interval = self.configuration.pingInterval, interval > .zero else { return .none }
        return .arm(self.lastHeardFrom + interval)
    }

    /// The peer sent a frame (reported once per read burst).
    mutating func peerHeard(at now: NIODeadline) {
        self.lastHeardFrom = now
    }

    mutating func timerFired(now: NIODeadline, streaming: Bool) -> Action {
        switch self.state {
        case .open:
            return self.checkKeepalive(now: now, streaming: streaming)
        case .closePending(_, let deadline, _), .closeSent(let deadline):
            guard now >= deadline else { return .arm(deadline) }
            // No answer to our close, or the streamed message did not end in time (no close frame can follow it).
            self.state = .closed
            return .closeSocket
        case .closed:
            return .none
        }
    }

    private mutating func checkKeepalive(now: NIODeadline, streaming: Bool) -> Action {
        guard let interval = self.configuration.pingInterval, interval > .zero else { return .none }
        if let sent = self.pingSentAt {
            if self.lastHeardFrom >= sent {
                self.pingSentAt = nil  // anything heard since the ping (a pong, any frame) answers it
            } else if now >= sent + self.configuration.pingTimeout {
                // The peer (or the path to it) is gone: say so and close without a handshake it will not complete.
                self.state = .closed
                let reason = "no answer to ping within \(self.configuration.pingTimeout.humanDescription)"
                return .keepaliveExpired(reason: reason, sendsCloseFrame: !streaming)
            } else {
                return .arm(sent + self.configuration.pingTimeout)
            }
        }
        let silentUntil = self.lastHeardFrom + interval
        guard now >= silentUntil else { return .arm(silentUntil) }
        guard !streaming else {
            self.pingDue = true
            return .none
        }
        return self.ping(now: now)
    }

    private mutating func ping(now: NIODeadline) -> Action {
        self.pingDue = false
        self.pingSentAt = now
        return .sendPing(answerBy: now + self.configuration.pingTimeout)
    }

    // MARK: Closing

    /// The handler behind asked to close with `code` (our side starts the handshake); with `keepsReceiving` the peer's
    /// data frames are still passed on until its answering close frame.
    mutating func closeRequested(
        _ code: WebSocketCloseCode, reason: String, keepsReceiving: Bool = false, streaming: Bool, now: NIODeadline
    ) -> Action {
        guard case .open = self.state else { return .none }
        self.keepsReceiving = keepsReceiving
        return self.owe(CloseFrame(code: code, reason: reason), awaitsAnswer: true, streaming: streaming, now: now)
    }

    /// The peer's close frame arrived.
    mutating func closeReceived(code: WebSocketCloseCode?, streaming: Bool, now: NIODeadline) -> Action {
        switch self.state {
        case .open:
            // Peer-initiated: answer with the same code (RFC 6455 §5.5.1), then close the socket — the server closes
            // TCP first (§7.1.1).
            return self.owe(CloseFrame(code: code, reason: ""), awaitsAnswer: false, streaming: streaming, now: now)
        case .closePending(let frame, let deadline, _):
            // Both sides closed at once; our frame, still owed, is the answer.
            self.state = .closePending(frame, deadline: deadline, awaitsAnswer: false)
            return .waitForStream(until: deadline)
        case .closeSent:
            // The answer to our close: the handshake is complete.
            self.state = .closed
            return .closeSocket
        case .closed:
            return .none
        }
    }

    /// The peer broke the protocol: refuse with the error's close code, then close the socket.
    mutating func protocolViolation(_ error: WebSocketProtocolError, streaming: Bool, now: NIODeadline) -> Action {
        switch self.state {
        case .open:
            return self.owe(CloseFrame(code: error.closeCode, reason: error.reason), awaitsAnswer: false, streaming: streaming, now: now)
        case .closePending, .closeSent:
            // Already closing; a second error changes nothing for the peer.
            self.state = .closed
            return .closeSocket
        case .closed:
            return .none
        }
    }

    /// The streamed message is complete: a close frame waiting for it goes out, or a ping that became due.
    mutating func streamCompleted(now: NIODeadline) -> Action {
        switch self.state {
        case .closePending(let frame, _, let awaitsAnswer):
            return self.send(frame, awaitsAnswer: awaitsAnswer, now: now)
        case .open where self.pingDue:
            return self.ping(now: now)
        default:
            return .none
        }
    }

    /// The socket is closed.
    mutating func channelClosed() {
        self.state = .closed
    }

    private mutating func owe(_ frame: CloseFrame, awaitsAnswer: Bool, streaming: Bool, now: NIODeadline) -> Action {
        guard streaming else { return self.send(frame, awaitsAnswer: awaitsAnswer, now: now) }
        let deadline = now + self.configuration.closeTimeout
        self.state = .closePending(frame, deadline: deadline, awaitsAnswer: awaitsAnswer)
        return .waitForStream(until: deadline)
    }

    private mutating func send(_ frame: CloseFrame, awaitsAnswer: Bool, now: NIODeadline) -> Action {
        guard awaitsAnswer else {
            self.state = .closed
            return .sendClose(frame, then: .closeSocket)
        }
        let deadline = now + self.configuration.closeTimeout
        self.state = .closeSent(deadline: deadline)
        return .sendClose(frame, then: .awaitAnswer(until: deadline))
    }
}
