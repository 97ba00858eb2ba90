import NIOCore
import Synchronization

/// The admin listener's open connections, for shutdown: connections waiting for a request are closed at once,
/// connections answering one finish that answer and then close.
final class AdminConnections: Sendable {
    private struct State {
        var shuttingDown = false
        /// Connections between requests, by channel identity.
        var idle: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = Mutex(State())

    /// The connection waits for its next request. False when the listener is shutting down: close it instead.
    func waitingForRequest(_ channel: any Channel) -> Bool {
        state.withLock { state in
            guard !state.shuttingDown else { return false }
            state.idle[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    /// The connection received a request and is answering it.
    func answering(_ channel: any Channel) {
        _ = state.withLock { $0.idle.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// The connection is gone.
    func closed(_ channel: any Channel) {
        answering(channel)
    }

    var isShuttingDown: Bool {
        state.withLock { $0.shuttingDown }
    }

    /// From now on no connection waits for another request; the idle ones are closed now.
    func shutDown() {
        let idle = state.withLock { state -> [any Channel] in
            state.shuttingDown = true
            defer { state.idle = [:] }
            return Array(state.idle.values)
        }
        for channel in idle {
            channel.close(promise: nil)
        }
    }
}
