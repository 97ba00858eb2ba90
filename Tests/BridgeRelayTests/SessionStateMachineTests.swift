import MQTTWire
import NIOCore
import Testing
import WebSocketTransport

@testable import BridgeRelay

/// Every event in every state of `SessionStateMachine`, plus the orderings the brief singles out.
@Suite struct SessionStateMachineTests {
    typealias Machine = SessionStateMachine
    typealias Action = SessionStateMachine.Action

    static let connect5 = MQTTConnectInfo(
        protocolName: "MQTT", version: .v5, protocolLevelByte: 5, clientID: "c1", username: "u", hasPassword: true, keepAlive: 60,
        cleanStart: true)

    /// The states, each reached through the events a real session would see.
    enum Start: String, CaseIterable, Sendable {
        case answeringUpgrade, awaitingConnect, awaitingConnectWithUpstream, connectingUpstream, relaying, draining, closing, closed

        func machine() -> Machine {
            var machine = Machine()
            switch self {
            case .answeringUpgrade:
                // A `ws` upstream: dialled before the 101.
                _ = machine.upgradeNeedsBroker()
            case .awaitingConnect:
                break
            case .awaitingConnectWithUpstream:
                _ = machine.upgradeNeedsBroker()
                _ = machine.upstreamReady()
            case .connectingUpstream:
                _ = machine.connectReceived(SessionStateMachineTests.connect5)
            case .relaying:
                _ = machine.connectReceived(SessionStateMachineTests.connect5)
                _ = machine.upstreamReady()
            case .draining:
                // A drain while relaying: the bridge sent close 1001 and relays what the client still sends.
                _ = machine.connectReceived(SessionStateMachineTests.connect5)
                _ = machine.upstreamReady()
                _ = machine.drain()
            case .closing:
                // …and the client answered it: waiting for the socket to go.
                _ = machine.connectReceived(SessionStateMachineTests.connect5)
                _ = machine.upstreamReady()
                _ = machine.drain()
                _ = machine.clientSentClose(code: .goingAway, reason: "")
            case .closed:
                _ = machine.connectReceived(SessionStateMachineTests.connect5)
                _ = machine.upstreamReady()
                _ = machine.clientInactive(transportError: nil)
            }
            return machine
        }

        var state: Machine.State {
            switch self {
            case .answeringUpgrade: .answeringUpgrade
            case .awaitingConnect: .awaitingConnect
            case .awaitingConnectWithUpstream: .awaitingConnectWithUpstream
            case .connectingUpstream: .connectingUpstream
            case .relaying: .relaying
            case .draining: .draining
            case .closing: .closing
            case .closed: .closed
            }
        }

        /// The ending already recorded when the state is reached.
        var ending: SessionEnding? {
            switch self {
            case .answeringUpgrade, .awaitingConnect, .awaitingConnectWithUpstream, .connectingUpstream, .relaying: nil
            case .draining, .closing: SessionEnding(.bridge, .goingAway, "server shutting down")
            case .closed: SessionEnding(.client, .abnormalClosure, "connection closed without a close frame")
            }
        }
    }

    enum Event: String, CaseIterable, Sendable {
        case upgradeNeedsBroker, connectReceived, clientViolatedMQTT, connectTimedOut, upstreamReady, upstreamFailed, upstreamClosed, drain,
            clientSentClose, clientViolatedWebSocket, clientInactive

        func apply(to machine: inout Machine) -> Action {
            switch self {
            case .upgradeNeedsBroker: machine.upgradeNeedsBroker()
            case .connectReceived: machine.connectReceived(SessionStateMachineTests.connect5)
            case .clientViolatedMQTT: machine.clientViolatedMQTT(.messageTooBig, "too big")
            case .connectTimedOut: machine.connectTimedOut(after: "10 s")
            case .upstreamReady: machine.upstreamReady()
            case .upstreamFailed: machine.upstreamFailed("connection refused")
            case .upstreamClosed: machine.upstreamClosed()
            case .drain: machine.drain()
            case .clientSentClose: machine.clientSentClose(code: .normalClosure, reason: "bye")
            case .clientViolatedWebSocket: machine.clientViolatedWebSocket(WebSocketProtocolError(.unsupportedData, "text frame"))
            case .clientInactive: machine.clientInactive(transportError: "connection reset")
            }
        }
    }

    /// What one event does in one state: the action, the next state and the ending afterwards.
    struct Expectation: Sendable {
        var action: Action
        var next: Machine.State
        /// nil: the ending the state already had is kept.
        var ending: SessionEnding?
    }

    static let violation = SessionEnding(.bridge, .messageTooBig, "too big")
    static let timeout = SessionEnding(.bridge, .protocolError, "no CONNECT within 10 s")
    static let drained = SessionEnding(.bridge, .goingAway, "server shutting down")
    static let clientClose = SessionEnding(.client, .normalClosure, "client closed: bye")
    static let textFrame = SessionEnding(.bridge, .unsupportedData, "text frame")
    static let clientGone = SessionEnding(.client, .abnormalClosure, "connection reset")

    /// The specification, one row per state × event.
    static func expected(_ start: Start, _ event: Event) -> Expectation {
        switch (start, event) {
        // Only a session that has not started can dial before its 101.
        case (.awaitingConnect, .upgradeNeedsBroker): Expectation(action: .dialUpstream, next: .answeringUpgrade)
        case (_, .upgradeNeedsBroker): Expectation(action: .none, next: start.state)

        // answeringUpgrade: the 101 waits for the broker; the session is not in the client's pipeline yet.
        case (.answeringUpgrade, .upstreamReady): Expectation(action: .acceptUpgrade, next: .awaitingConnectWithUpstream)
        case (.answeringUpgrade, .upstreamFailed):
            Expectation(action: .refuseUpgrade(reason: "broker unavailable: connection refused"), next: .closed)
        case (.answeringUpgrade, .upstreamClosed):
            Expectation(
                action: .refuseUpgrade(reason: "broker unavailable: the broker closed the connection during connection set-up"),
                next: .closed)
        case (.answeringUpgrade, .clientInactive): Expectation(action: .closeUpstream, next: .closed, ending: clientGone)
        case (.answeringUpgrade, _): Expectation(action: .none, next: .answeringUpgrade)

        // awaitingConnectWithUpstream: as awaitingConnect, but the CONNECT goes straight to the open broker connection,
        // and that connection failing ends the session as it does while relaying.
        case (.awaitingConnectWithUpstream, .connectReceived): Expectation(action: .startRelaying, next: .relaying)
        case (.awaitingConnectWithUpstream, .clientViolatedMQTT):
            Expectation(action: .closeClient(violation), next: .closing, ending: violation)
        case (.awaitingConnectWithUpstream, .connectTimedOut): Expectation(action: .closeClient(timeout), next: .closing, ending: timeout)
        case (.awaitingConnectWithUpstream, .upstreamReady): Expectation(action: .none, next: .awaitingConnectWithUpstream)
        case (.awaitingConnectWithUpstream, .upstreamFailed):
            Expectation(
                action: .closeClient(SessionEnding(.broker, .internalError, "upstream error: connection refused")), next: .closing,
                ending: SessionEnding(.broker, .internalError, "upstream error: connection refused"))
        case (.awaitingConnectWithUpstream, .upstreamClosed):
            Expectation(
                action: .closeClient(SessionEnding(.broker, .normalClosure, "broker closed the connection")), next: .closing,
                ending: SessionEnding(.broker, .normalClosure, "broker closed the connection"))
        case (.awaitingConnectWithUpstream, .drain): Expectation(action: .closeClient(drained), next: .closing, ending: drained)
        case (.awaitingConnectWithUpstream, .clientSentClose): Expectation(action: .closeUpstream, next: .closing, ending: clientClose)
        case (.awaitingConnectWithUpstream, .clientViolatedWebSocket):
            Expectation(action: .closeUpstream, next: .closing, ending: textFrame)
        case (.awaitingConnectWithUpstream, .clientInactive): Expectation(action: .closeUpstream, next: .closed, ending: clientGone)

        // awaitingConnect
        case (.awaitingConnect, .connectReceived): Expectation(action: .dialUpstream, next: .connectingUpstream)
        case (.awaitingConnect, .clientViolatedMQTT): Expectation(action: .closeClient(violation), next: .closing, ending: violation)
        case (.awaitingConnect, .connectTimedOut): Expectation(action: .closeClient(timeout), next: .closing, ending: timeout)
        case (.awaitingConnect, .upstreamReady), (.awaitingConnect, .upstreamFailed), (.awaitingConnect, .upstreamClosed):
            Expectation(action: .none, next: .awaitingConnect)
        case (.awaitingConnect, .drain): Expectation(action: .closeClient(drained), next: .closing, ending: drained)
        case (.awaitingConnect, .clientSentClose): Expectation(action: .closeUpstream, next: .closing, ending: clientClose)
        case (.awaitingConnect, .clientViolatedWebSocket): Expectation(action: .closeUpstream, next: .closing, ending: textFrame)
        case (.awaitingConnect, .clientInactive): Expectation(action: .closeUpstream, next: .closed, ending: clientGone)

        // connectingUpstream
        case (.connectingUpstream, .connectReceived), (.connectingUpstream, .connectTimedOut):
            Expectation(action: .none, next: .connectingUpstream)
        case (.connectingUpstream, .clientViolatedMQTT): Expectation(action: .closeClient(violation), next: .closing, ending: violation)
        case (.connectingUpstream, .upstreamReady): Expectation(action: .startRelaying, next: .relaying)
        case (.connectingUpstream, .upstreamFailed):
            Expectation(
                action: .refuseWithConnack(.v5, SessionEnding(.bridge, .tryAgainLater, "broker unavailable: connection refused")),
                next: .closing, ending: SessionEnding(.bridge, .tryAgainLater, "broker unavailable: connection refused"))
        case (.connectingUpstream, .upstreamClosed):
            Expectation(
                action: .refuseWithConnack(
                    .v5,
                    SessionEnding(.bridge, .tryAgainLater, "broker unavailable: the broker closed the connection during connection set-up")),
                next: .closing,
                ending: SessionEnding(
                    .bridge, .tryAgainLater, "broker unavailable: the broker closed the connection during connection set-up"))
        case (.connectingUpstream, .drain): Expectation(action: .closeClient(drained), next: .closing, ending: drained)
        case (.connectingUpstream, .clientSentClose): Expectation(action: .closeUpstream, next: .closing, ending: clientClose)
        case (.connectingUpstream, .clientViolatedWebSocket): Expectation(action: .closeUpstream, next: .closing, ending: textFrame)
        case (.connectingUpstream, .clientInactive): Expectation(action: .closeUpstream, next: .closed, ending: clientGone)

        // relaying
        case (.relaying, .connectReceived), (.relaying, .connectTimedOut), (.relaying, .upstreamReady):
            Expectation(action: .none, next: .relaying)
        case (.relaying, .clientViolatedMQTT): Expectation(action: .closeClient(violation), next: .closing, ending: violation)
        case (.relaying, .upstreamFailed):
            Expectation(
                action: .closeClient(SessionEnding(.broker, .internalError, "upstream error: connection refused")), next: .closing,
                ending: SessionEnding(.broker, .internalError, "upstream error: connection refused"))
        case (.relaying, .upstreamClosed):
            Expectation(
                action: .closeClient(SessionEnding(.broker, .normalClosure, "broker closed the connection")), next: .closing,
                ending: SessionEnding(.broker, .normalClosure, "broker closed the connection"))
        case (.relaying, .drain): Expectation(action: .drainClient(drained, disconnect: nil), next: .draining, ending: drained)
        case (.relaying, .clientSentClose): Expectation(action: .closeUpstream, next: .closing, ending: clientClose)
        case (.relaying, .clientViolatedWebSocket): Expectation(action: .closeUpstream, next: .closing, ending: textFrame)
        case (.relaying, .clientInactive): Expectation(action: .closeUpstream, next: .closed, ending: clientGone)

        // draining: the client's side still ends it; a violation closes at once; the drain stays the first cause.
        case (.draining, .clientViolatedMQTT): Expectation(action: .closeClient(violation), next: .closing)
        case (.draining, .clientSentClose), (.draining, .clientViolatedWebSocket): Expectation(action: .closeUpstream, next: .closing)
        case (.draining, .clientInactive): Expectation(action: .closeUpstream, next: .closed)
        case (.draining, _): Expectation(action: .none, next: .draining)

        // closing: nothing new starts; the client's side ending still closes the upstream; the first cause stays.
        case (.closing, .upstreamReady), (.closing, .clientSentClose), (.closing, .clientViolatedWebSocket):
            Expectation(action: .closeUpstream, next: .closing)
        case (.closing, .clientInactive): Expectation(action: .closeUpstream, next: .closed)
        case (.closing, _): Expectation(action: .none, next: .closing)

        // closed: only a broker connection that completes late is closed.
        case (.closed, .upstreamReady): Expectation(action: .closeUpstream, next: .closed)
        case (.closed, _): Expectation(action: .none, next: .closed)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var start: Start
        var event: Event
        var testDescription: String { "\(self.start.rawValue) + \(self.event.rawValue)" }
    }

    static let allCases = Start.allCases.flatMap { start in Event.allCases.map { Case(start: start, event: $0) } }

    @Test(arguments: allCases)
    func transition(_ testCase: Case) {
        var machine = testCase.start.machine()
        #expect(machine.state == testCase.start.state, "set-up reached \(machine.state)")
        #expect(machine.ending == testCase.start.ending, "set-up ending")
        let expected = Self.expected(testCase.start, testCase.event)

        let action = testCase.event.apply(to: &machine)

        #expect(action == expected.action)
        #expect(machine.state == expected.next)
        #expect(machine.ending == (expected.ending ?? testCase.start.ending))
        let awaiting: Set<Start> = [.answeringUpgrade, .awaitingConnect, .awaitingConnectWithUpstream]
        let connected = !awaiting.contains(testCase.start) || (testCase.event == .connectReceived && testCase.start != .answeringUpgrade)
        #expect(machine.connect == (connected ? Self.connect5 : nil))
    }

    // MARK: Orderings

    @Test func brokerClosingAfterTheClientsDisconnectIsTheClientsDoing() {
        var machine = Start.relaying.machine()
        machine.disconnectReceived()
        #expect(machine.upstreamClosed() == .closeClient(SessionEnding(.client, .normalClosure, "client sent MQTT DISCONNECT")))
        #expect(machine.state == .closing)
    }

    /// Eclipse Paho sends MQTT DISCONNECT and its close frame back to back: the close is the DISCONNECT's consequence.
    @Test func clientCloseRightAfterItsDisconnectIsTheDisconnect() {
        var machine = Start.relaying.machine()
        machine.disconnectReceived()
        #expect(machine.clientSentClose(code: .normalClosure, reason: "bye") == .closeUpstream)
        #expect(machine.ending == SessionEnding(.client, .normalClosure, "client sent MQTT DISCONNECT"))
        #expect(machine.upstreamClosed() == .none)
        #expect(machine.ending == SessionEnding(.client, .normalClosure, "client sent MQTT DISCONNECT"))
    }

    @Test func clientEOFRightAfterItsDisconnectIsTheDisconnect() {
        var machine = Start.relaying.machine()
        machine.disconnectReceived()
        #expect(machine.clientInactive(transportError: nil) == .closeUpstream)
        #expect(machine.ending == SessionEnding(.client, .abnormalClosure, "client sent MQTT DISCONNECT"))
    }

    @Test func firstCauseWinsOverTheClientsAnswerToOurClose() {
        var machine = Start.relaying.machine()
        #expect(machine.upstreamClosed() == .closeClient(SessionEnding(.broker, .normalClosure, "broker closed the connection")))
        // The client answers our close frame with its own, then the socket goes.
        #expect(machine.clientSentClose(code: .normalClosure, reason: "") == .closeUpstream)
        #expect(machine.clientInactive(transportError: nil) == .closeUpstream)
        #expect(machine.ending == SessionEnding(.broker, .normalClosure, "broker closed the connection"))
        #expect(machine.state == .closed)
    }

    @Test func laterFailuresDoNotOverwriteTheFirstCause() {
        var machine = Start.relaying.machine()
        _ = machine.clientViolatedMQTT(.protocolError, "malformed remaining length")
        #expect(machine.drain() == .none)
        #expect(machine.upstreamFailed("reset") == .none)
        #expect(machine.upstreamClosed() == .none)
        #expect(machine.connectTimedOut(after: "1 s") == .none)
        #expect(machine.ending == SessionEnding(.bridge, .protocolError, "malformed remaining length"))
    }

    @Test func clientCloseWithoutCodeIsRecordedAs1005() {
        var machine = Start.relaying.machine()
        #expect(machine.clientSentClose(code: nil, reason: "") == .closeUpstream)
        #expect(machine.ending == SessionEnding(.client, .noStatusReceived, "client closed"))
    }

    @Test func clientInactiveWithoutTransportErrorIs1006() {
        var machine = Start.awaitingConnect.machine()
        #expect(machine.clientInactive(transportError: nil) == .closeUpstream)
        #expect(machine.ending == SessionEnding(.client, .abnormalClosure, "connection closed without a close frame"))
    }

    @Test func clientInactiveTwice() {
        var machine = Start.relaying.machine()
        #expect(machine.clientInactive(transportError: nil) == .closeUpstream)
        #expect(machine.clientInactive(transportError: "again") == .none)
        #expect(machine.state == .closed)
        #expect(machine.ending == SessionEnding(.client, .abnormalClosure, "connection closed without a close frame"))
    }

    @Test func brokerDialledBeforeTheUpgradeTakesTheConnectAtOnce() {
        var machine = Machine()
        #expect(machine.upgradeNeedsBroker() == .dialUpstream)
        #expect(machine.upstreamReady() == .acceptUpgrade)
        #expect(machine.connectReceived(Self.connect5) == .startRelaying)
        #expect(machine.state == .relaying)
        #expect(machine.upgradeNeedsBroker() == .none, "only before the session starts")
    }

    @Test func upstreamReadyAfterTheClientLeftClosesTheUpstream() {
        var machine = Start.connectingUpstream.machine()
        #expect(machine.clientInactive(transportError: nil) == .closeUpstream)
        #expect(machine.upstreamReady() == .closeUpstream)
        #expect(machine.state == .closed)
        // …and a failure that arrives instead is not answered with a CONNACK to a client that is gone.
        var other = Start.connectingUpstream.machine()
        _ = other.clientInactive(transportError: nil)
        #expect(other.upstreamFailed("refused") == .none)
    }

    @Test func upstreamReadyAfterADrainDuringTheDialClosesTheUpstream() {
        var machine = Start.connectingUpstream.machine()
        #expect(machine.drain() == .closeClient(Self.drained))
        #expect(machine.upstreamReady() == .closeUpstream)
        #expect(machine.state == .closing)
    }

    @Test(arguments: [MQTTProtocolVersion.v3_1, .v3_1_1, .v5, nil])
    func upstreamFailureWhileConnectingAnswersInTheClientsVersion(_ version: MQTTProtocolVersion?) {
        var machine = Machine()
        let info = MQTTConnectInfo(
            protocolName: version?.protocolName ?? "MQTT", version: version, protocolLevelByte: version?.rawValue ?? 6, clientID: "c",
            keepAlive: 30, cleanStart: true)
        #expect(machine.connectReceived(info) == .dialUpstream)
        let ending = SessionEnding(.bridge, .tryAgainLater, "broker unavailable: timed out")
        #expect(machine.upstreamFailed("timed out") == .refuseWithConnack(version, ending))
        #expect(machine.ending == ending)
        // The client's answer to the 1013 close does not change the cause.
        #expect(machine.clientSentClose(code: .tryAgainLater, reason: "") == .closeUpstream)
        #expect(machine.ending == ending)
    }

    @Test func upstreamFailureWhileRelayingIs1011AndBrokerEOFIs1000() {
        var failing = Start.relaying.machine()
        #expect(
            failing.upstreamFailed("connection reset")
                == .closeClient(SessionEnding(.broker, .internalError, "upstream error: connection reset")))
        var closing = Start.relaying.machine()
        #expect(closing.upstreamClosed() == .closeClient(SessionEnding(.broker, .normalClosure, "broker closed the connection")))
    }

    @Test(arguments: [Start.awaitingConnect, .connectingUpstream, .relaying])
    func drainSends1001FromEveryOpenState(_ start: Start) {
        var machine = start.machine()
        // Only a relaying session has a broker that can still take the client's last packets.
        #expect(machine.drain() == (start == .relaying ? .drainClient(Self.drained, disconnect: nil) : .closeClient(Self.drained)))
        #expect(machine.drain() == .none, "a second drain does nothing")
    }

    @Test func connectTimeoutOnlyCountsWhileAwaitingTheConnect() {
        for start in Start.allCases {
            var machine = start.machine()
            let action = machine.connectTimedOut(after: "10 s")
            #expect((action != .none) == (start == .awaitingConnect || start == .awaitingConnectWithUpstream), "\(start): \(action)")
        }
    }

    @Test func packetDeadlineCloses1008InEveryOpenStateButADrainWhichIsEndingAlready() {
        let overdue = SessionEnding(.bridge, .policyViolation, "MQTT packet not completed within 60 s")
        for start in Start.allCases {
            var machine = start.machine()
            let closes = [Start.awaitingConnect, .awaitingConnectWithUpstream, .connectingUpstream, .relaying].contains(start)
            #expect(machine.packetDeadlinePassed(overdue.reason) == (closes ? .closeClient(overdue) : .none), "\(start)")
            #expect(machine.ending == (closes ? overdue : start.ending), "\(start)")
        }
    }
}

/// The drain's DISCONNECT 0x8B goes only to MQTT 5 clients the broker accepted (MQTT-3.14.0-1: no server DISCONNECT
/// before a successful CONNACK).
@Suite struct SessionStateMachineServerDisconnectTests {
    static let drained = SessionEnding(.bridge, .goingAway, "server shutting down")

    static func relaying(level: UInt8, connack: [UInt8]?) throws -> SessionStateMachine {
        var machine = SessionStateMachine()
        let version = MQTTProtocolVersion(rawValue: level)
        _ = machine.connectReceived(
            MQTTConnectInfo(
                protocolName: "MQTT", version: version, protocolLevelByte: level, clientID: "c", keepAlive: 30, cleanStart: true))
        _ = machine.upstreamReady()
        if let connack {
            let packet = ByteBuffer(bytes: connack)
            let header = try #require(try MQTTFixedHeader.peek(in: packet, maximumPacketSize: 1024))
            machine.connackRelayed(packet, header: header)
        }
        return machine
    }

    @Test func anAcceptedMQTT5ClientIsToldTheServerIsShuttingDown() throws {
        var machine = try Self.relaying(level: 5, connack: [0x20, 0x03, 0x00, 0x00, 0x00])
        #expect(machine.drain() == .drainClient(Self.drained, disconnect: .serverShuttingDown))
    }

    @Test func anMQTT5ClientWithoutASuccessfulConnackGetsOnlyTheClose() throws {
        var refused = try Self.relaying(level: 5, connack: [0x20, 0x03, 0x00, 0x87, 0x00])
        #expect(refused.drain() == .drainClient(Self.drained, disconnect: nil))
        var waiting = try Self.relaying(level: 5, connack: nil)
        #expect(waiting.drain() == .drainClient(Self.drained, disconnect: nil))
    }

    @Test func anMQTT311ClientGetsOnlyTheClose() throws {
        var machine = try Self.relaying(level: 4, connack: [0x20, 0x02, 0x00, 0x00])
        #expect(machine.drain() == .drainClient(Self.drained, disconnect: nil))
    }
}
