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
        // Held until `end()`, which the session calls when its connection closes.
        let bound = NIOLoopBound(session, eventLoop: eventLoop)
        let control = SessionControl(
            counters: { try? await eventLoop.submit { bound.value.adminCounters() }.get() },
            close: { reason in (try? await eventLoop.submit { bound.value.closeByAdmin(reason) }.get()) ?? false })
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
