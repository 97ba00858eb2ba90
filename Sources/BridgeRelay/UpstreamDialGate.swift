import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore

/// `upstream.max_concurrent_dials`: at most so many dials towards the upstream in flight at once (connecting, or
/// connected and not yet answered by the broker); the dials beyond wait their turn in the bridge, first come first
/// served.
///
/// Why: a broker with a short accept queue overflows when thousands of sessions dial it at once (after a reconnect
/// storm). Mosquitto 2.0 listens with a hard-coded backlog of 100 (`ss -ltn` shows Send-Q 100; it has no option for
/// it); when the queue is full the kernel drops the bridge's SYN and the connect is retried only after 1 s (then 3 s).
/// A dial waiting here lasts until an earlier dial's broker answers (milliseconds); a dropped SYN costs a second. The
/// same holds for any broker with a short accept queue.
///
/// Why 64 by default: every dial in flight may sit in the broker's accept queue, so the bridge's unanswered dials stay
/// well under Mosquitto's 100, and about 36 places stay free for the broker's other clients; it is two event loops'
/// worth (32 each). Not a hard bound: a connection the bridge gave up (its session left, its deadline passed) frees
/// its slot at once but stays in the broker's queue until the broker accepts it, and a limit below the number of
/// event loops is raised to one per loop.
/// Several bridges in front of one broker share its queue and should each take less (Config/bridge.yaml).
///
/// A slot is held from the start of a connect until the broker has sent the first bytes on that connection (for a
/// `tcp` upstream its CONNACK to the client's CONNECT, which the session forwards the moment the connection is ready;
/// for TLS its ServerHello; for `ws` its answer to the upgrade), or the connection failed or closed, or the dial was
/// cancelled, or the dial's deadline (`upstream.connect_timeout` from its start) passed, whichever comes first
/// (`UpstreamDialSlotHolder`). Why not at the TCP connect: on loopback a connect completes at the broker kernel's
/// SYN-ACK, before the broker has `accept()`ed, so a gate freed there bounds the SYNs in flight, not the accept
/// queue. A broker says nothing before it has accepted, so its first byte proves the connection left the queue: the
/// limit bounds the accept queue itself (plus what the broker is still reading), which is why it sits below
/// Mosquitto's 100.
///
/// The limit is split evenly over the event loops (each at least 1) so that every gate is loop-local: no lock, no
/// hop between threads (like `UpstreamPoolView`).
package final class UpstreamDialGates: @unchecked Sendable {
    /// No limit: every dial connects at once, as before the gate (tests, and `upstream.max_concurrent_dials: 0`).
    package static let unlimited = UpstreamDialGates(maxConcurrentDials: 0, eventLoops: [])

    private let maxConcurrentDials: Int
    private let metrics: UpstreamDialGateMetrics?
    /// With no limit every loop shares this one: it keeps no state (nothing waits, nothing is counted).
    private let noLimit = UpstreamDialGate(limit: 0)
    /// The loops known at start-up, never changed: read without a lock. Each gate is used only on its own loop
    /// (which is what makes the unchecked `Sendable` sound); `noLimit`, shared by every loop, has no state to race on.
    private let known: [ObjectIdentifier: UpstreamDialGate]
    /// Loops not known at start-up (tests on an `EmbeddedEventLoop`) get a gate on first use, under a lock.
    private let late = NIOLockedValueBox<[ObjectIdentifier: UpstreamDialGate]>([:])

    /// - Parameters:
    ///   - maxConcurrentDials: for the whole process; 0: no limit.
    ///   - eventLoops: the loops sessions run on; each gets its share now.
    package init(maxConcurrentDials: Int, eventLoops: [any EventLoop], metrics: UpstreamDialGateMetrics? = nil) {
        self.maxConcurrentDials = maxConcurrentDials
        self.metrics = metrics
        let shares = Self.shares(of: maxConcurrentDials, over: eventLoops.count)
        var gates: [ObjectIdentifier: UpstreamDialGate] = [:]
        for (loop, share) in zip(eventLoops, shares) {
            gates[ObjectIdentifier(loop)] = UpstreamDialGate(limit: share, metrics: metrics)
        }
        self.known = gates
    }

    /// `limit` split over `loops`: as even as it goes (the first loops take the remainder), each at least 1; 0 stays
    /// 0 (no limit) everywhere.
    static func shares(of limit: Int, over loops: Int) -> [Int] {
        guard loops > 0 else { return [] }
        guard limit > 0 else { return Array(repeating: 0, count: loops) }
        return (0..<loops).map { max(1, limit / loops + ($0 < limit % loops ? 1 : 0)) }
    }

    /// The gate of `eventLoop`, on that loop.
    func gate(for eventLoop: any EventLoop) -> UpstreamDialGate {
        eventLoop.assertInEventLoop()
        guard self.maxConcurrentDials > 0 else { return self.noLimit }
        if let gate = self.known[ObjectIdentifier(eventLoop)] { return gate }
        return self.late.withLockedValue { gates in
            if let gate = gates[ObjectIdentifier(eventLoop)] { return gate }
            // Not one of the server's loops: a share as if it were one more of them.
            let share = Self.shares(of: self.maxConcurrentDials, over: self.known.count + 1).last ?? 0
            let gate = UpstreamDialGate(limit: share, metrics: self.metrics)
            gates[ObjectIdentifier(eventLoop)] = gate
            return gate
        }
    }
}

/// One event loop's share of `upstream.max_concurrent_dials` (see `UpstreamDialGates`): the dials in flight on this
/// loop (connecting, or connected and waiting for the broker's first bytes), and the dials waiting for one of them to
/// finish, in the order they came.
///
/// Used only on its loop. A dial asks for a slot with `enter`, which starts it at once or queues it; whatever happens
/// next, its ticket is released exactly once (`release()`: the first call counts): a started dial's slot goes to the
/// next waiting dial, a waiting dial leaves the queue and never starts.
final class UpstreamDialGate {
    /// One dial's place at the gate.
    final class Ticket {
        fileprivate enum State {
            case waiting(start: (Ticket) -> Void)
            /// Started: it holds a slot.
            case holding
            case done
        }

        fileprivate var state: State
        private weak var gate: UpstreamDialGate?
        /// Releases a held slot at the dial's deadline, should nothing else release it first.
        private var expiry: Scheduled<Void>?

        fileprivate init(state: State, gate: UpstreamDialGate) {
            self.state = state
            self.gate = gate
        }

        /// Still waiting for a slot.
        var isWaiting: Bool {
            if case .waiting = self.state { return true }
            return false
        }

        /// Started and not released yet: it holds one of the gate's slots (never with no limit).
        var holdsSlot: Bool {
            if case .holding = self.state { return true }
            return false
        }

        /// The dial is done with the gate, whichever way (the broker spoke, the connection failed or closed, the dial
        /// was cancelled or timed out): a held slot goes to the next waiting dial, a waiting dial leaves the queue and
        /// never starts. The first call counts; later ones do nothing.
        func release() {
            switch self.state {
            case .waiting:
                self.state = .done
                self.gate?.waiterLeft()
            case .holding:
                self.state = .done
                self.expiry?.cancel()
                self.expiry = nil
                self.gate?.slotFreed()
            case .done:
                break
            }
        }

        /// The latest a held slot is released: `deadline` on `eventLoop` (the ticket's own loop), however long the
        /// connection waits for the broker's first bytes.
        func release(at deadline: NIODeadline, on eventLoop: any EventLoop) {
            guard self.holdsSlot else { return }
            self.expiry?.cancel()
            self.expiry = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.release() }
        }
    }

    /// 0: no limit.
    let limit: Int
    private let metrics: UpstreamDialGateMetrics?
    /// Slots held: dials started and not released yet.
    private(set) var holding = 0
    /// Waiting tickets in arrival order; released ones stay until they reach the front and are skipped there.
    private var queue = CircularBuffer<Ticket>()
    private(set) var waiting = 0
    private var isStartingDials = false

    init(limit: Int, metrics: UpstreamDialGateMetrics? = nil) {
        self.limit = limit
        self.metrics = metrics
    }

    /// A dial that wants to connect: `start` runs now when a slot is free and nobody waits, else when its turn comes,
    /// with the ticket the dial releases when it is done with the gate (which may be inside `start`).
    func enter(_ start: @escaping (Ticket) -> Void) -> Ticket {
        guard self.limit > 0 else {
            // No limit: nothing to count, and nothing to hand on.
            let ticket = Ticket(state: .done, gate: self)
            start(ticket)
            return ticket
        }
        if self.holding < self.limit, self.queue.isEmpty, !self.isStartingDials {
            let ticket = Ticket(state: .holding, gate: self)
            self.holding += 1
            start(ticket)
            return ticket
        }
        let ticket = Ticket(state: .waiting(start: start), gate: self)
        self.queue.append(ticket)
        self.waiting += 1
        self.metrics?.waiting.increment()
        self.metrics?.delayed.increment()
        self.startWaitingDials()
        return ticket
    }

    fileprivate func slotFreed() {
        self.holding -= 1
        self.startWaitingDials()
    }

    fileprivate func waiterLeft() {
        self.waiting -= 1
        self.metrics?.waiting.decrement()
    }

    /// Hands free slots to waiting dials in order. A dial may release its slot (fail) synchronously inside `start`: the
    /// loop, not a nested call, then takes the next, so a long queue of failing dials does not deepen the stack.
    private func startWaitingDials() {
        guard !self.isStartingDials else { return }
        self.isStartingDials = true
        defer { self.isStartingDials = false }
        while self.holding < self.limit, let ticket = self.queue.popFirst() {
            guard case .waiting(let start) = ticket.state else { continue }  // released while waiting
            ticket.state = .holding
            self.waiting -= 1
            self.metrics?.waiting.decrement()
            self.holding += 1
            start(ticket)
        }
    }
}

/// What an operator reads: how many dials wait now, and how many had to wait at all.
package struct UpstreamDialGateMetrics: Sendable {
    /// `mqtt_ws_bridge_upstream_dials_waiting`.
    let waiting: Meter
    /// `mqtt_ws_bridge_upstream_dials_delayed_total`.
    let delayed: Counter

    package init(factory: any MetricsFactory) {
        self.waiting = Meter(label: "mqtt_ws_bridge_upstream_dials_waiting", dimensions: [], factory: factory)
        self.delayed = Counter(label: "mqtt_ws_bridge_upstream_dials_delayed_total", dimensions: [], factory: factory)
    }
}
