import NIOCore

extension MQTTPacket {
    /// A will message for `MQTTPacket.writeConnect` (the payload is sent, unlike `MQTTConnectInfo.Will`).
    public struct WillMessage: Sendable, Hashable {
        package var topic: String
        package var payload: ByteBuffer
        package var qos: UInt8
        package var retain: Bool

        public init(topic: String, payload: ByteBuffer, qos: UInt8 = 0, retain: Bool = false) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }
    }
}

// MARK: - What a client sends

extension MQTTPacket {
    /// Appends a CONNECT. MQTT 5.0 packets carry empty properties (and empty will properties).
    ///
    /// - Parameters:
    ///   - isBridge: sets the 0x80 bit of the protocol level, as a Mosquitto bridge with `try_private` does.
    ///   - password: MQTT passwords are binary; a string covers what clients and the load generator use.
    public static func writeConnect(
        version: MQTTProtocolVersion,
        clientID: String,
        username: String? = nil,
        password: String? = nil,
        keepAlive: UInt16 = 60,
        cleanStart: Bool = true,
        will: WillMessage? = nil,
        isBridge: Bool = false,
        to buffer: inout ByteBuffer
    ) {
        let propertiesLength = version.hasProperties ? 1 : 0
        var remainingLength = Self.stringFieldLength(version.protocolName) + 1 + 1 + 2 + propertiesLength
        remainingLength += Self.stringFieldLength(clientID)
        var flags: UInt8 = cleanStart ? 0x02 : 0
        if let will {
            precondition(will.qos <= 2, "will QoS must be 0, 1 or 2")
            remainingLength += propertiesLength + Self.stringFieldLength(will.topic)
            remainingLength += Self.binaryFieldLength(will.payload)
            flags |= 0x04 | will.qos << 3 | (will.retain ? 0x20 : 0)
        }
        if let username {
            remainingLength += Self.stringFieldLength(username)
            flags |= 0x80
        }
        if let password {
            remainingLength += Self.stringFieldLength(password)
            flags |= 0x40
        }

        Self.writeFixedHeader(.connect, remainingLength: remainingLength, to: &buffer)
        Self.writeStringField(version.protocolName, to: &buffer)
        buffer.writeInteger(version.rawValue | (isBridge ? 0x80 : 0))
        buffer.writeInteger(flags)
        buffer.writeInteger(keepAlive)
        if version.hasProperties {
            buffer.writeInteger(UInt8(0))
        }
        Self.writeStringField(clientID, to: &buffer)
        if let will {
            if version.hasProperties {
                buffer.writeInteger(UInt8(0))
            }
            Self.writeStringField(will.topic, to: &buffer)
            Self.writeBinaryField(will.payload, to: &buffer)
        }
        if let username {
            Self.writeStringField(username, to: &buffer)
        }
        if let password {
            Self.writeStringField(password, to: &buffer)
        }
    }

    /// Appends a PUBLISH. MQTT 5.0 packets carry empty properties.
    ///
    /// - Precondition: `qos` is 0, 1 or 2; `packetID` is non-nil and non-zero exactly when `qos > 0`.
    public static func writePublish(
        topic: String,
        payload: ByteBuffer,
        qos: UInt8 = 0,
        retain: Bool = false,
        dup: Bool = false,
        packetID: UInt16? = nil,
        version: MQTTProtocolVersion,
        to buffer: inout ByteBuffer
    ) {
        precondition(qos <= 2, "QoS must be 0, 1 or 2")
        precondition((qos == 0) == (packetID == nil), "a packet identifier is required exactly when QoS > 0")
        precondition(packetID != 0, "packet identifier 0 is not allowed")
        let remainingLength =
            Self.stringFieldLength(topic) + (qos > 0 ? 2 : 0) + (version.hasProperties ? 1 : 0) + payload.readableBytes
        let flags = (dup ? 0b1000 : 0) | qos << 1 | (retain ? 1 : 0)
        Self.writeFixedHeader(.publish, flags: flags, remainingLength: remainingLength, to: &buffer)
        Self.writeStringField(topic, to: &buffer)
        if let packetID {
            buffer.writeInteger(packetID)
        }
        if version.hasProperties {
            buffer.writeInteger(UInt8(0))
        }
        buffer.writeImmutableBuffer(payload)
    }

    /// Appends a PUBACK, PUBREC, PUBREL (flags `0b0010`) or PUBCOMP.
    ///
    /// With `reasonCode` 0 the short form (packet identifier only) is written, valid in every version; a non-zero
    /// reason code (MQTT 5.0 only) adds one byte and omits the properties, as 5.0 §3.4.2.2.1 allows.
    ///
    /// - Precondition: `type` is `.puback`, `.pubrec`, `.pubrel` or `.pubcomp`.
    package static func writeAcknowledgement(
        _ type: MQTTPacketType,
        packetID: UInt16,
        reasonCode: UInt8 = 0,
        to buffer: inout ByteBuffer
    ) {
        let flags: UInt8
        switch type {
        case .puback, .pubrec, .pubcomp: flags = 0
        case .pubrel: flags = 0b0010
        default: preconditionFailure("\(type) is not a publish acknowledgement")
        }
        Self.writeFixedHeader(type, flags: flags, remainingLength: reasonCode == 0 ? 2 : 3, to: &buffer)
        buffer.writeInteger(packetID)
        if reasonCode != 0 {
            buffer.writeInteger(reasonCode)
        }
    }

    public static func writePuback(packetID: UInt16, to buffer: inout ByteBuffer) {
        Self.writeAcknowledgement(.puback, packetID: packetID, to: &buffer)
    }

    public static func writePubrec(packetID: UInt16, to buffer: inout ByteBuffer) {
        Self.writeAcknowledgement(.pubrec, packetID: packetID, to: &buffer)
    }

    public static func writePubrel(packetID: UInt16, to buffer: inout ByteBuffer) {
        Self.writeAcknowledgement(.pubrel, packetID: packetID, to: &buffer)
    }

    public static func writePubcomp(packetID: UInt16, to buffer: inout ByteBuffer) {
        Self.writeAcknowledgement(.pubcomp, packetID: packetID, to: &buffer)
    }

    /// Appends a SUBSCRIBE (flags `0b0010`). MQTT 5.0 packets carry empty properties.
    ///
    /// - Parameter filters: topic filters with their options byte, written as is: the requested QoS for 3.x, and
    ///   for 5.0 the QoS plus any of No Local / Retain As Published / Retain Handling.
    public static func writeSubscribe(
        packetID: UInt16,
        filters: [(topicFilter: String, qos: UInt8)],
        version: MQTTProtocolVersion,
        to buffer: inout ByteBuffer
    ) {
        precondition(!filters.isEmpty, "SUBSCRIBE needs at least one topic filter")
        var remainingLength = 2 + (version.hasProperties ? 1 : 0)
        for filter in filters {
            remainingLength += Self.stringFieldLength(filter.topicFilter) + 1
        }
        Self.writeFixedHeader(.subscribe, flags: 0b0010, remainingLength: remainingLength, to: &buffer)
        buffer.writeInteger(packetID)
        if version.hasProperties {
            buffer.writeInteger(UInt8(0))
        }
        for filter in filters {
            Self.writeStringField(filter.topicFilter, to: &buffer)
            buffer.writeInteger(filter.qos)
        }
    }

    /// Appends an UNSUBSCRIBE (flags `0b0010`). MQTT 5.0 packets carry empty properties.
    public static func writeUnsubscribe(
        packetID: UInt16,
        topicFilters: [String],
        version: MQTTProtocolVersion,
        to buffer: inout ByteBuffer
    ) {
        precondition(!topicFilters.isEmpty, "UNSUBSCRIBE needs at least one topic filter")
        var remainingLength = 2 + (version.hasProperties ? 1 : 0)
        for filter in topicFilters {
            remainingLength += Self.stringFieldLength(filter)
        }
        Self.writeFixedHeader(.unsubscribe, flags: 0b0010, remainingLength: remainingLength, to: &buffer)
        buffer.writeInteger(packetID)
        if version.hasProperties {
            buffer.writeInteger(UInt8(0))
        }
        for filter in topicFilters {
            Self.writeStringField(filter, to: &buffer)
        }
    }

    /// Appends a PINGREQ: `C0 00`.
    public static func writePingreq(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(0xC000))
    }

    /// Appends a PINGRESP: `D0 00`.
    public static func writePingresp(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(0xD000))
    }

    /// Appends a DISCONNECT: 5.0 `E0 02 <reasonCode> 00`; 3.x `E0 00` (no reason code exists, it is dropped).
    public static func writeDisconnect(reasonCode: UInt8 = 0, version: MQTTProtocolVersion, to buffer: inout ByteBuffer) {
        if version.hasProperties {
            Self.writeFixedHeader(.disconnect, remainingLength: 2, to: &buffer)
            buffer.writeInteger(reasonCode)
            buffer.writeInteger(UInt8(0))
        } else {
            Self.writeFixedHeader(.disconnect, remainingLength: 0, to: &buffer)
        }
    }
}

// MARK: - What a broker sends (for fake brokers in tests)

extension MQTTPacket {
    /// Appends a CONNACK: 3.x `20 02 <session present> <return code>`; 5.0 adds empty properties.
    public static func writeConnack(
        sessionPresent: Bool,
        returnCode: UInt8,
        version: MQTTProtocolVersion,
        to buffer: inout ByteBuffer
    ) {
        Self.writeFixedHeader(.connack, remainingLength: version.hasProperties ? 3 : 2, to: &buffer)
        buffer.writeInteger(UInt8(sessionPresent ? 1 : 0))
        buffer.writeInteger(returnCode)
        if version.hasProperties {
            buffer.writeInteger(UInt8(0))
        }
    }

    /// Appends a SUBACK with one return/reason code per filter; 5.0 adds empty properties.
    public static func writeSuback(
        packetID: UInt16,
        returnCodes: [UInt8],
        version: MQTTProtocolVersion,
        to buffer: inout ByteBuffer
    ) {
        let remainingLength = 2 + (version.hasProperties ? 1 : 0) + returnCodes.count
        Self.writeFixedHeader(.suback, remainingLength: remainingLength, to: &buffer)
        buffer.writeInteger(packetID)
        if version.hasProperties {
            buffer.writeInteger(UInt8(0))
        }
        buffer.writeBytes(returnCodes)
    }

    /// Appends an UNSUBACK: 3.x carries the packet identifier only (`reasonCodes` are dropped); 5.0 adds empty
    /// properties and one reason code per filter.
    public static func writeUnsuback(
        packetID: UInt16,
        reasonCodes: [UInt8],
        version: MQTTProtocolVersion,
        to buffer: inout ByteBuffer
    ) {
        let remainingLength = version.hasProperties ? 3 + reasonCodes.count : 2
        Self.writeFixedHeader(.unsuback, remainingLength: remainingLength, to: &buffer)
        buffer.writeInteger(packetID)
        if version.hasProperties {
            buffer.writeInteger(UInt8(0))
            buffer.writeBytes(reasonCodes)
        }
    }
}
