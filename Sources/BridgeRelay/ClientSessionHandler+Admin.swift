import MQTTWire
import NIOCore
import SessionRegistry

// MARK: Admin API (called by SessionRegistration on the session's event loop)

extension ClientSessionHandler {
    /// Enters the registry (if the bridge keeps one) once the CONNECT is known.
    func register(_ connect: MQTTConnectInfo) {
        guard let registry = self.registry, let context = self.context, self.machine.ending == nil else { return }
        self.registration = .register(self, in: registry, descriptor: self.descriptor, connect: connect, eventLoop: context.eventLoop)
    }

    /// Traffic so far, including the read burst in progress.
    func adminCounters() -> SessionCounters {
        SessionCounters(
            bytesFromClient: self.totalBytesFromClient + self.burstBytesFromClient,
            bytesToClient: self.totalBytesToClient + self.burstBytesToClient,
            packetsFromClient: (self.registration?.packetsFromClient ?? 0) + self.clientCounts.sum,
            packetsToClient: (self.registration?.packetsToClient ?? 0) + self.brokerCounts.sum)
    }

    /// An operator closes the session: MQTT 5 clients that are relaying first get DISCONNECT 0x98 "Administrative
    /// action", then every client gets close 1008 with `reason`. False when the session was already ending.
    func closeByAdmin(_ reason: String) -> Bool {
        guard let context = self.context else { return false }
        let relaying = self.machine.state == .relaying
        let action = self.machine.closedByAdmin(reason)
        guard action != .none else { return false }
        if relaying, self.machine.connect?.version == .v5 {
            self.write(.administrativeAction, context: context)
        }
        self.perform(action)
        return true
    }
}
