import ClientAddress
import Dispatch
import NIOConcurrencyHelpers
import SessionRegistry
import Testing

@Suite("Session registry: filters, paging, lifecycle")
struct SessionRegistryTests {
    /// A control that counts how often it was asked, so tests can see what the registry itself never does.
    final class FakeSession: Sendable {
        let closes = NIOLockedValueBox<[String]>([])
        var control: SessionControl {
            SessionControl(
                counters: { SessionCounters(bytesFromClient: 1, bytesToClient: 2, packetsFromClient: 3, packetsToClient: 4) },
                close: { reason in
                    self.closes.withLockedValue { $0.append(reason) }; return true
                })
        }
    }

    private func record(
        _ registry: SessionRegistry, client: String, user: String? = nil, sub: String? = nil, address: String = "203.0.113.7:5000",
        route: String = "mini", broker: String? = "mq-a:1883"
    ) -> SessionRecord {
        SessionRecord(
            id: registry.makeID(), clientID: client, username: user, subject: sub, clientAddress: address, listener: "wss",
            route: route, subprotocol: "mqtt", mqttVersion: "5.0", broker: broker)
    }

    /// Six sessions with different fields, registered in order (ids 1…6).
    private func populated() -> SessionRegistry {
        let registry = SessionRegistry()
        let fake = FakeSession()
        for record in [
            record(registry, client: "a", user: "alice", sub: "u-1", address: "203.0.113.7:5000"),
            record(registry, client: "b", user: "bob", address: "[2001:db8::1]:443", route: "browser"),
            record(registry, client: "a", user: "alice", address: "10.1.2.3", broker: "mq-b:1883"),
            record(registry, client: "c", address: "10.9.9.9:1", broker: nil),
            record(registry, client: "d", user: "dave", address: "::ffff:10.1.0.1"),
            record(registry, client: "e", address: "unknown"),
        ] {
            registry.register(record, control: fake.control)
        }
        return registry
    }

    private func ids(_ page: SessionRegistry.Page) -> [UInt64] { page.entries.map(\.record.id) }

    @Test("each filter matches exactly; given together, all must match")
    func filters() throws {
        let registry = populated()
        #expect(ids(registry.list(SessionFilter(), limit: 100)) == [1, 2, 3, 4, 5, 6])
        #expect(ids(registry.list(SessionFilter(clientID: "a"), limit: 100)) == [1, 3])
        #expect(ids(registry.list(SessionFilter(username: "alice"), limit: 100)) == [1, 3])
        #expect(ids(registry.list(SessionFilter(subject: "u-1"), limit: 100)) == [1])
        #expect(ids(registry.list(SessionFilter(route: "browser"), limit: 100)) == [2])
        #expect(ids(registry.list(SessionFilter(broker: "mq-b:1883"), limit: 100)) == [3])
        #expect(ids(registry.list(SessionFilter(clientID: "a", broker: "mq-a:1883"), limit: 100)) == [1])
        #expect(ids(registry.list(SessionFilter(clientID: "zzz"), limit: 100)) == [])
        // Addresses: one address, a CIDR block (IPv4-mapped clients included), IPv6; ports and brackets ignored.
        #expect(ids(registry.list(SessionFilter(address: try IPAddressRange("203.0.113.7")), limit: 100)) == [1])
        #expect(ids(registry.list(SessionFilter(address: try IPAddressRange("10.0.0.0/8")), limit: 100)) == [3, 4, 5])
        #expect(ids(registry.list(SessionFilter(address: try IPAddressRange("10.1.0.0/16")), limit: 100)) == [3, 5])
        #expect(ids(registry.list(SessionFilter(address: try IPAddressRange("2001:db8::/32")), limit: 100)) == [2])
    }

    @Test("paging: limit per page, the cursor continues after the last id; the last page has no cursor")
    func paging() {
        let registry = populated()
        let first = registry.list(SessionFilter(), limit: 4)
        #expect(ids(first) == [1, 2, 3, 4] && first.nextCursor == 4)
        let second = registry.list(SessionFilter(), after: first.nextCursor, limit: 4)
        #expect(ids(second) == [5, 6] && second.nextCursor == nil)
        // Exactly a page full: no cursor, since nothing follows.
        #expect(registry.list(SessionFilter(), limit: 6).nextCursor == nil)
        // With a filter, the cursor skips what did not match.
        let filtered = registry.list(SessionFilter(address: try? IPAddressRange("10.0.0.0/8")), limit: 1)
        #expect(ids(filtered) == [3] && filtered.nextCursor == 3)
        #expect(ids(registry.list(SessionFilter(address: try? IPAddressRange("10.0.0.0/8")), after: 3, limit: 1)) == [4])
        // A session that left between pages is simply not there; one that arrived appears on a later page.
        registry.unregister(5)
        let fresh = record(registry, client: "f")
        registry.register(fresh, control: FakeSession().control)
        #expect(ids(registry.list(SessionFilter(), after: 4, limit: 10)) == [6, 7])
    }

    @Test("sessions leave when unregistered; the broker is set once chosen; open counts by route and broker")
    func lifecycle() async {
        let registry = SessionRegistry()
        let fake = FakeSession()
        let pending = record(registry, client: "x", broker: nil)
        registry.register(pending, control: fake.control)
        #expect(registry.openCounts().byBroker == ["-": 1])
        registry.setBroker("mq-a:1883", for: pending.id)
        #expect(registry.entry(pending.id)?.record.broker == "mq-a:1883")
        #expect(registry.openCounts().byBroker == ["mq-a:1883": 1] && registry.openCounts().byRoute == ["mini": 1])
        #expect(await registry.entry(pending.id)?.control.close("bye") == true)
        #expect(fake.closes.withLockedValue { $0 } == ["bye"])
        registry.unregister(pending.id)
        #expect(registry.entry(pending.id) == nil && registry.count == 0)
        registry.setBroker("late", for: pending.id)  // a session that already left: nothing comes back
        #expect(registry.count == 0)
    }

    @Test(
        "client addresses as the access log writes them are parsed for the address filter",
        arguments: [
            ("203.0.113.7:51234", "203.0.113.7"), ("[2001:db8::1]:443", "2001:db8::1"), ("10.0.0.1", "10.0.0.1"),
            ("2001:db8::2", "2001:db8::2"), ("unknown", nil),
        ])
    func addresses(display: String, ip: String?) {
        let record = SessionRecord(
            id: 1, clientID: "c", username: nil, clientAddress: display, listener: "l", route: "r", subprotocol: nil, mqttVersion: "5.0")
        #expect(record.clientIP == ip.flatMap { IPAddress($0) })
    }

    /// Event loops register, update and remove sessions at the same moment while the admin API lists them: under
    /// `Scripts/test --sanitize thread` this is the contended path of the registry's lock (a lock ThreadSanitizer cannot
    /// see would be reported here as a race on the table).
    @Test("sessions registered, updated, listed and removed from eight threads at once: nothing lost or left over")
    func concurrentLifecycle() {
        let registry = SessionRegistry()
        let fake = FakeSession()
        let listed = NIOLockedValueBox(0)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for round in 0..<200 {
                let record = record(registry, client: "t\(thread)-\(round)", broker: nil)
                registry.register(record, control: fake.control)
                registry.setBroker("mq-\(thread):1883", for: record.id)
                let page = registry.list(SessionFilter(broker: "mq-\(thread):1883"), limit: 1_000)
                listed.withLockedValue { $0 += page.entries.contains { $0.record.id == record.id } ? 1 : 0 }
                registry.unregister(record.id)
            }
        }
        #expect(listed.withLockedValue { $0 } == 8 * 200, "each session was listed under its broker while it was open")
        #expect(registry.count == 0)
        #expect(registry.list(SessionFilter(), limit: 10).entries.isEmpty)
    }
}
