/// The servers to dial for one new session, best first: call `next()` for the first, and again after each failed dial
/// (report it with `UpstreamPoolView.dialFailed` first, so the next choice already avoids the server).
///
/// Each `next()` chooses among the servers not yet tried, from the health as it is at that moment:
/// - first the servers that are available (up, or with their rest after a failed dial over), by the balancing rule;
///   for `client_id` that is the id's rendezvous ranking, so a session whose first choice is down goes to its second;
/// - when none of those is left, the rest (down servers) in the same order: refusing a client is worse than trying a
///   server that failed a moment ago, and it keeps working while health checks are wrong (e.g. the probe's
///   credentials are refused while clients' are not);
/// - nil when every server has been tried: the client gets CONNACK "server unavailable".
///
/// A value type bound to its view's event loop; choosing allocates nothing.
public struct UpstreamDialPlan {
    enum Rule {
        case rendezvous(key: UInt64)
        case leastSessions
        case roundRobin
    }

    private let view: UpstreamPoolView
    private let rule: Rule
    private var tried: UInt64 = 0
    /// How many servers `next()` has handed out.
    package private(set) var attempts = 0

    init(view: UpstreamPoolView, rule: Rule) {
        self.view = view
        self.rule = rule
    }

    /// The next server to dial, or nil when all have been tried.
    public mutating func next() -> PooledServer? {
        next { .now }
    }

    /// `next()` at a given time (tests); `now` is called only when some server is resting.
    package mutating func next(now: () -> ContinuousClock.Instant) -> PooledServer? {
        let untried = view.table.allMask & ~tried
        guard untried != 0 else { return nil }
        let available = view.availableMask(now: now) & untried
        let candidates = available != 0 ? available : untried
        let index: Int
        switch rule {
        case .rendezvous(let key): index = view.rendezvousChoice(key: key, among: candidates)
        case .leastSessions: index = view.leastSessionsChoice(among: candidates)
        case .roundRobin: index = view.roundRobinChoice(among: candidates)
        }
        tried |= 1 << UInt64(index)
        attempts += 1
        return view.table.servers[index]
    }
}
