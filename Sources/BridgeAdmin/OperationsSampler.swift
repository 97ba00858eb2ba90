import NIOConcurrencyHelpers
import SessionRegistry

/// What the operations page shows, sampled at most once per `minimumInterval` however many viewers ask: open
/// sessions per route and broker, handshakes per second by result, messages and bytes per second each way, the
/// broker's health as `/readyz` sees it, and the last refused handshakes.
final class OperationsSampler: Sendable {
    private struct State {
        var totals = PrometheusTotals()
        var at: ContinuousClock.Instant?
        var event: [UInt8] = []
    }

    private let sessions: SessionRegistry
    private let export: MetricsExport
    private let refusals: RefusalLog?
    private let readiness: @Sendable () -> JSONWriter
    private let minimumInterval: Duration
    private let state = NIOLockedValueBox(State())

    init(
        sessions: SessionRegistry, export: MetricsExport, refusals: RefusalLog?, minimumInterval: Duration,
        readiness: @escaping @Sendable () -> JSONWriter
    ) {
        self.sessions = sessions
        self.export = export
        self.refusals = refusals
        self.minimumInterval = minimumInterval
        self.readiness = readiness
    }

    /// The current sample as one line of JSON (an event's `data`); a fresh one when the last is older than
    /// `minimumInterval`.
    func current(now: ContinuousClock.Instant = .now) -> [UInt8] {
        state.withLockedValue { state in
            if let at = state.at, now - at < minimumInterval { return state.event }
            let totals = PrometheusTotals(exposition: export.render())
            let seconds = state.at.map { (now - $0).seconds } ?? 0
            state.event = json(totals, previous: state.totals, seconds: seconds, now: now).closed
            state.totals = totals
            state.at = now
            return state.event
        }
    }

    private func json(_ totals: PrometheusTotals, previous: PrometheusTotals, seconds: Double, now: ContinuousClock.Instant) -> JSONWriter {
        let open = sessions.openCounts()
        var json = JSONWriter.object()
        var sessionsJSON = JSONWriter.object()
        sessionsJSON.field("open", open.byRoute.values.reduce(0, +))
        sessionsJSON.field("by_route", object: Self.object(open.byRoute.mapValues(Double.init), integers: true))
        sessionsJSON.field("by_broker", object: Self.object(open.byBroker.mapValues(Double.init), integers: true))
        json.field("sessions", object: sessionsJSON)
        json.field(
            "handshakes_per_second",
            object: Self.object(PrometheusTotals.rates(totals.handshakes, since: previous.handshakes, over: seconds)))
        json.field(
            "messages_per_second", object: Self.directions(PrometheusTotals.rates(totals.messages, since: previous.messages, over: seconds))
        )
        json.field("bytes_per_second", object: Self.directions(PrometheusTotals.rates(totals.bytes, since: previous.bytes, over: seconds)))
        json.field("messages_total", object: Self.directions(totals.messages, integers: true))
        json.field("upstream", object: readiness())
        let recent = (refusals?.recent() ?? []).map { refusal in
            var entry = JSONWriter.object()
            entry.field("seconds_ago", (now - refusal.at).seconds)
            entry.field("route", refusal.route)
            entry.field("result", refusal.result)
            return entry
        }
        json.field("refusals", objects: recent)
        return json
    }

    /// `{"in": …, "out": …}` from the relay's direction labels (in: client → broker).
    private static func directions(_ values: [String: Double], integers: Bool = false) -> JSONWriter {
        var json = JSONWriter.object()
        for (name, label) in [("in", "client_to_broker"), ("out", "broker_to_client")] {
            let value = values[label] ?? 0
            if integers { json.field(name, Int(value)) } else { json.field(name, value) }
        }
        return json
    }

    /// Keys in sorted order, so consecutive events read the same way.
    private static func object(_ values: [String: Double], integers: Bool = false) -> JSONWriter {
        var json = JSONWriter.object()
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            if integers { json.field(key, Int(value)) } else { json.field(key, value) }
        }
        return json
    }
}
