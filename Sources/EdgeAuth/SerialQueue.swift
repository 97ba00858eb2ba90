import NIOConcurrencyHelpers

/// Runs async operations one after the other, in call order: actors alone do not, since they interleave at awaits.
final class SerialQueue: Sendable {
    private let tail = NIOLockedValueBox<Task<Void, Never>?>(nil)

    func run<Result: Sendable>(_ operation: @escaping @Sendable () async -> Result) async -> Result {
        let task = self.tail.withLockedValue { tail in
            let previous = tail
            let task = Task {
                await previous?.value
                return await operation()
            }
            tail = Task { _ = await task.value }
            return task
        }
        return await task.value
    }
}
