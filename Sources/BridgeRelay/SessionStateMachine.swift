import MQTTWire
import NIOCore
import WebSocketTransport

/// Who ended a session and why: the access log's `closed_by`, `close_code` and `reason`.
package struct SessionEnding: Hashable, Sendable, CustomStringConvertible {
    package enum Initiator: String, Sendable {
        case client, bridge, broker
        /// An operator closed the session through the admin API.
        case admin
    }

    package var initiator: Initiator
    /// The WebSocket close code sent or received; 1006 when the connection ended without a close frame.
    package var code: WebSocketCloseCode
    package var reason: String

    package init(_ initiator: Initiator, _ code: WebSocketCloseCode, _ reason: String) {
        self.initiator = initiator
        self.code = code
        self.reason = reason
    }

    package var description: String { "\(initiator.rawValue) \(code.rawValue): \(reason)" }

    /// What the client is told in the close frame. Reasons about the broker side (host names, TLS
    /// errors) stay in the logs: clients are not told how the network behind the bridge looks.
    var publicReason: String {
        switch self.code {
        case .tryAgainLater: "broker unavailable"
        case .internalError: "broker error"
        default: self.reason
        }
    }
}

/// The life of one relayed session, as a state machine that returns what to do.
///
/// `ClientSessionHandler` feeds it events and performs the actions; keeping the decisions here makes
/// every transition — including the unlikely orderings (the client leaves while the broker is being
/// dialled, the broker answers after a drain began) — testable without channels.
///
/// ```
///                     ┌─ tcp: awaitingConnect ──CONNECT──► connectingUpstream ──ready──┐
/// 101 answered ───────┤                                                                 ├──► relaying ──drain──► draining
///  (ws: after the     └─ ws: answeringUpgrade ──ready──► awaitingConnectWithUpstream ──CONNECT──┘                  │
///   broker's answer)                                                                                 client's close or EOF
///        every state: timeout, violation, client gone, upstream failure ──► closing ──► closed ◄─────────────┘
/// ```
struct SessionStateMachine {
    enum State: Equatable {
        /// The broker is being dialled before the client's 101, which waits for its answer (`ws` upstream).
        case answeringUpgrade
        /// The 101 was sent (or is being sent); waiting for the client's whole CONNECT.
        case awaitingConnect
        /// As `awaitingConnect`, with the broker connection already open (dialled before the 101).
        case awaitingConnectWithUpstream
        /// CONNECT inspected; the broker is being dialled (client reads are held back).
        case connectingUpstream
        /// Bytes flow both ways.
        case relaying
        /// Drain: close 1001 was sent; what the client still sends until its close frame or EOF (acknowledgements
        /// already on their way) is relayed to the broker, which sends nothing more to the client.
        case draining
        /// The end has begun (close frame sent or received); waiting for the channels to go.
        case closing
        /// The client channel is gone.
        case closed
    }

    enum Action: Equatable {
        case none
        /// Dial the broker.
        case dialUpstream
        /// The broker connection is open: answer the client's upgrade with a 101.
        case acceptUpgrade
        /// The broker cannot be reached before the 101: answer the upgrade with a 502 (no session starts).
        case refuseUpgrade(reason: String)
        /// Write the bytes held since the CONNECT to the broker and resume reading from the client.
        case startRelaying
        /// The broker cannot be reached: send CONNACK "server unavailable" in the client's protocol
        /// version, then the close frame of `ending`.
        case refuseWithConnack(MQTTProtocolVersion?, SessionEnding)
        /// Send the close frame of `ending` to the client and close the upstream.
        case closeClient(SessionEnding)
        /// Send `disconnect` (if any: MQTT 5 clients the broker accepted) and then the close frame of `ending` to the
        /// client, and keep relaying what the client sends to the broker until the client's close frame or EOF
        /// (bounded by the close timeout).
        case drainClient(SessionEnding, disconnect: ServerDisconnect?)
        /// The client side is ending by itself: close the upstream after what was received is flushed.
        case closeUpstream
    }

    private(set) var state = State.awaitingConnect
    /// The first reason the session started to end; later ones (e.g. the client's answer to our close
    /// frame) do not overwrite it.
    private(set) var ending: SessionEnding?
    private(set) var connect: MQTTConnectInfo?
    /// The client sent MQTT DISCONNECT: the broker's close, or the client's own close, that follows is the
    /// DISCONNECT's consequence, and the access log names the DISCONNECT.
    private(set) var clientSentDisconnect = false
    /// The client received the broker's CONNACK accepting it (return / reason code < 0x80). Only then may the server
    /// send an MQTT 5 client a DISCONNECT (MQTT-3.14.0-1).
    private(set) var clientWasAccepted = false

    // MARK: Upgrade

    /// The client's 101 depends on the broker (`ws` upstream): dial before answering. Only before the session starts.
    mutating func upgradeNeedsBroker() -> Action {
        guard self.state == .awaitingConnect, self.connect == nil, self.ending == nil else { return .none }
        self.state = .answeringUpgrade
        return .dialUpstream
    }

    // MARK: MQTT

    mutating func connectReceived(_ info: MQTTConnectInfo) -> Action {
        switch self.state {
        case .awaitingConnect:
            self.connect = info
            self.state = .connectingUpstream
            return .dialUpstream
        case .awaitingConnectWithUpstream:
            self.connect = info
            self.state = .relaying
            return .startRelaying
        case .answeringUpgrade, .connectingUpstream, .relaying, .draining, .closing, .closed:
            return .none
        }
    }

    /// The client broke the MQTT rules the bridge enforces (first packet not CONNECT, malformed
    /// length, packet too large) or the CONNECT did not arrive in time.
    mutating func clientViolatedMQTT(_ code: WebSocketCloseCode, _ reason: String) -> Action {
        self.beginClosing(SessionEnding(.bridge, code, reason))
    }

    mutating func connectTimedOut(after description: String) -> Action {
        guard self.state == .awaitingConnect || self.state == .awaitingConnectWithUpstream else { return .none }
        return self.beginClosing(SessionEnding(.bridge, .protocolError, "no CONNECT within \(description)"))
    }

    /// The client's packet in progress was not completed in time (`PacketCompletionDeadline`): close 1008. A drain
    /// already ends the session within the close timeout.
    mutating func packetDeadlinePassed(_ reason: String) -> Action {
        guard self.state != .draining else { return .none }
        return self.beginClosing(SessionEnding(.bridge, .policyViolation, reason))
    }

    /// A DISCONNECT packet started in the client's bytes (it is relayed like any other packet).
    mutating func disconnectReceived() {
        self.clientSentDisconnect = true
    }

    /// The broker's CONNACK (`packet`, whole) went to the client. Read once per session: its return / reason code
    /// is the byte after the acknowledge flags.
    mutating func connackRelayed(_ packet: ByteBuffer, header: MQTTFixedHeader) {
        let code = packet.getInteger(at: packet.readerIndex + header.headerLength + 1, as: UInt8.self)
        self.clientWasAccepted = code.map { $0 < 0x80 } ?? false
    }

    /// `disconnect` if the client may be sent a server DISCONNECT: an MQTT 5 session the broker accepted.
    private func serverDisconnect(_ disconnect: ServerDisconnect) -> ServerDisconnect? {
        self.connect?.version == .v5 && self.clientWasAccepted ? disconnect : nil
    }

    // MARK: Upstream

    mutating func upstreamReady() -> Action {
        switch self.state {
        case .answeringUpgrade:
            self.state = .awaitingConnectWithUpstream
            return .acceptUpgrade
        case .connectingUpstream:
            self.state = .relaying
            return .startRelaying
        case .closing, .closed:
            // The client left (or a drain began) while the broker was being dialled.
            return .closeUpstream
        case .awaitingConnect, .awaitingConnectWithUpstream, .relaying, .draining:
            return .none
        }
    }

    mutating func upstreamFailed(_ reason: String) -> Action {
        switch self.state {
        case .answeringUpgrade:
            self.state = .closed
            return .refuseUpgrade(reason: "broker unavailable: \(reason)")
        case .connectingUpstream:
            let ending = SessionEnding(.bridge, .tryAgainLater, "broker unavailable: \(reason)")
            self.ending = ending
            self.state = .closing
            return .refuseWithConnack(self.connect?.version, ending)
        case .awaitingConnectWithUpstream, .relaying:
            return self.beginClosing(SessionEnding(.broker, .internalError, "upstream error: \(reason)"))
        case .awaitingConnect, .draining, .closing, .closed:
            return .none
        }
    }

    /// The broker closed the connection (EOF) without an error.
    mutating func upstreamClosed() -> Action {
        switch self.state {
        case .answeringUpgrade, .connectingUpstream:
            return self.upstreamFailed("the broker closed the connection during connection set-up")
        case .awaitingConnectWithUpstream, .relaying:
            if self.clientSentDisconnect {
                return self.beginClosing(SessionEnding(.client, .normalClosure, Self.disconnected))
            }
            return self.beginClosing(SessionEnding(.broker, .normalClosure, "broker closed the connection"))
        case .awaitingConnect, .draining, .closing, .closed:
            return .none
        }
    }

    // MARK: Client and server

    /// SIGTERM/SIGINT drain: every session gets close 1001. A relaying session keeps passing the client's last
    /// packets (acknowledgements on their way) to the broker until the client answers.
    mutating func drain() -> Action {
        let ending = SessionEnding(.bridge, .goingAway, "server shutting down")
        guard self.state != .draining else { return .none }
        guard self.state == .relaying else { return self.beginClosing(ending) }
        self.recordEnding(ending)
        self.state = .draining
        return .drainClient(ending, disconnect: self.serverDisconnect(.serverShuttingDown))
    }

    /// An operator closed the session (admin API): close 1008 with `reason`, whatever the session was doing.
    mutating func closedByAdmin(_ reason: String) -> Action {
        self.beginClosing(SessionEnding(.admin, .policyViolation, reason))
    }

    /// The client sent a close frame (the codec answers it and closes the socket).
    mutating func clientSentClose(code: WebSocketCloseCode?, reason: String) -> Action {
        guard self.state != .answeringUpgrade else { return .none }  // no WebSocket yet
        let closed = reason.isEmpty ? "client closed" : "client closed: \(reason)"
        self.recordEnding(SessionEnding(.client, code ?? .noStatusReceived, self.clientSentDisconnect ? Self.disconnected : closed))
        return self.clientSideEnding()
    }

    /// The codec refused the client's frames and sent the close frame itself.
    mutating func clientViolatedWebSocket(_ error: WebSocketProtocolError) -> Action {
        guard self.state != .answeringUpgrade else { return .none }
        self.recordEnding(SessionEnding(.bridge, error.closeCode, error.reason))
        return self.clientSideEnding()
    }

    /// The client's connection is gone (after a close handshake, an EOF or a transport error).
    mutating func clientInactive(transportError: String?) -> Action {
        let gone = transportError ?? "connection closed without a close frame"
        self.recordEnding(SessionEnding(.client, .abnormalClosure, self.clientSentDisconnect ? Self.disconnected : gone))
        let wasClosed = self.state == .closed
        self.state = .closed
        return wasClosed ? .none : .closeUpstream
    }

    // MARK: Helpers

    private static let disconnected = "client sent MQTT DISCONNECT"

    private mutating func beginClosing(_ ending: SessionEnding) -> Action {
        switch self.state {
        case .awaitingConnect, .awaitingConnectWithUpstream, .connectingUpstream, .relaying, .draining:
            self.recordEnding(ending)
            self.state = .closing
            return .closeClient(ending)
        case .answeringUpgrade, .closing, .closed:
            return .none
        }
    }

    private mutating func clientSideEnding() -> Action {
        switch self.state {
        case .awaitingConnect, .awaitingConnectWithUpstream, .connectingUpstream, .relaying, .draining:
            self.state = .closing
            return .closeUpstream
        case .closing:
            return .closeUpstream
        case .answeringUpgrade, .closed:
            return .none
        }
    }

    private mutating func recordEnding(_ ending: SessionEnding) {
        if self.ending == nil { self.ending = ending }
    }
}
