import MQTTWire
import NIOCore
import WebSocketTransport

extension ClientSessionHandler {
    /// What `ConnectAuthHandler` decided, before the CONNECT reaches this session (or instead of it).
    func edgeAuthDecided(_ event: EdgeAuthEvent) {
        switch event {
        case .authorized(let record, let topics):
            self.edgeAuth = EdgeAuthVerdict(record: record, refusedConnect: nil)
            // The session's own lists replace the route's; the CONNECT that follows then keeps its successors back
            // for the check, as with a route's policy.
            if let topics {
                self.policy = TopicPolicyFilter(authorizer: topics, maximumPacketSize: self.settings.maximumPacketSize)
            }
        case .refused(let connect, let reason):
            self.edgeAuth = EdgeAuthVerdict(record: .refused, refusedConnect: connect)
            self.perform(self.machine.clientViolatedMQTT(.policyViolation, reason))
        case .expired:
            if self.machine.connect?.version == .v5 {
                // MQTT 5 can say why: DISCONNECT 0xA0 "Maximum connect time" before the close frame.
                self.write(.maximumConnectTime, context: self.context)
            }
            self.perform(self.machine.clientViolatedMQTT(.policyViolation, "token expired"))
        }
    }
}

/// What `ConnectAuthHandler` decided for a session, for its access line. A class: sessions on routes without `auth`
/// keep one pointer for it, not 130 bytes of optional state (docs/PERFORMANCE.md "RSS per idle session").
final class EdgeAuthVerdict {
    let record: SessionAuthRecord
    /// The CONNECT of a refused session, which never reached it.
    let refusedConnect: MQTTConnectInfo?

    init(record: SessionAuthRecord, refusedConnect: MQTTConnectInfo?) {
        self.record = record
        self.refusedConnect = refusedConnect
    }
}
