/// What a waiter of `ConnectionStateMachine` is resumed with.
enum ConnectionOutcome: Sendable {
    case connected
    case published(MosquittoPublishReceipt)
    case failed(MosquittoError)
    /// For `waitUntilClosed` waiters: why the connection closed.
    case closed(MosquittoError)
    /// For `disconnect()` waiters: libmosquitto's thread is stopped and the instance destroyed.
    case tornDown
}

/// The life of one `MosquittoConnection`, without libmosquitto: every event from the API, libmosquitto's callbacks
/// and the timers comes in here and returns the actions the connection must perform (outside its lock).
///
/// Generic over the waiter (a continuation in production, a plain value in tests) so that the races can be tested
/// on their own:
/// - `on_publish` may fire before `mosquitto_publish` has returned the message id: the result is parked in the slot
///   for that id (`acknowledged`) and picked up when the publisher registers.
/// - Loss of the connection fails the pending connect and every waiting publish, exactly once.
/// - A timeout or cancellation leaves an `abandoned` slot, so a late acknowledgement is dropped instead of parked.
///
/// A connection is single-use: `idle → connecting → connected → (draining) → closed`. libmosquitto would otherwise
/// reconnect by itself and resend unacknowledged messages that a caller was already told had failed; the pool makes a
/// new connection instead.
struct ConnectionStateMachine<Waiter> {
    typealias Outcome = ConnectionOutcome

    enum Action {
        case resume(Waiter, Outcome)
        /// Dial on the connection's own queue (`mosquitto_connect_async` resolves names synchronously) and arm the
        /// connect timer.
        case startConnecting
        case armAckTimer(messageID: Int32, token: UInt64)
        /// Stop libmosquitto's thread and destroy the instance, on the connection's queue. Emitted exactly once, when
        /// the connection is closed and no caller is inside `mosquitto_publish_v5` any more.
        case tearDown
    }

    fileprivate enum Phase {
        case idle
        case connecting(Waiter)
        case connected
        /// `disconnect()` was called: no new publishes, waiting ones may still complete.
        case draining
        case closed(MosquittoError)
    }

    fileprivate enum Slot {
        /// A publisher is waiting for the acknowledgement of this message id.
        case waiting(Waiter, token: UInt64)
        /// The acknowledgement came before the publisher registered.
        case acknowledged(Result<MosquittoPublishReceipt, MosquittoError>)
        /// The publisher gave up (timeout, cancellation); a late acknowledgement is dropped.
        case abandoned
    }

    private enum Teardown {
        case notStarted, running, finished
    }

    private var phase = Phase.idle
    private var slots: [Int32: Slot] = [:]
    private var waitingCount = 0
    /// Publishes between `beginPublish` and `registerPublish`/`publishNotSubmitted`: their acknowledgements may arrive
    /// before they register.
    private var submissions = 0
    private var disconnectWaiters: [Waiter] = []
    private var closedWaiters: [UInt64: Waiter] = [:]
    private var teardown = Teardown.notStarted

    /// At most this many publishes may be in flight on one connection: libmosquitto's message ids are 16 bits.
    static var maximumInFlight: Int { 32_768 }

    var isConnected: Bool {
        if case .connected = phase { return true }
        return false
    }

    var isConnecting: Bool {
        if case .connecting = phase { return true }
        return false
    }

    var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// Publishers currently waiting for an acknowledgement (for tests and metrics).
    var waitingPublishes: Int { waitingCount }

    // MARK: Connecting

    mutating func connect(_ waiter: Waiter, isCancelled: Bool) -> [Action] {
        switch phase {
        case .idle:
            if isCancelled {
                let error = MosquittoError(kind: .cancelled, reason: "connect() was cancelled")
                return [.resume(waiter, .failed(error))] + enterClosed(error)
            }
            phase = .connecting(waiter)
            return [.startConnecting]
        case .connecting, .connected, .draining:
            return [
                .resume(waiter, .failed(MosquittoError(kind: .unavailable, reason: "connect() may be called only once per connection")))
            ]
        case .closed(let error):
            return [.resume(waiter, .failed(MosquittoError(kind: .unavailable, reason: "connection is closed: \(error.reason)")))]
        }
    }

    /// CONNACK with success.
    mutating func connectSucceeded() -> [Action] {
        guard case .connecting(let waiter) = phase else { return [] }
        phase = .connected
        return [.resume(waiter, .connected)]
    }

    /// CONNACK refusal, dial failure, socket closed before CONNACK, connect timeout or cancellation. Ignored unless
    /// still connecting (e.g. a CONNACK that arrives after the timeout).
    mutating func connectFailed(_ error: MosquittoError) -> [Action] {
        guard case .connecting(let waiter) = phase else { return [] }
        return [.resume(waiter, .failed(error))] + enterClosed(error)
    }

    /// libmosquitto's socket closed. `error` is nil when it closed because we asked.
    mutating func connectionClosed(_ error: MosquittoError?) -> [Action] {
        let error = error ?? MosquittoError(kind: .connectionLost, reason: "the connection was closed")
        switch phase {
        case .connecting:
            return connectFailed(error)
        case .connected, .draining:
            return enterClosed(error)
        case .idle, .closed:
            return []
        }
    }

    // MARK: Publishing

    /// Before calling `mosquitto_publish_v5`: nil to go ahead, or why not.
    mutating func beginPublish() -> MosquittoError? {
        switch phase {
        case .connected:
            guard submissions + waitingCount < Self.maximumInFlight else {
                return MosquittoError(kind: .unavailable, reason: "too many messages in flight on this connection")
            }
            submissions += 1
            return nil
        case .idle, .connecting:
            return MosquittoError(kind: .unavailable, reason: "not connected")
        case .draining:
            return MosquittoError(kind: .unavailable, reason: "disconnecting")
        case .closed(let error):
            return MosquittoError(kind: .unavailable, reason: "not connected (\(error.reason))")
        }
    }

    /// `mosquitto_publish_v5` failed: nothing was sent.
    mutating func publishNotSubmitted(messageID: Int32?) -> [Action] {
        submissions -= 1
        if let messageID, case .acknowledged = slots[messageID] {
            slots[messageID] = nil
        }
        return drainIfIdle() + tearDownIfUnused()
    }

    /// `mosquitto_publish_v5` succeeded with `messageID`; the publisher now waits.
    mutating func registerPublish(messageID: Int32, token: UInt64, waiter: Waiter, isCancelled: Bool) -> [Action] {
        submissions -= 1
        var actions = tearDownIfUnused()
        switch slots[messageID] {
        case .acknowledged(let result):
            slots[messageID] = nil
            actions.append(.resume(waiter, Self.outcome(result)))
            return actions + drainIfIdle()
        case .waiting(let older, _):
            // The 16-bit id wrapped while an older message still had no answer: that answer will not be told apart.
            waitingCount -= 1
            slots[messageID] = nil
            actions.append(
                .resume(older, .failed(MosquittoError(kind: .timeout, reason: "no acknowledgement before its message id was reused"))))
        case .abandoned, nil:
            break
        }
        if case .closed(let error) = phase {
            actions.append(.resume(waiter, .failed(Self.lostBeforeAcknowledgement(error))))
            return actions + drainIfIdle()
        }
        if isCancelled {
            slots[messageID] = .abandoned
            actions.append(.resume(waiter, .failed(MosquittoError(kind: .cancelled, reason: "publish was cancelled"))))
            return actions + drainIfIdle()
        }
        slots[messageID] = .waiting(waiter, token: token)
        waitingCount += 1
        actions.append(.armAckTimer(messageID: messageID, token: token))
        return actions
    }

    /// `on_publish`: the message is written (QoS 0), acknowledged (QoS 1/2), or refused by the broker.
    mutating func publishAcknowledged(messageID: Int32, _ result: Result<MosquittoPublishReceipt, MosquittoError>) -> [Action] {
        switch slots[messageID] {
        case .waiting(let waiter, _):
            slots[messageID] = nil
            waitingCount -= 1
            return [.resume(waiter, Self.outcome(result))] + drainIfIdle()
        case .abandoned:
            slots[messageID] = nil
            return []
        case .acknowledged, nil:
            // Only a publisher that has not registered yet can claim it; otherwise nobody will.
            if submissions > 0 {
                slots[messageID] = .acknowledged(result)
            }
            return []
        }
    }

    /// The acknowledgement timer fired or the publisher's task was cancelled.
    mutating func publishExpired(messageID: Int32, token: UInt64, _ error: MosquittoError) -> [Action] {
        guard case .waiting(let waiter, let waitingToken) = slots[messageID], waitingToken == token else { return [] }
        slots[messageID] = .abandoned
        waitingCount -= 1
        return [.resume(waiter, .failed(error))] + drainIfIdle()
    }

    // MARK: Closing

    /// `disconnect()`: let waiting publishes finish (each is bounded by its timer), then close and tear down; the
    /// waiter resumes once libmosquitto's thread is gone.
    mutating func disconnect(_ waiter: Waiter) -> [Action] {
        switch phase {
        case .idle:
            disconnectWaiters.append(waiter)
            return enterClosed(MosquittoError(kind: .unavailable, reason: "disconnected"))
        case .connecting(let connectWaiter):
            disconnectWaiters.append(waiter)
            let error = MosquittoError(kind: .cancelled, reason: "disconnect() was called before CONNACK")
            return [.resume(connectWaiter, .failed(error))] + enterClosed(error)
        case .connected:
            disconnectWaiters.append(waiter)
            phase = .draining
            return drainIfIdle()
        case .draining:
            disconnectWaiters.append(waiter)
            return []
        case .closed:
            if case .finished = teardown {
                return [.resume(waiter, .tornDown)]
            }
            disconnectWaiters.append(waiter)
            return []
        }
    }

    /// Close now, without waiting (the handle was released).
    mutating func close(_ error: MosquittoError) -> [Action] {
        switch phase {
        case .connecting:
            return connectFailed(error)
        case .idle, .connected, .draining:
            return enterClosed(error)
        case .closed:
            return []
        }
    }

    mutating func awaitClosed(token: UInt64, _ waiter: Waiter, isCancelled: Bool) -> [Action] {
        if case .closed(let error) = phase {
            return [.resume(waiter, .closed(error))]
        }
        if isCancelled {
            return [.resume(waiter, .closed(MosquittoError(kind: .cancelled, reason: "waiting was cancelled")))]
        }
        closedWaiters[token] = waiter
        return []
    }

    mutating func cancelClosedWait(token: UInt64) -> [Action] {
        guard let waiter = closedWaiters.removeValue(forKey: token) else { return [] }
        return [.resume(waiter, .closed(MosquittoError(kind: .cancelled, reason: "waiting was cancelled")))]
    }

    mutating func teardownFinished() -> [Action] {
        teardown = .finished
        let waiters = disconnectWaiters
        disconnectWaiters = []
        return waiters.map { .resume($0, .tornDown) }
    }

    // MARK: Helpers

    /// The instance may be destroyed once closed and no publisher is between `beginPublish` and registering (it may
    /// still be inside `mosquitto_publish_v5`).
    private mutating func tearDownIfUnused() -> [Action] {
        guard case .closed = phase, case .notStarted = teardown, submissions == 0 else { return [] }
        teardown = .running
        return [.tearDown]
    }

    private mutating func drainIfIdle() -> [Action] {
        guard case .draining = phase, submissions == 0, waitingCount == 0 else { return [] }
        return enterClosed(MosquittoError(kind: .unavailable, reason: "disconnected"))
    }

    private mutating func enterClosed(_ error: MosquittoError) -> [Action] {
        if case .closed = phase { return [] }
        phase = .closed(error)
        var actions: [Action] = []
        let lost = Self.lostBeforeAcknowledgement(error)
        for (messageID, slot) in slots {
            switch slot {
            case .waiting(let waiter, _):
                actions.append(.resume(waiter, .failed(lost)))
                slots[messageID] = nil
            case .abandoned:
                slots[messageID] = nil
            case .acknowledged:
                // Kept: its publisher is between mosquitto_publish and registering, and the message did go out.
                break
            }
        }
        waitingCount = 0
        for waiter in closedWaiters.values {
            actions.append(.resume(waiter, .closed(error)))
        }
        closedWaiters = [:]
        return actions + tearDownIfUnused()
    }

    private static func lostBeforeAcknowledgement(_ error: MosquittoError) -> MosquittoError {
        MosquittoError(
            kind: .connectionLost, reason: "connection closed before the acknowledgement: \(error.reason)",
            mosquittoCode: error.mosquittoCode, reasonCode: error.reasonCode)
    }

    private static func outcome(_ result: Result<MosquittoPublishReceipt, MosquittoError>) -> Outcome {
        switch result {
        case .success(let receipt): .published(receipt)
        case .failure(let error): .failed(error)
        }
    }
}

// The connection keeps its machine behind a lock shared with libmosquitto's thread: it crosses threads as a value.
extension ConnectionStateMachine: Sendable where Waiter: Sendable {}
extension ConnectionStateMachine.Phase: Sendable where Waiter: Sendable {}
extension ConnectionStateMachine.Slot: Sendable where Waiter: Sendable {}
