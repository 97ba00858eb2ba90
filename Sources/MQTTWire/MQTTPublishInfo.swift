import NIOCore

/// The routing part of a PUBLISH: topic, flags, packet identifier and (MQTT 5.0) topic alias — not the payload.
///
/// Used by the relay's optional topic policy; `MQTTPacket.Publish` adds the payload for clients.
public struct MQTTPublishInfo: Sendable, Hashable {
    /// The topic name; "" in MQTT 5.0 when the PUBLISH relies on an already established topic alias.
    public var topic: String
    public var qos: UInt8
    public var retain: Bool
    public var dup: Bool
    /// Present exactly when QoS > 0.
    public var packetID: UInt16?
    /// MQTT 5.0 Topic Alias property (0x23), when present.
    public var topicAlias: UInt16?

    package init(
        topic: String,
        qos: UInt8,
        retain: Bool = false,
        dup: Bool = false,
        packetID: UInt16? = nil,
        topicAlias: UInt16? = nil
    ) {
        self.topic = topic
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetID = packetID
        self.topicAlias = topicAlias
    }

    /// Parses the variable header of a whole PUBLISH packet (fixed header included); the payload is not read.
    ///
    /// - Throws: `.unexpectedPacketType` for another packet type; `.malformedPacket` for QoS 3, DUP with QoS 0,
    ///   packet identifier 0, an empty topic without a topic alias, topic alias 0, a truncated field or a topic
    ///   that is not UTF-8.
    public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
        var reader = try MQTTFieldReader(packet: packet, expecting: .publish)
        try self.init(reading: &reader, version: version)
    }

    /// Reads the variable header from `reader`, leaving it at the payload.
    init(reading reader: inout MQTTFieldReader, version: MQTTProtocolVersion) throws(MQTTWireError) {
        let flags = reader.header.flags
        self.dup = flags & 0b1000 != 0
        self.qos = (flags >> 1) & 0b11
        self.retain = flags & 0b0001 != 0
        if self.qos == 3 {
            throw .malformed("PUBLISH with QoS 3")
        }
        if self.qos == 0 && self.dup {
            throw .malformed("PUBLISH with QoS 0 and DUP set")
        }
        self.topic = try reader.readString("topic name")
        self.packetID = nil
        self.topicAlias = nil
        if self.qos > 0 {
            let packetID = try reader.readUInt16("packet identifier")
            if packetID == 0 {
                throw .malformed("PUBLISH with packet identifier 0")
            }
            self.packetID = packetID
        }
        if version.hasProperties {
            var properties = try reader.readProperties("properties")
            while let property = try properties.next() {
                if property.identifier == MQTTProperties.topicAlias, let alias = property.integer {
                    if alias == 0 {
                        throw .malformed("PUBLISH with topic alias 0")
                    }
                    self.topicAlias = UInt16(truncatingIfNeeded: alias)
                }
            }
        }
        if self.topic.isEmpty && self.topicAlias == nil {
            throw .malformed("PUBLISH with an empty topic name")
        }
    }
}
