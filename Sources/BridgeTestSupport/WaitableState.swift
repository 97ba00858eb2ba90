import NIOConcurrencyHelpers

/// A value written by an event loop and awaited by test tasks, with a deadline on every wait.
///
/// Why not `AsyncStream`: a test must be able to give up on a wait (timeout) and wait again later on the same
/// connection, and cancelling an `AsyncStream` iterator terminates the stream. Here a wait is a condition
/// (`poll`) re-checked after every `update`, so timing out leaves the value untouched.
final class WaitableState<Value: Sendable>: Sendable {
    private struct Storage {
        var value: Value
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let storage: NIOLockedValueBox<Storage>

    init(_ value: Value) {
        self.storage = NIOLockedValueBox(Storage(value: value))
    }

    /// Changes the value and wakes every waiter so that it re-checks its condition.
    @discardableResult
    func update<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        let (result, waiters) = storage.withLockedValue { storage in
            let result = body(&storage.value)
            let waiters = storage.waiters
            storage.waiters = [:]
            return (result, waiters)
        }
        for waiter in waiters.values { waiter.resume() }
        return result
    }

    /// Reads the value without waking anyone.
    func read<Result: Sendable>(_ body: (Value) -> Result) -> Result {
        storage.withLockedValue { body($0.value) }
    }

    /// Waits until `poll` returns a result or `deadline` passes (then returns nil).
    ///
    /// `poll` runs under the lock and may change the value (e.g. pop the frame it returns); it runs once more at the
    /// deadline, so something that arrived just in time is not missed. Throws `CancellationError` if the task is cancelled.
    func wait<Result: Sendable>(
        until deadline: ContinuousClock.Instant,
        _ poll: (inout Value) -> Result?
    ) async throws -> Result? {
        while true {
            try Task.checkCancellation()
            let id = storage.withLockedValue { storage in
                storage.nextWaiterID += 1
                return storage.nextWaiterID
            }
            // Checking the condition and registering the waiter under one lock means no update can slip in between.
            var found: Result?
            let timer = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                self?.wake(id)
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = storage.withLockedValue { storage -> Bool in
                        if let result = poll(&storage.value) {
                            found = result
                            return true
                        }
                        // Cancelled before registration: the cancellation handler may already have run and found nothing to wake.
                        if Task.isCancelled || ContinuousClock.now >= deadline { return true }
                        storage.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                wake(id)
            }
            timer.cancel()
            if let found { return found }
            if ContinuousClock.now >= deadline {
                return storage.withLockedValue { poll(&$0.value) }
            }
        }
    }

    private func wake(_ id: UInt64) {
        let waiter = storage.withLockedValue { $0.waiters.removeValue(forKey: id) }
        waiter?.resume()
    }
}
