/// Where the bridge (the WebSocket listeners) is in its life, as far as readiness cares.
///
/// The admin module does not import the server module: the executable hands `AdminService` a closure that reports
/// this, so the admin listener can run (and be tested) with anything that has a phase.
package enum BridgePhase: String, Sendable, Hashable, CaseIterable {
    /// Not yet listening: binding, or not started.
    case starting
    /// Accepting WebSocket connections.
    case listening
    /// Shutting down (SIGTERM/SIGINT): no new connections, sessions are being closed.
    case draining
    /// All listeners closed.
    case stopped
}
