/// The pool as one event loop sees it: the place where sessions get their dial plans and report how dials went.
///
/// Not `Sendable`: make one per event loop with `UpstreamPool.makeView()` and use it only on that loop (e.g. hold them
/// in `NIOLoopBound`s). A session must report `sessionOpened` and `sessionClosed` to the same view, its loop's.
///
/// Everything a choice reads is the view's own: its copy of the server table, the health masks of the last snapshot
/// it saw, its session counters and round-robin state. The only shared memory a choice touches is the pool's
/// generation number, which is read, not written.
public final class UpstreamPoolView {
    package let pool: UpstreamPool
    let table: ServerTable
    private let counters: SessionCounters
    /// Smooth weighted round robin's running weights (`roundRobin`).
    private var roundRobinWeights: [Int]
    /// Where ties start: each view begins at a different server so that loops do not all pick the same one first.
    private var rotation: Int

    /// The last snapshot seen, as fields of this view (see `HealthSnapshot`).
    private var generation: UInt64
    private var upMask: UInt64
    private var restingMask: UInt64
    private var retryAt: [ContinuousClock.Instant?]

    init(pool: UpstreamPool, snapshot: HealthSnapshot, counters: SessionCounters, ordinal: Int) {
        self.pool = pool
        self.table = pool.table.copyForView()
        self.counters = counters
        self.roundRobinWeights = Array(repeating: 0, count: table.count)
        self.rotation = ordinal % max(table.count, 1)
        self.generation = snapshot.generation
        self.upMask = snapshot.upMask
        self.restingMask = snapshot.restingMask
        self.retryAt = snapshot.retryAt
    }

    /// The order in which to dial for a new session whose CONNECT carries `clientID`.
    ///
    /// Only the first server is chosen here; each further `next()` (after a failed dial) chooses again from the health
    /// as it is then. With `clientID` balancing and a non-empty id the order is the id's rendezvous ranking.
    public func plan(clientID: String) -> UpstreamDialPlan {
        switch pool.settings.balance {
        case .clientID where !clientID.isEmpty:
            return UpstreamDialPlan(view: self, rule: .rendezvous(key: XXH64.hash(clientID)))
        case .clientID, .leastSessions:
            return UpstreamDialPlan(view: self, rule: .leastSessions)
        case .roundRobin:
            return UpstreamDialPlan(view: self, rule: .roundRobin)
        }
    }

    /// The dial to `server` succeeded and the session is relaying: counted until `sessionClosed`. A server that was
    /// down (e.g. on trial after its rest) is up again.
    package func sessionOpened(on server: PooledServer) {
        counters.add(1, at: server.index)
        refresh()
        if upMask & (1 << UInt64(server.index)) == 0 {
            pool.dialSucceeded(server)
        }
    }

    /// A session counted by `sessionOpened(on:)` ended.
    package func sessionClosed(on server: PooledServer) {
        counters.add(-1, at: server.index)
    }

    /// A dial to `server` failed: it is marked down at once (for every view) and rests before it is tried again.
    package func dialFailed(_ server: PooledServer, reason: String, at now: ContinuousClock.Instant = .now) {
        pool.dialFailed(server, reason: reason, at: now)
    }

    /// Sessions this view has open on `server`.
    package func openSessions(on server: PooledServer) -> Int {
        counters.value(server.index)
    }

    // MARK: Choosing (for UpstreamDialPlan)

    /// Takes the pool's current snapshot if the generation has moved since the last one.
    @inline(__always)
    private func refresh() {
        if pool.generation.load(ordering: .acquiring) != generation {
            let snapshot = pool.currentSnapshot()
            generation = snapshot.generation
            upMask = snapshot.upMask
            restingMask = snapshot.restingMask
            retryAt = snapshot.retryAt
        }
    }

    /// The servers available now: up, or with their rest over. Reads the clock only when some server rests.
    func availableMask(now: () -> ContinuousClock.Instant) -> UInt64 {
        refresh()
        guard restingMask != 0 else { return upMask }
        let now = now()
        var available = upMask
        var resting = restingMask
        while resting != 0 {
            let index = resting.trailingZeroBitCount
            resting &= resting - 1
            if let retryAt = retryAt[index], now >= retryAt { available |= 1 << UInt64(index) }
        }
        return available
    }

    /// The best server in `candidates` (a non-empty mask) by rendezvous score.
    func rendezvousChoice(key: UInt64, among candidates: UInt64) -> Int {
        var remaining = candidates
        var best = remaining.trailingZeroBitCount
        remaining &= remaining - 1
        var bestHash = Rendezvous.pairHash(key: key, server: table.nameHashes[best])
        if table.uniformWeights {
            while remaining != 0 {
                let index = remaining.trailingZeroBitCount
                remaining &= remaining - 1
                let hash = Rendezvous.pairHash(key: key, server: table.nameHashes[index])
                if hash > bestHash || (hash == bestHash && table.nameHashes[index] > table.nameHashes[best]) {
                    best = index
                    bestHash = hash
                }
            }
            return best
        }
        var bestScore = Rendezvous.weightedScore(pairHash: bestHash, weight: table.doubleWeights[best])
        while remaining != 0 {
            let index = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            let hash = Rendezvous.pairHash(key: key, server: table.nameHashes[index])
            let score = Rendezvous.weightedScore(pairHash: hash, weight: table.doubleWeights[index])
            if score > bestScore
                || (score == bestScore && (hash > bestHash || (hash == bestHash && table.nameHashes[index] > table.nameHashes[best])))
            {
                best = index
                bestHash = hash
                bestScore = score
            }
        }
        return best
    }

    /// The server in `candidates` with the fewest of this view's sessions per unit of weight; ties go round.
    func leastSessionsChoice(among candidates: UInt64) -> Int {
        var best = -1
        var bestSessions = 0
        forEachIndex(in: candidates) { index in
            let sessions = counters.value(index)
            // sessions/weight < bestSessions/bestWeight, without division.
            if best < 0 || sessions * table.weights[best] < bestSessions * table.weights[index] {
                best = index
                bestSessions = sessions
            }
        }
        rotation = (best + 1) % table.count
        return best
    }

    /// Smooth weighted round robin over `candidates`: every candidate gains its weight, the largest total is chosen
    /// and gives back the sum of the weights. Over a cycle each server is chosen `weight` times, interleaved.
    func roundRobinChoice(among candidates: UInt64) -> Int {
        // Moved out and back (no copy: the view's reference is dropped meanwhile), so that the loop works on a local
        // and pays no exclusivity check per server.
        var running = roundRobinWeights
        roundRobinWeights = []
        var best = -1
        var total = 0
        forEachIndex(in: candidates) { index in
            running[index] += table.weights[index]
            total += table.weights[index]
            if best < 0 || running[index] > running[best] { best = index }
        }
        running[best] -= total
        roundRobinWeights = running
        return best
    }

    /// Calls `body` for each server in `mask`, starting at `rotation` and wrapping around.
    @inline(__always)
    private func forEachIndex(in mask: UInt64, _ body: (Int) -> Void) {
        let split = UInt64(rotation)
        let high = split >= 64 ? 0 : mask & ~((1 << split) - 1)
        var remaining = high
        while remaining != 0 {
            body(remaining.trailingZeroBitCount)
            remaining &= remaining - 1
        }
        remaining = mask & ~high
        while remaining != 0 {
            body(remaining.trailingZeroBitCount)
            remaining &= remaining - 1
        }
    }
}
