import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SessionRegistry

/// `/api/v1/sessions`: who is connected, and closing sessions.
///
/// | request | answer |
/// |---|---|
/// | `GET /api/v1/sessions?client_id=&username=&sub=&address=&route=&broker=&limit=&cursor=` | one page, in id order |
/// | `GET /api/v1/sessions/{id}` | one session; 404 when it is not open |
/// | `DELETE /api/v1/sessions/{id}` | closes it (MQTT 5: DISCONNECT 0x98 first; close 1008); 404 when not open |
/// | `DELETE /api/v1/sessions?client_id=…` | closes every session with that client id; 404 when there is none |
///
/// Records come from the registry; the counters are read from each session on its own event loop, in parallel.
struct SessionsAPI: Sendable {
    static let path = "/api/v1/sessions"

    let registry: SessionRegistry
    let access: AdminAccess
    let logger: Logger

    var routes: [AdminRoute] {
        [
            AdminRoute(
                path: Self.path, matchesSubpaths: true, methods: [.GET, .DELETE],
                admission: { [access] head in access.refusal(head, scope: .admin) },
                bodyLimit: AdminEndpoints.otherBodyLimit,
                tooLarge: { .error(.payloadTooLarge, "request bodies are not used here") },
                respond: { head, _ in await respond(head) })
        ]
    }

    func respond(_ head: HTTPRequestHead) async -> AdminResponse {
        let query: SessionQuery
        do {
            query = try SessionQuery(uri: head.uri)
        } catch {
            return .error(.badRequest, error.message, field: error.field)
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let rest = path.dropFirst(Self.path.count).drop { $0 == "/" }
        if rest.isEmpty {
            return head.method == .DELETE ? await closeMatching(query) : await list(query)
        }
        guard let id = UInt64(rest) else {
            return .error(.notFound, "no such endpoint: \(path) (a session is /api/v1/sessions/{id}, with the id from the list)")
        }
        guard let entry = registry.entry(id) else {
            return .error(.notFound, "no open session with id \(id)")
        }
        if head.method == .DELETE {
            let closed = await close([entry], reason: query.reason)
            guard !closed.isEmpty else { return .error(.notFound, "no open session with id \(id)") }
            var json = JSONWriter.object()
            json.field("closed", objects: closed)
            return .json(.ok, json)
        }
        guard let described = await describe([entry]).first else {
            return .error(.notFound, "no open session with id \(id)")
        }
        return .json(.ok, described)
    }

    private func list(_ query: SessionQuery) async -> AdminResponse {
        let page = registry.list(query.filter, after: query.cursor, limit: query.limit)
        var json = JSONWriter.object()
        json.field("sessions", objects: await describe(page.entries))
        json.field("next_cursor", page.nextCursor.map(String.init))
        return .json(.ok, json)
    }

    private func closeMatching(_ query: SessionQuery) async -> AdminResponse {
        guard let clientID = query.filter.clientID else {
            return .error(
                .badRequest, "closing sessions needs client_id (DELETE /api/v1/sessions?client_id=…), or use DELETE /api/v1/sessions/{id}",
                field: "client_id")
        }
        let closed = await close(registry.all(query.filter), reason: query.reason)
        guard !closed.isEmpty else {
            return .error(.notFound, "no open session with client_id \(clientID)")
        }
        var json = JSONWriter.object()
        json.field("closed", objects: closed)
        return .json(.ok, json)
    }

    /// Closes each session (as it was just before), returning the ones that were still open.
    private func close(_ entries: [SessionRegistry.Entry], reason: String) async -> [JSONWriter] {
        var closed: [JSONWriter] = []
        for entry in entries {
            let counters = await entry.control.counters()
            guard let counters, await entry.control.close(reason) else { continue }
            logger.notice(
                "session closed by admin",
                metadata: [
                    "session": "\(entry.record.id)", "client_id": "\(entry.record.clientID)", "reason": "\(reason)",
                ])
            closed.append(Self.json(entry.record, counters))
        }
        return closed
    }

    /// Each entry with its counters, in the order given; sessions that ended meanwhile are left out.
    private func describe(_ entries: [SessionRegistry.Entry]) async -> [JSONWriter] {
        let counters = await withTaskGroup(of: (Int, SessionCounters?).self) { group in
            for (index, entry) in entries.enumerated() {
                group.addTask { (index, await entry.control.counters()) }
            }
            var counters = [SessionCounters?](repeating: nil, count: entries.count)
            for await (index, value) in group { counters[index] = value }
            return counters
        }
        return zip(entries, counters).compactMap { entry, counters in counters.map { Self.json(entry.record, $0) } }
    }

    static func json(_ record: SessionRecord, _ counters: SessionCounters, now: ContinuousClock.Instant = .now) -> JSONWriter {
        let age = now - record.connectedAt
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        var json = JSONWriter.object()
        json.field("id", String(record.id))
        json.field("client_id", record.clientID)
        json.field("username", record.username)
        json.field("sub", record.subject)
        json.field("client_address", record.clientAddress)
        json.field("listener", record.listener)
        json.field("route", record.route)
        json.field("subprotocol", record.subprotocol)
        json.field("mqtt_version", record.mqttVersion)
        json.field("broker", record.broker)
        json.field("connected_since", Date(timeIntervalSinceNow: -seconds).formatted(.iso8601))
        json.field("connected_seconds", Int(seconds))
        json.field("bytes_in", counters.bytesFromClient)
        json.field("bytes_out", counters.bytesToClient)
        json.field("packets_in", counters.packetsFromClient)
        json.field("packets_out", counters.packetsToClient)
        return json
    }
}
