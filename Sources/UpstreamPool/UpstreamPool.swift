import NIOConcurrencyHelpers
import Synchronization

/// A pool of upstream brokers: which one a new session should dial, and in which order to try the others when a dial
/// fails; which are up (passive: failed dials; active: probe results told by an `UpstreamHealthChecker`); how many
/// sessions each has; whether enough are up for the bridge to be ready.
///
/// ## Concurrency design
/// The pool is consulted on every event loop for every new session, so the choice must be cheap and must not make the
/// loops contend:
/// - **Health changes are rare; choices are frequent.** Every change (a failed dial, a probe result that changes
///   something) happens under one lock and publishes a new immutable `HealthSnapshot` (bit masks of the servers that
///   are up or resting), then bumps an atomic generation number.
/// - **Each event loop has its own `UpstreamPoolView`.** A view keeps the health masks of the snapshot it last saw and
///   its own copy of the server table (own array storage and host strings, so even reference counting stays on the
///   loop's cache lines). A choice loads the generation (one atomic load of a cache line that only changes with
///   health) and takes the lock only when it has moved; then it ranks the servers from what the view holds: no lock,
///   no allocation, no write to shared memory. Measured: 600–1,100 instructions (about 0.1–0.3 µs) per choice with
///   3 to 10 servers (docs/scale-out.md, "Sizing").
/// - **Session counts are per view.** A session opens and closes on its own loop, so each view counts its sessions
///   in counters only it writes; `status()` adds them up across views for metrics. `leastSessions` balances each
///   loop's own sessions, and since the server's accept spreads sessions over the loops, the total is balanced too
///   (to within one session per loop and server).
/// - `roundRobin` turns are per view as well (each view rotates on its own, starting at a different server).
///
/// Servers are fixed for the pool's life; their health is not shared between bridge instances (rendezvous hashing
/// makes them agree without it).
public final class UpstreamPool: Sendable {
    package let settings: UpstreamPoolSettings
    let table: ServerTable
    /// Moves every time `State.snapshot` is replaced; views compare it with the generation they hold.
    let generation = Synchronization.Atomic<UInt64>(0)
    private let state: NIOLockedValueBox<State>
    private let unitRandom: @Sendable () -> Double

    private struct State {
        var health: [ServerHealth]
        var snapshot: HealthSnapshot
        var counters: [SessionCounters] = []

        mutating func publish(_ generation: borrowing Synchronization.Atomic<UInt64>) {
            snapshot = HealthSnapshot(generation: snapshot.generation + 1, health: health)
            generation.store(snapshot.generation, ordering: .releasing)
        }
    }

    /// `unitRandom` (uniform in `[0, 1)`) jitters the backoff; tests pass a fixed value.
    public init(
        settings: UpstreamPoolSettings,
        unitRandom: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) throws(UpstreamPoolSettingsError) {
        try settings.validate()
        self.settings = settings
        self.table = ServerTable(settings.servers)
        let health = Array(repeating: ServerHealth(), count: settings.servers.count)
        self.state = NIOLockedValueBox(State(health: health, snapshot: HealthSnapshot(generation: 0, health: health)))
        self.unitRandom = unitRandom
    }

    /// The servers, in the order of `settings.servers`.
    package var servers: [PooledServer] { table.servers }

    /// A view for one event loop (or thread). Create one per loop at start-up and use it only there.
    public func makeView() -> UpstreamPoolView {
        let counters = SessionCounters(count: table.count)
        let (ordinal, snapshot) = state.withLockedValue { state in
            state.counters.append(counters)
            return (state.counters.count - 1, state.snapshot)
        }
        return UpstreamPoolView(pool: self, snapshot: snapshot, counters: counters, ordinal: ordinal)
    }

    // MARK: Health reports

    /// A dial to `server` failed (refused, timed out, TLS failed): it is marked down at once and rests (backoff).
    package func dialFailed(_ server: PooledServer, reason: String, at now: ContinuousClock.Instant = .now) {
        update(server) { $0.dialFailed(reason: reason, at: now, backoff: settings.backoff, unitRandom: unitRandom) }
    }

    /// A dial to `server` succeeded; a server that was down is up again. Views call this only when their snapshot says
    /// the server is not up, so the lock is not taken on the common path.
    func dialSucceeded(_ server: PooledServer) {
        update(server) { $0.succeeded() }
    }

    /// The outcome of an active health check of `server`.
    package func recordProbe(_ server: PooledServer, _ result: UpstreamProbeResult, at now: ContinuousClock.Instant = .now) {
        update(server) { $0.probed(result, at: now) }
    }

    private func update(_ server: PooledServer, _ change: (inout ServerHealth) -> Bool) {
        precondition(table.servers.indices.contains(server.index) && table.servers[server.index] == server, "\(server) is not in this pool")
        state.withLockedValue { state in
            if change(&state.health[server.index]) { state.publish(generation) }
        }
    }

    // MARK: Reading

    /// The current snapshot (under the lock; views call it only when the generation moved).
    func currentSnapshot() -> HealthSnapshot {
        state.withLockedValue { $0.snapshot }
    }

    /// Every server's health, open sessions (all views), dial failures and last probe, and the readiness they add up to.
    package func status(at now: ContinuousClock.Instant = .now) -> UpstreamPoolStatus {
        let (health, counters) = state.withLockedValue { ($0.health, $0.counters) }
        let servers = table.servers.map { server in
            let record = health[server.index]
            return UpstreamPoolStatus.Server(
                server: server, state: record.state, isAvailable: record.isAvailable(at: now),
                openSessions: counters.reduce(0) { $0 + $1.value(server.index) },
                dialFailures: record.dialFailures, lastProbe: record.lastProbe)
        }
        return UpstreamPoolStatus(servers: servers, minHealthy: settings.minHealthy, now: now)
    }
}

/// A server as a member of a pool: its place in `UpstreamPoolSettings.servers` and its address.
public struct PooledServer: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    package let server: UpstreamServer

    package var host: String { server.host }
    package var port: Int { server.port }
    public var description: String { server.description }
}

/// One view's open-session count per server: written only by the view's loop, read by anyone (`status()`).
final class SessionCounters: Sendable {
    private final class Counter: Sendable {
        let value = Synchronization.Atomic<Int>(0)
    }

    private let counters: [Counter]

    init(count: Int) {
        counters = (0..<count).map { _ in Counter() }
    }

    func value(_ index: Int) -> Int {
        counters[index].value.load(ordering: .relaxed)
    }

    /// Only the owning view calls this, so a plain load and store suffice (no read-modify-write across cores).
    func add(_ delta: Int, at index: Int) {
        let counter = counters[index]
        counter.value.store(counter.value.load(ordering: .relaxed) + delta, ordering: .relaxed)
    }
}
