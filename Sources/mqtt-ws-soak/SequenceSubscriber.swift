import MQTTWire
import NIOCore

/// A persistent-session subscriber that records every numbered message it is handed, acknowledging as a correct
/// QoS 1 or QoS 2 receiver does. For QoS 2 it keeps the identifiers it has sent PUBREC for (and not yet seen PUBREL)
/// across reconnects: a resent PUBLISH with such an identifier is the same message and is not delivered again
/// (MQTT 3.1.1 §4.3.3, method B). So any duplicate it counts at QoS 2 is a real exactly-once violation upstream.
final class SequenceSubscriber: @unchecked Sendable {
    let qos: UInt8
    let session: SoakSession
    private let topic: String
    private(set) var ledger: DeliveryLedger
    /// CONNACKs without a session after the first subscription: the broker forgot us (and what it queued for us).
    private(set) var sessionsLost = 0
    private(set) var isSubscribed = false
    private var awaitingRelease: Set<UInt16> = []
    private var subscribedOnce = false

    init(qos: UInt8, topic: String, count: Int, session: SoakSession) {
        self.qos = qos
        self.topic = topic
        self.session = session
        self.ledger = DeliveryLedger(count: count)
        session.onConnected = { [unowned self] sessionPresent in self.connected(sessionPresent: sessionPresent) }
        session.onPacket = { [unowned self] header, packet in self.received(header, packet) }
    }

    private func connected(sessionPresent: Bool) {
        guard !sessionPresent || !self.subscribedOnce else { return }
        if self.subscribedOnce {
            self.sessionsLost += 1
        }
        self.awaitingRelease.removeAll()
        self.session.write {
            MQTTPacket.writeSubscribe(packetID: 1, filters: [(self.topic, self.qos)], version: .v3_1_1, to: &$0)
        }
        self.session.flush()
    }

    private func received(_ header: MQTTFixedHeader, _ packet: ByteBuffer) {
        switch header.type {
        case .publish:
            guard let publish = try? MQTTPacket.Publish(parsing: packet, version: .v3_1_1) else {
                self.ledger.record(sequence: nil)
                return
            }
            let sequence = publish.payload.getInteger(at: publish.payload.readerIndex, as: UInt64.self)
            switch (publish.qos, publish.packetID) {
            case (2, let packetID?):
                if self.awaitingRelease.insert(packetID).inserted {
                    self.ledger.record(sequence: sequence)
                }
                self.session.write { MQTTPacket.writePubrec(packetID: packetID, to: &$0) }
            case (1, let packetID?):
                self.ledger.record(sequence: sequence)
                self.session.write { MQTTPacket.writePuback(packetID: packetID, to: &$0) }
            default:
                self.ledger.record(sequence: sequence)
            }
        case .pubrel:
            if let release = try? MQTTPacket.Acknowledgement(parsing: packet, version: .v3_1_1) {
                self.awaitingRelease.remove(release.packetID)
                self.session.write { MQTTPacket.writePubcomp(packetID: release.packetID, to: &$0) }
            }
        case .suback:
            if let suback = try? MQTTPacket.Suback(parsing: packet, version: .v3_1_1), suback.returnCodes.first ?? 0x80 < 0x80 {
                self.isSubscribed = true
                self.subscribedOnce = true
            } else {
                self.session.cut()
            }
        default:
            break
        }
    }
}
