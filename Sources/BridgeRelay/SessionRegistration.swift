import MQTTWire
import NIOCore
import SessionRegistry

/// A session's place in the `SessionRegistry`, from its CONNECT until its connection closes.
///
/// The registry holds a `SessionControl` whose calls hop to the session's event loop: the admin API reads the
/// session's counters and closes it there, so the relay never shares mutable state with another thread.
struct SessionRegistration {
    let registry: SessionRegistry
    let id: UInt64
    /// MQTT packets relayed each way, added once per read burst (only sessions in a registry count them).
    var packetsFromClient = 0
    var packetsToClient = 0

    /// Registers `session` with what it knows at CONNECT.
    static func register(
        _ session: ClientSessionHandler, in registry: SessionRegistry, descriptor: SessionDescriptor, connect: MQTTConnectInfo,
        eventLoop: any EventLoop
    ) -> SessionRegistration {
        let id = registry.makeID()
        let record = SessionRecord(
            id: id, clientID: connect.clientID, username: connect.username, clientAddress: descriptor.clientAddress,
            listener: descriptor.listener, route: descriptor.route, subprotocol: descriptor.subprotocol,
            mqttVersion: connect.version?.description ?? "level \(connect.protocolLevelByte)")
        // Held until `end()`, which the session calls when its connection closes. Both calls capture the one reference.
        let access = AdminAccess(session: NIOLoopBound(session, eventLoop: eventLoop))
        let control = SessionControl(counters: { await access.counters() }, close: { await access.close($0) })
        registry.register(record, control: control)
        return SessionRegistration(registry: registry, id: id)
    }

    func brokerChosen(_ server: UpstreamServer) {
        registry.setBroker(server.description, for: id)
    }

    func end() {
        registry.unregister(id)
    }
}

/// The session as the admin API reaches it: every call hops to its event loop. One object shared by both of the
/// registry's closures, which then need no context of their own (two contexts holding the event loop and the session
/// were 112 bytes per idle session, this is 40; docs/PERFORMANCE.md "RSS per idle session").
private final class AdminAccess: Sendable {
    private let session: NIOLoopBound<ClientSessionHandler>

    init(session: NIOLoopBound<ClientSessionHandler>) {
        self.session = session
    }

    func counters() async -> SessionCounters? {
        try? await self.session.eventLoop.submit { self.session.value.adminCounters() }.get()
    }

    func close(_ reason: String) async -> Bool {
        (try? await self.session.eventLoop.submit { self.session.value.closeByAdmin(reason) }.get()) ?? false
    }
}
