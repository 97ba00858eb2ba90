import NIOConcurrencyHelpers
import NIOCore

/// `shutdown.drain_rate`: when each connection's turn to be closed comes during a drain, so that the clients of a
/// restarting instance reconnect to the other instances gradually instead of all in the same second.
///
/// The drain starts with `start(connections:)`; then every connection that hears of it (`DrainDeadline`) takes the
/// next turn, `turn × interval` after the start:
/// - a rate `r` > 0: `interval = 1/r`;
/// - no rate (the default): the closes are spread evenly over the first `spreadShare` of `shutdown.grace_period`
///   (the rest is left for the last clients' close handshakes);
/// - rate 0: every connection at once (interval 0).
///
/// Turns that would come after the grace period are not waited for: the grace period's hard close takes those
/// connections (it is the process's bound). Shared by every listener; safe from any event loop.
final class DrainPacer: Sendable {
    /// With no rate set, the share of the grace period over which the closes are spread.
    static let spreadShare = 0.8

    private let rate: Double?
    private let gracePeriod: TimeAmount
    private let state = NIOLockedValueBox<(interval: TimeAmount, nextTurn: Int)>((.zero, 0))

    init(rate: Double?, gracePeriod: TimeAmount) {
        self.rate = rate
        self.gracePeriod = gracePeriod
    }

    /// The drain begins with `connections` open. Resets the turns.
    func start(connections: Int) {
        let interval = Self.interval(rate: rate, gracePeriod: gracePeriod, connections: connections)
        state.withLockedValue { $0 = (interval, 0) }
    }

    /// The time between two closes.
    static func interval(rate: Double?, gracePeriod: TimeAmount, connections: Int) -> TimeAmount {
        switch rate {
        case .some(let rate) where rate > 0:
            return .nanoseconds(Int64((1e9 / rate).rounded()))
        case .some:
            return .zero
        case .none:
            guard connections > 1 else { return .zero }
            let spread = Double(gracePeriod.nanoseconds) * spreadShare
            return .nanoseconds(Int64(spread / Double(connections - 1)))
        }
    }

    /// The next connection's delay after the start of the drain (the first one's is zero).
    func nextTurn() -> TimeAmount {
        state.withLockedValue { state in
            defer { state.nextTurn += 1 }
            return state.interval * state.nextTurn
        }
    }
}
