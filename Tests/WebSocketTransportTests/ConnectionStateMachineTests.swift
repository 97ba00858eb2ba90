import NIOCore
import Testing

@testable import WebSocketTransport

/// The closing handshake and keepalive decisions, with time as an input (no channel, no clock).
@Suite struct ConnectionStateMachineTests {
    typealias Machine = WebSocketConnectionStateMachine

    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let closeTimeout = TimeAmount.seconds(3)

    static func machine(pingInterval: TimeAmount? = nil, pingTimeout: TimeAmount = .seconds(10)) -> Machine {
        Machine(configuration: .init(closeTimeout: closeTimeout, pingInterval: pingInterval, pingTimeout: pingTimeout), now: t0)
    }

    static func frame(_ code: WebSocketCloseCode?, _ reason: String = "") -> Machine.CloseFrame {
        Machine.CloseFrame(code: code, reason: reason)
    }

    // MARK: Our close

    @Test func ourCloseIsSentAndAwaitsTheAnswerUntilTheTimeout() {
        var machine = Self.machine()
        let deadline = Self.t0 + Self.closeTimeout
        #expect(
            machine.closeRequested(.goingAway, reason: "drain", streaming: false, now: Self.t0)
                == .sendClose(Self.frame(.goingAway, "drain"), then: .awaitAnswer(until: deadline)))
        #expect(!machine.isOpen)
        #expect(machine.closeRequested(.normalClosure, reason: "", streaming: false, now: Self.t0) == .none, "only one close frame")
        #expect(machine.timerFired(now: deadline - .nanoseconds(1), streaming: false) == .arm(deadline))
        #expect(machine.timerFired(now: deadline, streaming: false) == .closeSocket)
        #expect(machine.isClosed)
    }

    @Test func thePeersAnswerCompletesTheHandshake() {
        var machine = Self.machine()
        _ = machine.closeRequested(.goingAway, reason: "", streaming: false, now: Self.t0)
        #expect(machine.closeReceived(code: .goingAway, streaming: false, now: Self.t0 + .seconds(1)) == .closeSocket)
        #expect(machine.isClosed)
        #expect(machine.timerFired(now: Self.t0 + .seconds(5), streaming: false) == .none)
    }

    @Test func ourCloseWaitsForAStreamedMessage() {
        var machine = Self.machine()
        let pendingDeadline = Self.t0 + Self.closeTimeout
        #expect(machine.closeRequested(.goingAway, reason: "x", streaming: true, now: Self.t0) == .waitForStream(until: pendingDeadline))
        #expect(!machine.isOpen && !machine.isClosed)
        let later = Self.t0 + .seconds(2)
        #expect(
            machine.streamCompleted(now: later)
                == .sendClose(Self.frame(.goingAway, "x"), then: .awaitAnswer(until: later + Self.closeTimeout)))
        #expect(machine.state == .closeSent(deadline: later + Self.closeTimeout))
    }

    @Test func aStreamedMessageThatDoesNotEndInTimeEndsTheConnectionWithoutACloseFrame() {
        var machine = Self.machine()
        _ = machine.closeRequested(.goingAway, reason: "", streaming: true, now: Self.t0)
        #expect(machine.timerFired(now: Self.t0 + Self.closeTimeout, streaming: true) == .closeSocket)
        #expect(machine.streamCompleted(now: Self.t0 + .seconds(4)) == .none)
    }

    @Test func aCloseThatKeepsReceivingPassesDataOnUntilThePeersClose() {
        var machine = Self.machine()
        #expect(machine.deliversData)
        _ = machine.closeRequested(.goingAway, reason: "", keepsReceiving: true, streaming: true, now: Self.t0)
        #expect(machine.deliversData, "while our close waits for a streamed message")
        _ = machine.streamCompleted(now: Self.t0)
        #expect(machine.deliversData, "while our close awaits the answer")
        #expect(machine.closeReceived(code: .goingAway, streaming: false, now: Self.t0) == .closeSocket)
        #expect(!machine.deliversData)

        var plain = Self.machine()
        _ = plain.closeRequested(.goingAway, reason: "", streaming: false, now: Self.t0)
        #expect(!plain.deliversData, "by default data after our close is discarded")
    }

    @Test func aPeerCloseWhileOursIsOwedStopsKeepingData() {
        var machine = Self.machine()
        _ = machine.closeRequested(.goingAway, reason: "", keepsReceiving: true, streaming: true, now: Self.t0)
        _ = machine.closeReceived(code: .normalClosure, streaming: true, now: Self.t0)
        #expect(!machine.deliversData)
    }

    // MARK: The peer's close

    @Test func thePeersCloseIsEchoedAndTheSocketClosed() {
        var machine = Self.machine()
        #expect(
            machine.closeReceived(code: .normalClosure, streaming: false, now: Self.t0)
                == .sendClose(Self.frame(.normalClosure), then: .closeSocket))
        #expect(machine.isClosed)
        var empty = Self.machine()
        #expect(
            empty.closeReceived(code: nil, streaming: false, now: Self.t0) == .sendClose(Self.frame(nil), then: .closeSocket),
            "no code: an empty answer")
    }

    @Test func thePeersCloseDuringAStreamedMessageIsAnsweredAfterIt() {
        var machine = Self.machine()
        #expect(
            machine.closeReceived(code: .normalClosure, streaming: true, now: Self.t0) == .waitForStream(until: Self.t0 + Self.closeTimeout)
        )
        #expect(machine.streamCompleted(now: Self.t0 + .seconds(1)) == .sendClose(Self.frame(.normalClosure), then: .closeSocket))
    }

    @Test func bothSidesClosingWhileAMessageIsStreamed() {
        var machine = Self.machine()
        _ = machine.closeRequested(.goingAway, reason: "", streaming: true, now: Self.t0)
        // Our close frame, still owed, becomes the answer: nothing is awaited after it.
        #expect(
            machine.closeReceived(code: .normalClosure, streaming: true, now: Self.t0 + .seconds(1))
                == .waitForStream(until: Self.t0 + Self.closeTimeout))
        #expect(machine.streamCompleted(now: Self.t0 + .seconds(2)) == .sendClose(Self.frame(.goingAway), then: .closeSocket))
    }

    // MARK: Violations

    @Test func aViolationIsRefusedWithItsCode() {
        var machine = Self.machine()
        let error = WebSocketProtocolError(.unsupportedData, "text")
        #expect(
            machine.protocolViolation(error, streaming: false, now: Self.t0)
                == .sendClose(Self.frame(.unsupportedData, "text"), then: .closeSocket))
        var streaming = Self.machine()
        #expect(streaming.protocolViolation(error, streaming: true, now: Self.t0) == .waitForStream(until: Self.t0 + Self.closeTimeout))
    }

    @Test func aViolationWhileClosingClosesAtOnce() {
        var machine = Self.machine()
        _ = machine.closeRequested(.goingAway, reason: "", streaming: false, now: Self.t0)
        #expect(machine.protocolViolation(WebSocketProtocolError(.protocolError, "x"), streaming: false, now: Self.t0) == .closeSocket)
        #expect(machine.protocolViolation(WebSocketProtocolError(.protocolError, "y"), streaming: false, now: Self.t0) == .none)
    }

    // MARK: Keepalive

    @Test func withoutKeepaliveNoTimerIsArmed() {
        var machine = Self.machine()
        #expect(!machine.usesKeepalive)
        #expect(machine.start() == .none)
        #expect(machine.timerFired(now: Self.t0 + .seconds(3600), streaming: false) == .none)
    }

    @Test func silenceSendsAPingAndNoAnswerExpires() {
        var machine = Self.machine(pingInterval: .seconds(30), pingTimeout: .seconds(10))
        #expect(machine.start() == .arm(Self.t0 + .seconds(30)))
        let pingAt = Self.t0 + .seconds(30)
        #expect(machine.timerFired(now: pingAt, streaming: false) == .sendPing(answerBy: pingAt + .seconds(10)))
        #expect(machine.timerFired(now: pingAt + .seconds(9), streaming: false) == .arm(pingAt + .seconds(10)))
        #expect(
            machine.timerFired(now: pingAt + .seconds(10), streaming: false)
                == .keepaliveExpired(reason: "no answer to ping within 10 s", sendsCloseFrame: true))
        #expect(machine.isClosed)
    }

    @Test func anythingHeardAnswersThePing() {
        var machine = Self.machine(pingInterval: .seconds(30), pingTimeout: .seconds(10))
        let pingAt = Self.t0 + .seconds(30)
        _ = machine.timerFired(now: pingAt, streaming: false)
        machine.peerHeard(at: pingAt + .seconds(1))
        #expect(
            machine.timerFired(now: pingAt + .seconds(10), streaming: false) == .arm(pingAt + .seconds(31)), "the next silence interval")
        #expect(machine.isOpen)
    }

    @Test func aPeerThatKeepsTalkingIsNeverPinged() {
        var machine = Self.machine(pingInterval: .seconds(30))
        machine.peerHeard(at: Self.t0 + .seconds(20))
        #expect(machine.timerFired(now: Self.t0 + .seconds(30), streaming: false) == .arm(Self.t0 + .seconds(50)))
    }

    @Test func aPingDueDuringAStreamedMessageGoesOutAfterIt() {
        var machine = Self.machine(pingInterval: .seconds(30), pingTimeout: .seconds(10))
        #expect(machine.timerFired(now: Self.t0 + .seconds(30), streaming: true) == .none)
        let done = Self.t0 + .seconds(31)
        #expect(machine.streamCompleted(now: done) == .sendPing(answerBy: done + .seconds(10)))
        #expect(machine.streamCompleted(now: done + .seconds(1)) == .none, "only once")
    }

    @Test func expiryDuringAStreamedMessageSendsNoCloseFrame() {
        var machine = Self.machine(pingInterval: .seconds(30), pingTimeout: .seconds(10))
        _ = machine.timerFired(now: Self.t0 + .seconds(30), streaming: false)
        #expect(
            machine.timerFired(now: Self.t0 + .seconds(40), streaming: true)
                == .keepaliveExpired(reason: "no answer to ping within 10 s", sendsCloseFrame: false))
    }

    @Test func keepaliveStopsOnceClosing() {
        var machine = Self.machine(pingInterval: .seconds(30))
        _ = machine.closeRequested(.goingAway, reason: "", streaming: false, now: Self.t0)
        #expect(
            machine.timerFired(now: Self.t0 + .seconds(1), streaming: false) == .arm(Self.t0 + Self.closeTimeout), "only the close timeout")
    }
}
