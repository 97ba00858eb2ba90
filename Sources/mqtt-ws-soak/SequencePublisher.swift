import MQTTWire
import NIOCore

/// Publishes messages 0..<count (the number in the payload's first 8 bytes) at QoS 2 on a persistent session, at a
/// steady rate, with at most `window` in flight. On every reconnect it resends what is unfinished, in order: PUBLISH
/// with DUP for messages without PUBREC, PUBREL for those without PUBCOMP (MQTT 3.1.1 §4.4). So the broker receives
/// each message exactly once, and whatever a subscriber misses or gets twice happened after the broker.
final class SequencePublisher: @unchecked Sendable {
    let session: SoakSession
    let count: Int
    private let topic: String
    private let rate: Double
    private let window: Int
    private let payloadSize: Int

    private enum Stage {
        case awaitingReceived
        case awaitingComplete
    }

    private struct Unfinished {
        var sequence: UInt64
        var stage: Stage
    }

    private var unfinished: [UInt16: Unfinished] = [:]
    private var nextSequence: UInt64 = 0
    private var lastPacketID: UInt16 = 0
    private var startedAt: NIODeadline?
    private var ticker: RepeatedTask?
    private(set) var completed = 0
    private(set) var resent = 0
    /// CONNACKs without a session while messages were unfinished: those messages may be lost at the broker.
    private(set) var sessionsLost = 0

    /// Sequence numbers handed to the broker so far (the fault schedule follows this).
    var published: Int { Int(self.nextSequence) }
    var isDone: Bool { self.published == self.count && self.unfinished.isEmpty }

    init(topic: String, count: Int, rate: Double, window: Int, payloadSize: Int, session: SoakSession) {
        self.topic = topic
        self.count = count
        self.rate = rate
        self.window = window
        self.payloadSize = max(8, payloadSize)
        self.session = session
        session.onConnected = { [unowned self] sessionPresent in self.connected(sessionPresent: sessionPresent) }
        session.onPacket = { [unowned self] header, packet in self.received(header, packet) }
    }

    /// Starts the steady stream (the session must have been started).
    func startPublishing() {
        self.startedAt = .now()
        self.ticker = self.session.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { [self] _ in
            self.publishDue()
        }
    }

    func stopPublishing() {
        self.ticker?.cancel()
    }

    private func connected(sessionPresent: Bool) {
        if !sessionPresent && !self.unfinished.isEmpty {
            self.sessionsLost += 1
        }
        let inOrder = self.unfinished.sorted { $0.value.sequence < $1.value.sequence }
        for (packetID, message) in inOrder {
            self.resent += 1
            switch message.stage {
            case .awaitingReceived:
                self.writePublish(sequence: message.sequence, packetID: packetID, dup: true)
            case .awaitingComplete:
                self.session.write { MQTTPacket.writePubrel(packetID: packetID, to: &$0) }
            }
        }
        self.session.flush()
    }

    /// Publishes what the schedule says is due by now (catching up after an outage), within the window.
    private func publishDue() {
        guard let startedAt = self.startedAt, self.session.isConnected else { return }
        let elapsed = Double((NIODeadline.now() - startedAt).nanoseconds) / 1e9
        let due = min(UInt64(self.count), UInt64(elapsed * self.rate) + 1)
        var wrote = false
        while self.nextSequence < due && self.unfinished.count < self.window {
            let packetID = self.nextPacketID()
            self.unfinished[packetID] = Unfinished(sequence: self.nextSequence, stage: .awaitingReceived)
            self.writePublish(sequence: self.nextSequence, packetID: packetID, dup: false)
            self.nextSequence += 1
            wrote = true
        }
        if wrote {
            self.session.flush()
        }
    }

    private func received(_ header: MQTTFixedHeader, _ packet: ByteBuffer) {
        guard let acknowledgement = try? MQTTPacket.Acknowledgement(parsing: packet, version: .v3_1_1) else { return }
        let packetID = acknowledgement.packetID
        switch acknowledgement.type {
        case .pubrec:
            // Also answers a PUBREC repeated for a message already released.
            if self.unfinished[packetID] != nil {
                self.unfinished[packetID]?.stage = .awaitingComplete
                self.session.write { MQTTPacket.writePubrel(packetID: packetID, to: &$0) }
            }
        case .pubcomp:
            if self.unfinished.removeValue(forKey: packetID) != nil {
                self.completed += 1
            }
        default:
            break
        }
    }

    private func writePublish(sequence: UInt64, packetID: UInt16, dup: Bool) {
        var payload = ByteBuffer()
        payload.writeInteger(sequence)
        payload.writeRepeatingByte(0x2E, count: self.payloadSize - 8)
        self.session.write {
            MQTTPacket.writePublish(
                topic: self.topic, payload: payload, qos: 2, dup: dup, packetID: packetID, version: .v3_1_1, to: &$0)
        }
    }

    /// The next identifier not in use (1...65535, wrapping); the window is far smaller than the space.
    private func nextPacketID() -> UInt16 {
        repeat {
            self.lastPacketID = self.lastPacketID == UInt16.max ? 1 : self.lastPacketID + 1
        } while self.unfinished[self.lastPacketID] != nil
        return self.lastPacketID
    }
}
