import CMosquitto
import Dispatch
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libmosquitto client instance and everything that touches it.
///
/// Threads:
/// - libmosquitto's own network thread (`mosquitto_loop_start`) runs the callbacks. They only take `state`'s lock
///   briefly and resume continuations after releasing it; they never block.
/// - `queue`, a serial queue per connection, runs the calls that can block: `mosquitto_connect_bind_async` (a
///   synchronous DNS lookup), `mosquitto_loop_stop` (joins the network thread) and `mosquitto_destroy`. Never a
///   SwiftNIO event loop or a cooperative thread.
/// - Callers' tasks call `mosquitto_publish_v5`, which only takes libmosquitto's internal mutexes for a moment.
/// No libmosquitto function is ever called while `state`'s lock is held, so the two sets of locks cannot deadlock.
///
/// Lifetime: the C side holds a +1 reference on this object (the `obj` pointer given to the callbacks), taken in
/// `init` and given back at the very end of `tearDown()`, after the network thread has been joined and the instance
/// destroyed. So no callback can ever see a freed object, whatever the owner does.
final class ConnectionCore: Sendable {
    typealias Waiter = CheckedContinuation<ConnectionOutcome, Never>
    typealias Machine = ConnectionStateMachine<Waiter>

    private struct State {
        var machine = Machine()
        /// Set on `queue` once `mosquitto_connect_bind_async` returned success: from then on errors come from
        /// libmosquitto's thread.
        var dialReturned = false
        /// Set on `queue` once `mosquitto_loop_start` succeeded; read by `tearDown()` on the same queue.
        var loopStarted = false
        /// libmosquitto's socket closed at least once (`on_disconnect`); after that its thread exits promptly.
        var socketClosed = false
        /// The last error/warning libmosquitto logged, appended to TLS and protocol errors ("certificate verify failed").
        var lastProblem: String?
        var nextToken: UInt64 = 0
    }

    let options: MosquittoConnectionOptions
    let clientID: String
    private let instance: MosquittoInstance
    private let state = NIOLockedValueBox(State())
    private let queue: DispatchQueue
    /// Signalled by `on_disconnect`; `tearDown()` waits on it (bounded) for the DISCONNECT to go out.
    private let socketClosedSignal = DispatchSemaphore(value: 0)

    /// How long `tearDown()` waits for a polite DISCONNECT before cancelling libmosquitto's thread.
    private static let politeCloseTimeout = DispatchTimeInterval.seconds(1)

    init(options: MosquittoConnectionOptions) throws(MosquittoError) {
        try options.validate()
        try MosquittoLibrary.ensureInitialized()
        let clientID = options.clientID ?? Self.randomClientID()
        errno = 0
        guard let pointer = mosquitto_new(clientID, true, nil) else {
            throw MosquittoError(
                kind: .invalidConfiguration,
                reason: "mosquitto_new failed: \(String(cString: strerror(errno)))")
        }
        self.options = options
        self.clientID = clientID
        self.instance = MosquittoInstance(pointer: pointer)
        self.queue = DispatchQueue(label: "mqtt-ws-bridge.mosquitto.\(clientID)")
        do {
            try Self.configure(pointer, options)
        } catch {
            mosquitto_destroy(pointer)
            throw error
        }
        // From here on the C side owns a reference: released by tearDown(), which every path reaches.
        mosquitto_user_data_set(pointer, Unmanaged.passRetained(self).toOpaque())
        Self.installCallbacks(pointer)
    }

    var isConnected: Bool { state.withLockedValue { $0.machine.isConnected } }

    // MARK: API

    func connect() async throws(MosquittoError) {
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                perform(state.withLockedValue { $0.machine.connect(waiter, isCancelled: Task.isCancelled) })
            }
        } onCancel: {
            perform(
                state.withLockedValue {
                    $0.machine.connectFailed(MosquittoError(kind: .cancelled, reason: "connect() was cancelled"))
                })
        }
        switch outcome {
        case .connected: return
        case .failed(let error): throw error
        default: throw Self.unexpected(outcome)
        }
    }

    func publish(_ message: MosquittoMessage) async throws(MosquittoError) -> MosquittoPublishReceipt {
        try MQTTTopic.validatePublishTopic(message.topic)
        guard message.payload.count <= 268_435_455 else {
            throw MosquittoError(
                kind: .invalidMessage, reason: "payload is \(message.payload.count) bytes, MQTT allows 268435455")
        }
        if message.hasProperties && options.protocolVersion != .v5 {
            throw MosquittoError(
                kind: .invalidMessage,
                reason: "MQTT 5 properties (user properties, content type, expiry…) need protocol version 5")
        }
        var properties = try PublishProperties.make(for: message)
        if let refusal = state.withLockedValue({ $0.machine.beginPublish() }) {
            mosquitto_property_free_all(&properties)
            throw refusal
        }
        var assignedID: Int32 = 0
        let code = message.topic.withCString { topic in
            message.payload.withUnsafeBytes { payload in
                mosquitto_publish_v5(
                    instance.pointer, &assignedID, topic, Int32(payload.count), payload.baseAddress,
                    Int32(message.qos.rawValue), message.retain, properties)
            }
        }
        let savedErrno = errno
        // libmosquitto copied what it keeps.
        mosquitto_property_free_all(&properties)
        let messageID = assignedID
        guard code == MosquittoCode.success else {
            perform(state.withLockedValue { $0.machine.publishNotSubmitted(messageID: messageID == 0 ? nil : messageID) })
            throw MosquittoError.publishCallFailed(code, savedErrno: savedErrno)
        }

        let token = state.withLockedValue {
            $0.nextToken &+= 1; return $0.nextToken
        }
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                perform(
                    state.withLockedValue {
                        $0.machine.registerPublish(
                            messageID: messageID, token: token, waiter: waiter, isCancelled: Task.isCancelled)
                    })
            }
        } onCancel: {
            perform(
                state.withLockedValue {
                    $0.machine.publishExpired(
                        messageID: messageID, token: token,
                        MosquittoError(kind: .cancelled, reason: "publish was cancelled"))
                })
        }
        switch outcome {
        case .published(let receipt): return receipt
        case .failed(let error): throw error
        default: throw Self.unexpected(outcome)
        }
    }

    /// Drains, disconnects, and returns once libmosquitto's thread is stopped and the instance destroyed.
    func disconnect() async {
        _ = await withCheckedContinuation { (waiter: Waiter) in
            perform(state.withLockedValue { $0.machine.disconnect(waiter) })
        }
    }

    /// Closes without waiting (the owner let go of the connection).
    func close(_ error: MosquittoError) {
        perform(state.withLockedValue { $0.machine.close(error) })
    }

    /// Suspends until the connection is closed for any reason, and returns that reason.
    func waitUntilClosed() async -> MosquittoError {
        let token = state.withLockedValue {
            $0.nextToken &+= 1; return $0.nextToken
        }
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                perform(state.withLockedValue { $0.machine.awaitClosed(token: token, waiter, isCancelled: Task.isCancelled) })
            }
        } onCancel: {
            perform(state.withLockedValue { $0.machine.cancelClosedWait(token: token) })
        }
        if case .closed(let error) = outcome {
            return error
        }
        return Self.unexpected(outcome)
    }

    // MARK: Actions

    private func perform(_ actions: [Machine.Action]) {
        for action in actions {
            switch action {
            case .resume(let waiter, let outcome):
                waiter.resume(returning: outcome)
            case .startConnecting:
                queue.async { self.dial() }
                let timeout = options.connectTimeout
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(timeout.clampedNanoseconds)) {
                    [weak self] in
                    guard let self else { return }
                    self.perform(
                        self.state.withLockedValue {
                            $0.machine.connectFailed(
                                MosquittoError(kind: .timeout, reason: "no CONNACK within \(timeout.shortDescription)"))
                        })
                }
            case .armAckTimer(let messageID, let token):
                let timeout = options.ackTimeout
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(timeout.clampedNanoseconds)) {
                    [weak self] in
                    guard let self else { return }
                    self.perform(
                        self.state.withLockedValue {
                            $0.machine.publishExpired(
                                messageID: messageID, token: token,
                                MosquittoError(
                                    kind: .timeout, reason: "no acknowledgement within \(timeout.shortDescription)"))
                        })
                }
            case .tearDown:
                queue.async { self.tearDown() }
            }
        }
    }

    /// On `queue`: dial and start libmosquitto's thread.
    private func dial() {
        guard state.withLockedValue({ $0.machine.isConnecting }) else { return }
        errno = 0
        let code = mosquitto_connect_bind_async(
            instance.pointer, options.host, Int32(options.port), Int32(options.keepAlive.components.seconds), nil)
        let savedErrno = errno
        guard code == MosquittoCode.success else {
            perform(
                state.withLockedValue {
                    $0.machine.connectFailed(
                        .connectCallFailed(code, savedErrno: savedErrno, detail: $0.lastProblem))
                })
            return
        }
        state.withLockedValue { $0.dialReturned = true }
        let loopCode = mosquitto_loop_start(instance.pointer)
        guard loopCode == MosquittoCode.success else {
            perform(
                state.withLockedValue {
                    $0.machine.connectFailed(.connectCallFailed(loopCode, savedErrno: errno, detail: "mosquitto_loop_start"))
                })
            return
        }
        state.withLockedValue { $0.loopStarted = true }
    }

    /// On `queue`, exactly once: DISCONNECT, stop the thread, destroy, give back the C side's reference.
    private func tearDown() {
        let (loopStarted, socketClosed) = state.withLockedValue { ($0.loopStarted, $0.socketClosed) }
        // Also stops libmosquitto's automatic reconnect; sends DISCONNECT if the socket is up.
        _ = mosquitto_disconnect(instance.pointer)
        if loopStarted {
            // The thread exits by itself once the socket is closed. If it does not close in time (a TCP connect still
            // pending towards an unresponsive host), cancel the thread instead of blocking this queue for minutes.
            let closed = socketClosed || socketClosedSignal.wait(timeout: .now() + Self.politeCloseTimeout) == .success
            _ = mosquitto_loop_stop(instance.pointer, !closed)
        }
        mosquitto_destroy(instance.pointer)
        perform(state.withLockedValue { $0.machine.teardownFinished() })
        Unmanaged.passUnretained(self).release()
    }

    // MARK: Callbacks (libmosquitto's thread)

    fileprivate func connackReceived(_ code: Int32) {
        if code == 0 {
            perform(state.withLockedValue { $0.machine.connectSucceeded() })
            return
        }
        // Refused: tell libmosquitto not to retry; it closes the socket after this callback.
        _ = mosquitto_disconnect(instance.pointer)
        let error = MosquittoError.connackRefused(code, protocolVersion: options.protocolVersion)
        perform(state.withLockedValue { $0.machine.connectFailed(error) })
    }

    fileprivate func socketDidClose(_ code: Int32, savedErrno: Int32) {
        if code != 0 {
            // libmosquitto's thread would reconnect by itself (and resend unacknowledged messages whose publishers were
            // already told they failed). Marking the client disconnected makes the thread exit instead.
            _ = mosquitto_disconnect(instance.pointer)
        }
        let actions = state.withLockedValue { state -> [Machine.Action] in
            state.socketClosed = true
            guard code != 0 else { return state.machine.connectionClosed(nil) }
            let error: MosquittoError =
                state.machine.isConnecting
                ? .closedBeforeConnack(code, savedErrno: savedErrno, detail: state.lastProblem)
                : .closedAfterConnack(code, savedErrno: savedErrno, detail: nil)
            return state.machine.connectionClosed(error)
        }
        socketClosedSignal.signal()
        perform(actions)
    }

    fileprivate func publishCompleted(messageID: Int32, reasonCode: Int32) {
        let result: Result<MosquittoPublishReceipt, MosquittoError> =
            reasonCode < 0x80
            ? .success(MosquittoPublishReceipt(messageID: messageID, reasonCode: UInt8(clamping: reasonCode)))
            : .failure(.publishRefused(reasonCode))
        perform(state.withLockedValue { $0.machine.publishAcknowledged(messageID: messageID, result) })
    }

    /// Error and warning lines only (the callback filters).
    ///
    /// A TLS handshake that fails in libmosquitto's thread (the broker's certificate is not trusted, say) ends that
    /// thread with `MOSQ_ERR_TLS` without calling `on_disconnect`: the error log line is the only sign. So an error
    /// logged while connecting, after the dial call returned, fails the connect at once instead of after the timeout.
    fileprivate func logged(level: Int32, _ message: String) {
        let actions = state.withLockedValue { state -> [Machine.Action] in
            state.lastProblem = message
            guard level & Int32(MOSQ_LOG_ERR) != 0, state.dialReturned, state.machine.isConnecting else { return [] }
            return state.machine.connectFailed(.loggedWhileConnecting(message))
        }
        perform(actions)
    }

    // MARK: Set-up

    private static func configure(_ pointer: OpaquePointer, _ options: MosquittoConnectionOptions) throws(MosquittoError) {
        func check(_ code: Int32, _ what: String) throws(MosquittoError) {
            let savedErrno = errno
            guard code == MosquittoCode.success else {
                throw MosquittoError.optionRejected(what, code, savedErrno: savedErrno)
            }
        }
        let version: Int32 =
            switch options.protocolVersion {
            case .v3_1_1: MQTT_PROTOCOL_V311
            case .v5: MQTT_PROTOCOL_V5
            }
        try check(mosquitto_int_option(pointer, MOSQ_OPT_PROTOCOL_VERSION, version), "protocol version")
        // Each publish is one HTTP request waiting for it: latency matters more than packet count.
        try check(mosquitto_int_option(pointer, MOSQ_OPT_TCP_NODELAY, 1), "TCP_NODELAY")
        if options.username != nil || options.password != nil {
            try check(mosquitto_username_pw_set(pointer, options.username, options.password), "username/password")
        }
        if let tls = options.tls {
            if tls.caFile == nil && tls.caPath == nil {
                try check(mosquitto_int_option(pointer, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "TLS system trust store")
            } else {
                // A key-password callback that answers "no password": without one, OpenSSL would prompt on the terminal.
                try check(
                    mosquitto_tls_set(pointer, tls.caFile, tls.caPath, tls.certFile, tls.keyFile) { _, _, _, _ in 0 },
                    "TLS files (caFile/caPath/certFile/keyFile)")
            }
            try check(mosquitto_tls_opts_set(pointer, tls.verifyPeer ? 1 : 0, nil, nil), "TLS verification")
            try check(mosquitto_tls_insecure_set(pointer, !tls.verifyHostname), "TLS hostname verification")
        }
    }

    private static func installCallbacks(_ pointer: OpaquePointer) {
        mosquitto_connect_v5_callback_set(pointer) { _, object, code, _, _ in
            ConnectionCore.from(object)?.connackReceived(code)
        }
        mosquitto_disconnect_v5_callback_set(pointer) { _, object, code, _ in
            let savedErrno = errno  // Read first: for MOSQ_ERR_ERRNO it is the reason.
            ConnectionCore.from(object)?.socketDidClose(code, savedErrno: savedErrno)
        }
        mosquitto_publish_v5_callback_set(pointer) { _, object, messageID, reasonCode, _ in
            ConnectionCore.from(object)?.publishCompleted(messageID: messageID, reasonCode: reasonCode)
        }
        mosquitto_log_callback_set(pointer) { _, object, level, text in
            let problem = Int32(MOSQ_LOG_ERR) | Int32(MOSQ_LOG_WARNING)
            guard level & problem != 0, let text else { return }
            ConnectionCore.from(object)?.logged(level: level, String(cString: text))
        }
    }

    /// The object behind a callback's `obj` pointer; kept alive by the C side's reference (see the type's comment).
    private static func from(_ object: UnsafeMutableRawPointer?) -> ConnectionCore? {
        guard let object else { return nil }
        return Unmanaged<ConnectionCore>.fromOpaque(object).takeUnretainedValue()
    }

    private static func randomClientID() -> String {
        let hex = String(UInt32.random(in: .min ... .max), radix: 16)
        return "mqtt-ws-bridge-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    private static func unexpected(_ outcome: ConnectionOutcome) -> MosquittoError {
        MosquittoError(kind: .protocolError, reason: "internal error: unexpected outcome \(outcome)")
    }
}

/// The `struct mosquitto *` of one client.
///
/// `@unchecked Sendable` is safe because: libmosquitto documents its client functions as thread safe (compiled with
/// threading, as Debian's is) and we only call the thread-safe ones from several threads (`mosquitto_publish_v5`,
/// `mosquitto_disconnect`); the pointer itself never changes; and it is destroyed only in `ConnectionCore.tearDown()`,
/// after which nothing uses it: the state machine emits `.tearDown` once, only when closed (no new publish passes
/// `beginPublish`) and no publisher is still between `beginPublish` and its return from `mosquitto_publish_v5`;
/// `dial()` runs on the same serial queue before it; and libmosquitto's thread, which runs the callbacks, is joined
/// by `mosquitto_loop_stop` first.
struct MosquittoInstance: @unchecked Sendable {
    let pointer: OpaquePointer
}
