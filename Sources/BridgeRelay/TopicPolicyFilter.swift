import MQTTWire
import NIOCore

/// The client→broker check of a route's topic policy: assembles whole packets and lets through only
/// PUBLISHes and SUBSCRIBEs the authorizer allows. Only sessions on a route with a policy have one: a class, so the
/// others keep one pointer for it (not 104 bytes of optional state; docs/PERFORMANCE.md "RSS per idle session").
final class TopicPolicyFilter {
    enum Verdict {
        /// Whole packets that passed (nil when no packet is complete yet).
        case forward(ByteBuffer?)
        /// A packet broke the policy; `allowed` are the packets before it in the same read, which still go to the broker.
        case denied(String, allowed: ByteBuffer?)
        case malformed(MQTTWireError)
    }

    private let authorizer: any TopicAuthorizer
    private var accumulator: MQTTPacketAccumulator
    /// MQTT 5 topic aliases set by this client (a PUBLISH may carry only the alias).
    private var aliases: [UInt16: String] = [:]

    init(authorizer: any TopicAuthorizer, maximumPacketSize: Int) {
        self.authorizer = authorizer
        self.accumulator = MQTTPacketAccumulator(maximumPacketSize: maximumPacketSize)
    }

    func admit(_ bytes: ByteBuffer, version: MQTTProtocolVersion) -> Verdict {
        self.accumulator.append(bytes)
        var allowed: ByteBuffer?
        do {
            while let (header, packet) = try self.accumulator.nextPacketWithHeader() {
                if let problem = try self.check(header.type, packet: packet, version: version) {
                    return .denied(problem, allowed: allowed)
                }
                if allowed == nil {
                    allowed = packet
                } else {
                    allowed!.writeImmutableBuffer(packet)
                }
            }
        } catch {
            return .malformed(error)
        }
        return .forward(allowed)
    }

    /// nil when the packet may pass, else why not.
    private func check(_ type: MQTTPacketType, packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) -> String? {
        switch type {
        case .publish:
            let info = try MQTTPublishInfo(parsing: packet, version: version)
            var topic = info.topic
            if let alias = info.topicAlias {
                if topic.isEmpty {
                    guard let known = self.aliases[alias] else {
                        throw MQTTWireError(code: .malformedPacket, description: "PUBLISH uses topic alias \(alias) that was never set")
                    }
                    topic = known
                } else {
                    self.aliases[alias] = topic
                }
            }
            return self.authorizer.mayPublish(to: topic) ? nil : "publish to '\(topic)' is not allowed on this route"
        case .subscribe:
            let info = try MQTTSubscribeInfo(parsing: packet, version: version)
            for filter in info.filters where !self.authorizer.maySubscribe(to: filter.topicFilter) {
                return "subscribe to '\(filter.topicFilter)' is not allowed on this route"
            }
            return nil
        default:
            return nil
        }
    }
}
