import Synchronization

/// Messages published but not yet delivered, over all event loops: with `--max-outstanding`, publishers pause
/// while it is above the limit.
///
/// Unlimited publishers push faster than a broker fans out; the broker then queues and drops, and the CPU spent on
/// messages that are dropped is taken from the broker and the proxy on a shared machine. A bounded window measures
/// the sustainable throughput instead: delivered ≈ published, no loss. Each published message counts once per
/// subscriber of its topic (computed from the configuration); each delivery takes one off.
final class OutstandingWindow: Sendable {
    let limit: Int
    private let outstanding = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// How many more deliveries may be put in flight now (0 when the window is full).
    var room: Int {
        max(0, self.limit - self.outstanding.load(ordering: .relaxed))
    }

    func published(deliveries: Int) {
        self.outstanding.add(deliveries, ordering: .relaxed)
    }

    func delivered(_ count: Int) {
        self.outstanding.subtract(count, ordering: .relaxed)
    }
}
