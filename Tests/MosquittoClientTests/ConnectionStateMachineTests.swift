import Testing

@testable import MosquittoClient

/// The races, without libmosquitto: waiters are plain strings, actions are inspected.
@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine<String>

    /// Waiter → outcome of every `.resume` in `actions`.
    private func resumed(_ actions: [Machine.Action]) -> [String: ConnectionOutcome] {
        var result: [String: ConnectionOutcome] = [:]
        for case .resume(let waiter, let outcome) in actions {
            #expect(result[waiter] == nil, "\(waiter) resumed twice")
            result[waiter] = outcome
        }
        return result
    }

    private func tearDowns(_ actions: [Machine.Action]) -> Int {
        actions.filter { if case .tearDown = $0 { true } else { false } }.count
    }

    private func connected() -> Machine {
        var machine = Machine()
        _ = machine.connect("connect", isCancelled: false)
        _ = machine.connectSucceeded()
        return machine
    }

    private func receipt(_ outcome: ConnectionOutcome?) -> MosquittoPublishReceipt? {
        if case .published(let receipt) = outcome { return receipt }
        return nil
    }

    private func error(_ outcome: ConnectionOutcome?) -> MosquittoError? {
        if case .failed(let error) = outcome { return error }
        return nil
    }

    @Test("connect succeeds on CONNACK; a late failure is ignored")
    func connectSucceeds() {
        var machine = Machine()
        let start = machine.connect("c", isCancelled: false)
        #expect(start.contains { if case .startConnecting = $0 { true } else { false } })
        #expect(machine.isConnecting)
        let done = resumed(machine.connectSucceeded())
        guard case .connected = done["c"] else {
            Issue.record("not connected: \(done)")
            return
        }
        #expect(machine.isConnected)
        #expect(machine.connectFailed(MosquittoError(kind: .timeout, reason: "late")).isEmpty)
        #expect(machine.isConnected)
    }

    @Test("timeout, then the CONNACK that comes too late: resumed once, torn down once")
    func connectTimeoutThenConnack() {
        var machine = Machine()
        _ = machine.connect("c", isCancelled: false)
        let actions = machine.connectFailed(MosquittoError(kind: .timeout, reason: "no CONNACK within 1s"))
        #expect(error(resumed(actions)["c"])?.kind == .timeout)
        #expect(tearDowns(actions) == 1)
        #expect(machine.connectSucceeded().isEmpty)
        #expect(machine.connectionClosed(nil).isEmpty)
        #expect(!machine.isConnected)
    }

    @Test("connect on an already cancelled task fails without dialling")
    func connectCancelledUpFront() {
        var machine = Machine()
        let actions = machine.connect("c", isCancelled: true)
        #expect(error(resumed(actions)["c"])?.kind == .cancelled)
        #expect(!actions.contains { if case .startConnecting = $0 { true } else { false } })
        #expect(tearDowns(actions) == 1)
    }

    @Test("on_publish before the publisher registered: the result is parked, then claimed")
    func acknowledgementBeforeRegistration() {
        var machine = connected()
        #expect(machine.beginPublish() == nil)
        let early = machine.publishAcknowledged(messageID: 7, .success(MosquittoPublishReceipt(messageID: 7, reasonCode: 0)))
        #expect(early.isEmpty)
        let actions = machine.registerPublish(messageID: 7, token: 1, waiter: "p", isCancelled: false)
        #expect(receipt(resumed(actions)["p"])?.messageID == 7)
        #expect(!actions.contains { if case .armAckTimer = $0 { true } else { false } })
        #expect(machine.waitingPublishes == 0)
    }

    @Test("an acknowledgement nobody can claim is not kept")
    func strayAcknowledgement() {
        var machine = connected()
        _ = machine.publishAcknowledged(messageID: 9, .success(MosquittoPublishReceipt(messageID: 9, reasonCode: 0)))
        #expect(machine.beginPublish() == nil)
        let actions = machine.registerPublish(messageID: 9, token: 1, waiter: "p", isCancelled: false)
        #expect(resumed(actions)["p"] == nil, "a stray acknowledgement must not complete a later publish")
        #expect(machine.waitingPublishes == 1)
    }

    @Test("normal publish: registered, armed, acknowledged")
    func normalPublish() {
        var machine = connected()
        #expect(machine.beginPublish() == nil)
        let register = machine.registerPublish(messageID: 1, token: 5, waiter: "p", isCancelled: false)
        #expect(register.contains { if case .armAckTimer(1, 5) = $0 { true } else { false } })
        let done = resumed(machine.publishAcknowledged(messageID: 1, .success(MosquittoPublishReceipt(messageID: 1, reasonCode: 0x10))))
        #expect(receipt(done["p"])?.noMatchingSubscribers == true)
    }

    @Test("an MQTT 5 failure reason reaches the publisher as an error")
    func refusedPublish() {
        var machine = connected()
        _ = machine.beginPublish()
        _ = machine.registerPublish(messageID: 1, token: 1, waiter: "p", isCancelled: false)
        let refusal = MosquittoError(kind: .notAuthorized, reason: "Not authorized", reasonCode: 0x87)
        #expect(error(resumed(machine.publishAcknowledged(messageID: 1, .failure(refusal)))["p"]) == refusal)
    }

    @Test("connection loss fails the pending connect and every waiting publish exactly once")
    func lossFailsEverything() {
        var machine = connected()
        for id in 1...5 {
            _ = machine.beginPublish()
            _ = machine.registerPublish(messageID: Int32(id), token: UInt64(id), waiter: "p\(id)", isCancelled: false)
        }
        _ = machine.awaitClosed(token: 99, "closed", isCancelled: false)
        let loss = MosquittoError(kind: .connectionLost, reason: "The connection was lost.")
        let actions = machine.connectionClosed(loss)
        let done = resumed(actions)
        for id in 1...5 {
            #expect(error(done["p\(id)"])?.kind == .connectionLost)
        }
        guard case .closed(let reason) = done["closed"] else {
            Issue.record("closed waiter not resumed")
            return
        }
        #expect(reason == loss)
        #expect(tearDowns(actions) == 1)
        // Late acknowledgements and a second close change nothing.
        #expect(machine.publishAcknowledged(messageID: 1, .success(MosquittoPublishReceipt(messageID: 1, reasonCode: 0))).isEmpty)
        #expect(machine.connectionClosed(loss).isEmpty)
        #expect(machine.beginPublish()?.kind == .unavailable)
    }

    @Test("loss while a publisher is inside mosquitto_publish: teardown waits for it")
    func lossDuringSubmission() {
        var machine = connected()
        #expect(machine.beginPublish() == nil)
        let closing = machine.connectionClosed(MosquittoError(kind: .connectionLost, reason: "lost"))
        #expect(tearDowns(closing) == 0, "the instance must not be destroyed under a running mosquitto_publish")
        let register = machine.registerPublish(messageID: 3, token: 1, waiter: "p", isCancelled: false)
        #expect(error(resumed(register)["p"])?.kind == .connectionLost)
        #expect(tearDowns(register) == 1)
    }

    @Test("a message acknowledged just before the loss still counts as published")
    func acknowledgedThenLost() {
        var machine = connected()
        _ = machine.beginPublish()
        _ = machine.publishAcknowledged(messageID: 4, .success(MosquittoPublishReceipt(messageID: 4, reasonCode: 0)))
        _ = machine.connectionClosed(MosquittoError(kind: .connectionLost, reason: "lost"))
        let done = resumed(machine.registerPublish(messageID: 4, token: 1, waiter: "p", isCancelled: false))
        #expect(receipt(done["p"])?.messageID == 4)
    }

    @Test("timeout abandons the slot: the late acknowledgement is dropped, not parked")
    func timeoutThenLateAcknowledgement() {
        var machine = connected()
        _ = machine.beginPublish()
        _ = machine.registerPublish(messageID: 2, token: 8, waiter: "p", isCancelled: false)
        #expect(machine.publishExpired(messageID: 2, token: 7, MosquittoError(kind: .timeout, reason: "x")).isEmpty, "wrong token")
        let expired = resumed(
            machine.publishExpired(messageID: 2, token: 8, MosquittoError(kind: .timeout, reason: "no acknowledgement within 1s")))
        #expect(error(expired["p"])?.kind == .timeout)
        #expect(machine.publishAcknowledged(messageID: 2, .success(MosquittoPublishReceipt(messageID: 2, reasonCode: 0))).isEmpty)
        #expect(machine.waitingPublishes == 0)
        // A timer for a completed publish does nothing.
        #expect(machine.publishExpired(messageID: 2, token: 8, MosquittoError(kind: .timeout, reason: "x")).isEmpty)
    }

    @Test("cancellation before registering fails at registration")
    func cancelledBeforeRegistration() {
        var machine = connected()
        _ = machine.beginPublish()
        let done = resumed(machine.registerPublish(messageID: 1, token: 1, waiter: "p", isCancelled: true))
        #expect(error(done["p"])?.kind == .cancelled)
    }

    @Test("a reused message id fails the old waiter instead of leaking it")
    func reusedMessageID() {
        var machine = connected()
        _ = machine.beginPublish()
        _ = machine.registerPublish(messageID: 1, token: 1, waiter: "old", isCancelled: false)
        _ = machine.beginPublish()
        let done = resumed(machine.registerPublish(messageID: 1, token: 2, waiter: "new", isCancelled: false))
        #expect(error(done["old"])?.kind == .timeout)
        #expect(done["new"] == nil)
        #expect(machine.waitingPublishes == 1)
    }

    @Test("disconnect drains: waits for publishes in flight, then closes and resumes after teardown")
    func disconnectDrains() {
        var machine = connected()
        _ = machine.beginPublish()
        _ = machine.registerPublish(messageID: 1, token: 1, waiter: "p", isCancelled: false)
        let disconnect = machine.disconnect("d")
        #expect(resumed(disconnect).isEmpty)
        #expect(tearDowns(disconnect) == 0)
        #expect(machine.beginPublish()?.reason == "disconnecting")
        let acknowledged = machine.publishAcknowledged(messageID: 1, .success(MosquittoPublishReceipt(messageID: 1, reasonCode: 0)))
        #expect(receipt(resumed(acknowledged)["p"]) != nil)
        #expect(tearDowns(acknowledged) == 1)
        #expect(machine.isClosed)
        guard case .tornDown = resumed(machine.teardownFinished())["d"] else {
            Issue.record("disconnect waiter not resumed after teardown")
            return
        }
        guard case .tornDown = resumed(machine.disconnect("again"))["again"] else {
            Issue.record("disconnect after teardown must return at once")
            return
        }
    }

    @Test("disconnect while connecting cancels the connect")
    func disconnectWhileConnecting() {
        var machine = Machine()
        _ = machine.connect("c", isCancelled: false)
        let actions = machine.disconnect("d")
        #expect(error(resumed(actions)["c"])?.kind == .cancelled)
        #expect(tearDowns(actions) == 1)
    }

    @Test("publish is refused unless connected", arguments: ["idle", "connecting", "closed"])
    func publishRefusedUnlessConnected(phase: String) {
        var machine = Machine()
        if phase != "idle" { _ = machine.connect("c", isCancelled: false) }
        if phase == "closed" { _ = machine.connectFailed(MosquittoError(kind: .unreachable, reason: "Connection refused")) }
        #expect(machine.beginPublish()?.kind == .unavailable)
    }

    @Test("waitUntilClosed: cancellation resumes the waiter once")
    func closedWaitCancelled() {
        var machine = connected()
        #expect(machine.awaitClosed(token: 1, "w", isCancelled: false).isEmpty)
        guard case .closed(let reason) = resumed(machine.cancelClosedWait(token: 1))["w"] else {
            Issue.record("not resumed")
            return
        }
        #expect(reason.kind == .cancelled)
        #expect(machine.cancelClosedWait(token: 1).isEmpty)
        #expect(resumed(machine.connectionClosed(nil)).isEmpty)
    }
}
