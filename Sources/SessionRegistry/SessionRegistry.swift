import NIOConcurrencyHelpers
import Synchronization

/// The open sessions, for the admin API: who is connected, and a way to reach each one.
///
/// Sessions come in once, when their CONNECT has been read, and leave when their connection closes; in between the
/// registry is touched once more, when the broker is chosen. Nothing here runs per message: traffic counters stay in
/// each session and are read on the session's own event loop through its `SessionControl`, only when asked.
///
/// One lock guards the table. Listing walks it under the lock (a comparison or two per session, no copies of the
/// unmatched ones), so a listing of 100,000 sessions holds registrations back for about a millisecond.
package final class SessionRegistry: Sendable {
    /// One open session. A class, so the table's slots are one reference each: a dictionary has up to twice the slots
    /// it has entries, and an inline record (~240 bytes) in every slot cost ≈ 200 bytes per session more (475 → 273 B
    /// at 1,000 sessions; docs/PERFORMANCE.md "RSS per idle session").
    package final class Entry: Sendable {
        package let record: SessionRecord
        package let control: SessionControl

        init(record: SessionRecord, control: SessionControl) {
            self.record = record
            self.control = control
        }
    }

    /// One page of a listing, in id order.
    package struct Page: Sendable {
        package var entries: [Entry]
        /// The id to pass as `after` for the next page; nil on the last page.
        package var nextCursor: UInt64?
    }

    private let table = NIOLockedValueBox<[UInt64: Entry]>([:])
    private let lastID = Synchronization.Atomic<UInt64>(0)

    package init() {}

    /// A fresh id for a session about to register (ids are never reused while the process runs).
    package func makeID() -> UInt64 {
        lastID.add(1, ordering: .relaxed).newValue
    }

    package func register(_ record: SessionRecord, control: SessionControl) {
        table.withLockedValue { $0[record.id] = Entry(record: record, control: control) }
    }

    /// The broker the session was connected to, once the dial succeeded.
    package func setBroker(_ broker: String, for id: UInt64) {
        table.withLockedValue { table in
            guard let entry = table[id] else { return }
            var record = entry.record
            record.broker = broker
            table[id] = Entry(record: record, control: entry.control)
        }
    }

    package func unregister(_ id: UInt64) {
        _ = table.withLockedValue { $0.removeValue(forKey: id) }
    }

    package var count: Int {
        table.withLockedValue { $0.count }
    }

    package func entry(_ id: UInt64) -> Entry? {
        table.withLockedValue { $0[id] }
    }

    /// The sessions `filter` matches with ids above `after`, at most `limit` of them, in id order.
    package func list(_ filter: SessionFilter, after: UInt64? = nil, limit: Int) -> Page {
        let after = after ?? 0
        var matches = table.withLockedValue { table in
            table.values.filter { $0.record.id > after && filter.matches($0.record) }
        }
        matches.sort { $0.record.id < $1.record.id }
        guard matches.count > limit else { return Page(entries: matches, nextCursor: nil) }
        let page = Array(matches.prefix(max(limit, 0)))
        return Page(entries: page, nextCursor: page.last?.record.id ?? after)
    }

    /// Every open session `filter` matches (for closing by client id), in id order.
    package func all(_ filter: SessionFilter) -> [Entry] {
        list(filter, limit: Int.max).entries
    }

    /// Open sessions by route and by broker (sessions still dialling count under `"-"`).
    package func openCounts() -> (byRoute: [String: Int], byBroker: [String: Int]) {
        table.withLockedValue { table in
            var byRoute: [String: Int] = [:]
            var byBroker: [String: Int] = [:]
            for entry in table.values {
                byRoute[entry.record.route, default: 0] += 1
                byBroker[entry.record.broker ?? "-", default: 0] += 1
            }
            return (byRoute, byBroker)
        }
    }
}
