import CMosquitto
import NIOConcurrencyHelpers

/// Process-wide set-up and tear-down of libmosquitto.
///
/// `mosquitto_lib_init` is not thread safe and must run once before any client is created;
/// `mosquitto_lib_cleanup` must run once at the very end. Both are funnelled through here:
///
/// - `initialize()` is called lazily by `MosquittoConnection.init` (so callers never need to), and may be
///   called explicitly at start-up; any number of calls, from any thread, run `mosquitto_lib_init` exactly once.
/// - `shutdown()` is called **by the executable, once, at exit**, after every `MosquittoPublisherPool` has been shut
///   down and no probe is running. It runs `mosquitto_lib_cleanup` (only if the library was initialised); a second
///   call is a no-op. After it, creating a connection fails with `.unavailable` instead of touching freed state.
package enum MosquittoLibrary {
    /// The running libmosquitto's version, e.g. `2.0.11` (the shared library's, not the header's).
    package static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    /// Runs `mosquitto_lib_init` if nothing did yet. Thread safe; does nothing after `shutdown()`.
    package static func initialize() {
        _ = try? ensureInitialized()
    }

    /// Runs `mosquitto_lib_cleanup` once. Call it at process exit, after all connections are closed.
    /// Later calls do nothing.
    package static func shutdown() {
        let mustCleanUp = lifecycle.withLockedValue { $0.shutdown() }
        if mustCleanUp {
            _ = mosquitto_lib_cleanup()
        }
    }

    /// Initialises on first use; throws `.unavailable` once the library has been shut down.
    static func ensureInitialized() throws(MosquittoError) {
        // The lock is held while mosquitto_lib_init runs: a second thread must not see "initialised" before it is.
        let usable = lifecycle.withLockedValue { state -> Bool in
            switch state.initialize() {
            case .initializeNow:
                _ = mosquitto_lib_init()
                return true
            case .alreadyInitialized:
                return true
            case .shutDown:
                return false
            }
        }
        guard usable else {
            throw MosquittoError(kind: .unavailable, reason: "libmosquitto has been shut down (MosquittoLibrary.shutdown())")
        }
    }

    private static let lifecycle = NIOLockedValueBox(LibraryLifecycle())
}

/// The once-only bookkeeping behind `MosquittoLibrary`, kept apart so it can be tested without calling
/// `mosquitto_lib_cleanup` inside a test process.
struct LibraryLifecycle: Sendable {
    enum InitializeDecision: Equatable {
        case initializeNow
        case alreadyInitialized
        case shutDown
    }

    private enum State {
        case uninitialized
        case initialized
        case shutDown(cleanupNeeded: Bool)
    }

    private var state = State.uninitialized

    mutating func initialize() -> InitializeDecision {
        switch state {
        case .uninitialized:
            state = .initialized
            return .initializeNow
        case .initialized:
            return .alreadyInitialized
        case .shutDown:
            return .shutDown
        }
    }

    /// Whether the caller must run `mosquitto_lib_cleanup` now (true at most once, and only after an init).
    mutating func shutdown() -> Bool {
        switch state {
        case .uninitialized:
            state = .shutDown(cleanupNeeded: false)
            return false
        case .initialized:
            state = .shutDown(cleanupNeeded: true)
            return true
        case .shutDown:
            return false
        }
    }
}
