import NIOCore

/// A SUBSCRIBE's packet identifier and topic filters, for the relay's optional topic policy.
public struct MQTTSubscribeInfo: Sendable, Hashable {
    /// One topic filter with its subscription options byte.
    public struct Filter: Sendable, Hashable {
        public var topicFilter: String
        /// The options byte: requested QoS in bits 0–1; in MQTT 5.0 also No Local (bit 2), Retain As Published
        /// (bit 3) and Retain Handling (bits 4–5).
        package var options: UInt8

        public init(topicFilter: String, options: UInt8) {
            self.topicFilter = topicFilter
            self.options = options
        }

        /// The requested maximum QoS.
        public var qos: UInt8 { self.options & 0b11 }
    }

    public var packetID: UInt16
    /// At least one filter, in packet order.
    public var filters: [Filter]

    public init(packetID: UInt16, filters: [Filter]) {
        self.packetID = packetID
        self.filters = filters
    }

    /// Parses a whole SUBSCRIBE packet (fixed header included).
    ///
    /// - Throws: `.unexpectedPacketType` for another packet type; `.malformedPacket` for fixed header flags other
    ///   than `0b0010`, packet identifier 0, no filter, an empty filter, a reserved option bit set, QoS 3,
    ///   retain handling 3 (5.0), a truncated field or a filter that is not UTF-8.
    public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
        var reader = try MQTTFieldReader(packet: packet, expecting: .subscribe)
        guard reader.header.flags == 0b0010 else {
            throw .malformed("SUBSCRIBE with fixed header flags \(reader.header.flags), expected 2")
        }
        self.packetID = try reader.readUInt16("packet identifier")
        if self.packetID == 0 {
            throw .malformed("SUBSCRIBE with packet identifier 0")
        }
        if version.hasProperties {
            var properties = try reader.readProperties("properties")
            while try properties.next() != nil {}
        }
        let reservedBits: UInt8 = version.hasProperties ? 0b1100_0000 : 0b1111_1100
        self.filters = []
        if reader.remainingBytes == 0 {
            throw .malformed("SUBSCRIBE without a topic filter")
        }
        repeat {
            let topicFilter = try reader.readString("topic filter")
            if topicFilter.isEmpty {
                throw .malformed("empty topic filter")
            }
            let options = try reader.readByte("subscription options")
            if options & reservedBits != 0 {
                throw .malformed("reserved subscription option bit set")
            }
            if options & 0b11 == 3 {
                throw .malformed("subscription with QoS 3")
            }
            if (options >> 4) & 0b11 == 3 {
                throw .malformed("subscription with retain handling 3")
            }
            self.filters.append(Filter(topicFilter: topicFilter, options: options))
        } while reader.remainingBytes > 0
    }
}
