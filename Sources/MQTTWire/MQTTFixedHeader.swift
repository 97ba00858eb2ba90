import NIOCore

/// The fixed header every MQTT control packet starts with: one byte of type and flags, then the remaining length
/// as a variable byte integer (1 to 4 bytes).
///
/// Framing only needs this: `packetLength` bytes from the first byte make one whole packet.
public struct MQTTFixedHeader: Sendable, Hashable {
    /// The packet's first byte: type in the high nibble, flags in the low nibble.
    @usableFromInline package var firstByte: UInt8
    /// The number of bytes after the fixed header (variable header and payload).
    @usableFromInline package var remainingLength: Int
    /// The fixed header's own size: 1 + the number of remaining-length bytes (2...5).
    public var headerLength: Int

    @usableFromInline package init(firstByte: UInt8, remainingLength: Int, headerLength: Int) {
        self.firstByte = firstByte
        self.remainingLength = remainingLength
        self.headerLength = headerLength
    }

    /// The control packet type (`firstByte >> 4`).
    @inlinable
    public var type: MQTTPacketType { MQTTPacketType(firstByte: self.firstByte) }

    /// The low nibble of the first byte: DUP/QoS/RETAIN for PUBLISH, fixed values for the other types.
    @inlinable
    package var flags: UInt8 { self.firstByte & 0x0F }

    /// The whole packet's size on the wire, fixed header included.
    @inlinable
    public var packetLength: Int { self.headerLength + self.remainingLength }

    /// Parses the fixed header at `buffer.readerIndex` without moving it.
    ///
    /// Only the framing is checked here (length encoding and size limit), not the flags: a relay must follow
    /// packet boundaries whatever the packet says. `validateFlags()` checks the flags when the caller wants that.
    ///
    /// - Returns: the header, or nil when the buffer ends inside it.
    /// - Throws: `.variableByteIntegerTooLong`, `.overlongVariableByteInteger`, or `.packetTooLarge` when
    ///   `packetLength > maximumPacketSize`.
    @inlinable
    public static func peek(in buffer: ByteBuffer, maximumPacketSize: Int) throws(MQTTWireError) -> MQTTFixedHeader? {
        try self.peek(in: buffer, at: buffer.readerIndex, maximumPacketSize: maximumPacketSize)
    }

    /// Parses the fixed header at `index` without moving any index; see `peek(in:maximumPacketSize:)`.
    @inlinable
    package static func peek(
        in buffer: ByteBuffer,
        at index: Int,
        maximumPacketSize: Int
    ) throws(MQTTWireError) -> MQTTFixedHeader? {
        guard let firstByte = buffer.getInteger(at: index, as: UInt8.self),
            let (remainingLength, lengthBytes) = try MQTTVariableByteInteger.peek(in: buffer, at: index + 1)
        else {
            return nil
        }
        let header = MQTTFixedHeader(
            firstByte: firstByte,
            remainingLength: remainingLength,
            headerLength: 1 + lengthBytes
        )
        guard header.packetLength <= maximumPacketSize else {
            throw MQTTWireError.tooLarge(packetLength: header.packetLength, limit: maximumPacketSize)
        }
        return header
    }

    /// Checks the flags against the specification: PUBREL/SUBSCRIBE/UNSUBSCRIBE must carry `0b0010`, PUBLISH must
    /// not have QoS 3 (nor DUP with QoS 0), the others must carry `0`, and type 0 is reserved.
    ///
    /// - Throws: `.malformedPacket` naming the packet type and its flags.
    public func validateFlags() throws(MQTTWireError) {
        let type = self.type
        switch type {
        case .reserved:
            throw .malformed("packet type 0 is reserved")
        case .publish:
            let qos = (self.flags >> 1) & 0b11
            if qos == 3 {
                throw .malformed("PUBLISH with QoS 3")
            }
            if qos == 0 && self.flags & 0b1000 != 0 {
                throw .malformed("PUBLISH with QoS 0 and DUP set")
            }
        default:
            if let required = type.requiredFlags, self.flags != required {
                throw .malformed(
                    "\(type.description.uppercased()) with fixed header flags \(self.flags), expected \(required)"
                )
            }
        }
    }
}

extension MQTTFixedHeader: CustomStringConvertible {
    /// E.g. "publish flags=0x2 remaining=12".
    public var description: String {
        "\(self.type) flags=0x\(String(self.flags, radix: 16)) remaining=\(self.remainingLength)"
    }
}
