import NIOCore

/// An MQTT 5.0 property block (5.0 §2.2.2), walked one property at a time.
///
/// Each property is an identifier followed by a value whose shape the identifier fixes; an unknown identifier
/// makes the rest of the block unreadable, so it is a malformed packet. Values are length-checked but strings are
/// not UTF-8-validated here: the bridge only looks for a few numeric properties and the broker validates the rest.
struct MQTTProperties {
    /// One property: its identifier and, for the numeric kinds, its value.
    struct Property {
        var identifier: UInt8
        /// The value of a byte, two-byte, four-byte or variable-byte-integer property; nil for strings and binary.
        var integer: Int?
    }

    /// Topic Alias (two-byte integer), the one property the relay needs from a PUBLISH.
    static let topicAlias: UInt8 = 0x23

    private var bytes: ByteBuffer

    init(bytes: ByteBuffer) {
        self.bytes = bytes
    }

    /// The next property, or nil at the end of the block.
    mutating func next() throws(MQTTWireError) -> Property? {
        guard self.bytes.readableBytes > 0 else {
            return nil
        }
        guard let identifier = try MQTTVariableByteInteger.read(from: &self.bytes) else {
            throw .malformed("truncated property identifier")
        }
        let id = UInt8(truncatingIfNeeded: identifier)
        switch identifier {
        case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A:
            guard let value = self.bytes.readInteger(as: UInt8.self) else {
                throw Self.truncated(id)
            }
            return Property(identifier: id, integer: Int(value))
        case 0x13, 0x21, 0x22, 0x23:
            guard let value = self.bytes.readInteger(as: UInt16.self) else {
                throw Self.truncated(id)
            }
            return Property(identifier: id, integer: Int(value))
        case 0x02, 0x11, 0x18, 0x27:
            guard let value = self.bytes.readInteger(as: UInt32.self) else {
                throw Self.truncated(id)
            }
            return Property(identifier: id, integer: Int(value))
        case 0x0B:
            guard let value = try MQTTVariableByteInteger.read(from: &self.bytes) else {
                throw Self.truncated(id)
            }
            return Property(identifier: id, integer: value)
        case 0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F:
            try self.skipLengthPrefixed(id)
            return Property(identifier: id, integer: nil)
        case 0x26:
            // User Property: a UTF-8 string pair.
            try self.skipLengthPrefixed(id)
            try self.skipLengthPrefixed(id)
            return Property(identifier: id, integer: nil)
        default:
            throw .malformed("unknown property identifier 0x\(String(identifier, radix: 16))")
        }
    }

    private mutating func skipLengthPrefixed(_ id: UInt8) throws(MQTTWireError) {
        guard let length = self.bytes.readInteger(as: UInt16.self), Int(length) <= self.bytes.readableBytes else {
            throw Self.truncated(id)
        }
        self.bytes.moveReaderIndex(forwardBy: Int(length))
    }

    private static func truncated(_ id: UInt8) -> MQTTWireError {
        .malformed("truncated property 0x\(String(id, radix: 16))")
    }
}
