import NIOCore

// What a client receives, decoded from whole packets (as `MQTTPacketAccumulator` returns them).
// Used by tests and the load generator; the relay itself never decodes broker packets.

extension MQTTPacket {
    /// A decoded CONNACK.
    public struct Connack: Sendable, Hashable {
        package var sessionPresent: Bool
        /// The 3.x return code (0 accepted, 1–5 refused) or the 5.0 reason code (0 success, ≥ 0x80 failure).
        package var returnCode: UInt8

        package init(sessionPresent: Bool, returnCode: UInt8) {
            self.sessionPresent = sessionPresent
            self.returnCode = returnCode
        }

        /// Parses a whole CONNACK; 5.0 properties are skipped.
        public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
            var reader = try MQTTFieldReader(packet: packet, expecting: .connack)
            try reader.expectFlags(0)
            let acknowledgeFlags = try reader.readByte("connect acknowledge flags")
            if acknowledgeFlags & 0xFE != 0 {
                throw .malformed("reserved connect acknowledge flag set")
            }
            self.sessionPresent = acknowledgeFlags & 0x01 != 0
            self.returnCode = try reader.readByte("connect return code")
            if version.hasProperties && reader.remainingBytes > 0 {
                try reader.skipProperties("properties")
            }
            try reader.expectEnd(after: "CONNACK")
        }
    }

    /// A decoded SUBACK.
    public struct Suback: Sendable, Hashable {
        package var packetID: UInt16
        /// One per filter of the SUBSCRIBE: the granted QoS, or 0x80 (3.1.1) / a reason code ≥ 0x80 (5.0).
        package var returnCodes: [UInt8]

        package init(packetID: UInt16, returnCodes: [UInt8]) {
            self.packetID = packetID
            self.returnCodes = returnCodes
        }

        /// Parses a whole SUBACK; 5.0 properties are skipped.
        public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
            var reader = try MQTTFieldReader(packet: packet, expecting: .suback)
            try reader.expectFlags(0)
            self.packetID = try reader.readUInt16("packet identifier")
            if version.hasProperties {
                try reader.skipProperties("properties")
            }
            let codes = reader.readRest()
            if codes.readableBytes == 0 {
                throw .malformed("SUBACK without a return code")
            }
            self.returnCodes = Array(codes.readableBytesView)
        }
    }

    /// A decoded UNSUBACK.
    public struct Unsuback: Sendable, Hashable {
        package var packetID: UInt16
        /// 5.0: one reason code per filter; 3.x: empty (the packet has none).
        package var reasonCodes: [UInt8]

        package init(packetID: UInt16, reasonCodes: [UInt8]) {
            self.packetID = packetID
            self.reasonCodes = reasonCodes
        }

        /// Parses a whole UNSUBACK; 5.0 properties are skipped.
        public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
            var reader = try MQTTFieldReader(packet: packet, expecting: .unsuback)
            try reader.expectFlags(0)
            self.packetID = try reader.readUInt16("packet identifier")
            if version.hasProperties {
                try reader.skipProperties("properties")
                self.reasonCodes = Array(reader.readRest().readableBytesView)
            } else {
                self.reasonCodes = []
                try reader.expectEnd(after: "packet identifier")
            }
        }
    }

    /// A decoded PUBLISH: the routing information plus the payload, as a slice of the packet.
    public struct Publish: Sendable, Hashable {
        public var info: MQTTPublishInfo
        /// The application message, sharing the packet's storage.
        public var payload: ByteBuffer

        package init(info: MQTTPublishInfo, payload: ByteBuffer) {
            self.info = info
            self.payload = payload
        }

        /// Parses a whole PUBLISH; 5.0 properties are skipped except the topic alias. See `MQTTPublishInfo`.
        public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
            var reader = try MQTTFieldReader(packet: packet, expecting: .publish)
            self.info = try MQTTPublishInfo(reading: &reader, version: version)
            self.payload = reader.readRest()
        }

        package var topic: String { self.info.topic }
        package var qos: UInt8 { self.info.qos }
        package var retain: Bool { self.info.retain }
        package var dup: Bool { self.info.dup }
        package var packetID: UInt16? { self.info.packetID }
    }

    /// A decoded PUBACK, PUBREC, PUBREL or PUBCOMP.
    public struct Acknowledgement: Sendable, Hashable {
        /// `.puback`, `.pubrec`, `.pubrel` or `.pubcomp`.
        package var type: MQTTPacketType
        package var packetID: UInt16
        /// 5.0 reason code (0 when the packet omits it, and always 0 for 3.x).
        package var reasonCode: UInt8

        package init(type: MQTTPacketType, packetID: UInt16, reasonCode: UInt8 = 0) {
            self.type = type
            self.packetID = packetID
            self.reasonCode = reasonCode
        }

        /// Parses a whole PUBACK, PUBREC, PUBREL or PUBCOMP; 5.0 properties are skipped.
        ///
        /// - Throws: `.unexpectedPacketType` for any other type; `.malformedPacket` for wrong fixed header flags
        ///   (PUBREL must carry `0b0010`), a truncated packet or trailing bytes.
        public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
            var reader = try MQTTFieldReader(packet: packet, expecting: nil)
            switch reader.header.type {
            case .puback, .pubrec, .pubcomp:
                try reader.expectFlags(0)
            case .pubrel:
                try reader.expectFlags(0b0010)
            default:
                throw MQTTWireError(
                    code: .unexpectedPacketType,
                    description:
                        "expected a publish acknowledgement, got \(reader.header.type.description.uppercased())"
                )
            }
            self.type = reader.header.type
            self.packetID = try reader.readUInt16("packet identifier")
            self.reasonCode = 0
            if version.hasProperties && reader.remainingBytes > 0 {
                self.reasonCode = try reader.readByte("reason code")
                if reader.remainingBytes > 0 {
                    try reader.skipProperties("properties")
                }
            }
            try reader.expectEnd(after: "\(self.type.description.uppercased())")
        }
    }

    /// A decoded DISCONNECT.
    public struct Disconnect: Sendable, Hashable {
        /// 5.0 reason code (0 when omitted, and always 0 for 3.x).
        package var reasonCode: UInt8

        package init(reasonCode: UInt8) {
            self.reasonCode = reasonCode
        }

        /// Parses a whole DISCONNECT; 5.0 properties are skipped.
        public init(parsing packet: ByteBuffer, version: MQTTProtocolVersion) throws(MQTTWireError) {
            var reader = try MQTTFieldReader(packet: packet, expecting: .disconnect)
            try reader.expectFlags(0)
            self.reasonCode = 0
            if version.hasProperties && reader.remainingBytes > 0 {
                self.reasonCode = try reader.readByte("reason code")
                if reader.remainingBytes > 0 {
                    try reader.skipProperties("properties")
                }
            }
            try reader.expectEnd(after: "DISCONNECT")
        }
    }
}
