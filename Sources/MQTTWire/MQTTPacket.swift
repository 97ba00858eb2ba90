import NIOCore

/// Packets built or decoded whole: the few the bridge sends itself, and the client side (encoders for what a
/// client sends, decoders for what it receives) used by tests and the load generator.
///
/// Encoders append to a caller-provided buffer so that many packets can be batched into one buffer without
/// allocating. Their preconditions (QoS 0...2, a packet identifier when QoS > 0, strings up to 65 535 UTF-8 bytes)
/// are programming errors, not input validation: encoders only ever see the program's own values.
public enum MQTTPacket {
    /// CONNACK 3.1/3.1.1 return code and 5.0 reason code the bridge uses when the broker cannot be reached.
    package static let serverUnavailableReturnCode: UInt8 = 0x03
    package static let serverUnavailableReasonCode: UInt8 = 0x88

    /// The CONNACK the bridge sends when the broker is unreachable, in the client's protocol version:
    /// 3.1/3.1.1 `20 02 00 03` (return code 3, server unavailable); 5.0 `20 03 00 88 00` (reason 0x88, no
    /// properties). The client library then reports a precise error instead of a bare connection failure.
    package static func connackServerUnavailable(
        version: MQTTProtocolVersion,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5)
        let code = version.hasProperties ? Self.serverUnavailableReasonCode : Self.serverUnavailableReturnCode
        Self.writeConnack(sessionPresent: false, returnCode: code, version: version, to: &buffer)
        return buffer
    }

    /// A DISCONNECT from the bridge: 5.0 `E0 02 <reasonCode> 00` (reason code, no properties); 3.x `E0 00`
    /// (MQTT 3 has no server-sent DISCONNECT reasons, so `reasonCode` is dropped).
    package static func disconnect(
        reasonCode: UInt8,
        version: MQTTProtocolVersion,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 4)
        Self.writeDisconnect(reasonCode: reasonCode, version: version, to: &buffer)
        return buffer
    }
}

// MARK: - Wire primitives for the encoders

extension MQTTPacket {
    /// The encoded size of a UTF-8 string or binary field: two length bytes plus the bytes.
    @inlinable
    static func stringFieldLength(_ string: String) -> Int {
        let count = string.utf8.count
        precondition(count <= Int(UInt16.max), "MQTT strings are limited to 65535 bytes")
        return 2 + count
    }

    @inlinable
    static func writeStringField(_ string: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(truncatingIfNeeded: string.utf8.count))
        buffer.writeString(string)
    }

    @inlinable
    static func binaryFieldLength(_ bytes: ByteBuffer) -> Int {
        precondition(bytes.readableBytes <= Int(UInt16.max), "MQTT binary fields are limited to 65535 bytes")
        return 2 + bytes.readableBytes
    }

    @inlinable
    static func writeBinaryField(_ bytes: ByteBuffer, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(truncatingIfNeeded: bytes.readableBytes))
        buffer.writeImmutableBuffer(bytes)
    }

    /// Writes a fixed header and reserves room for the whole packet.
    @inlinable
    static func writeFixedHeader(
        _ type: MQTTPacketType,
        flags: UInt8 = 0,
        remainingLength: Int,
        to buffer: inout ByteBuffer
    ) {
        buffer.reserveCapacity(
            minimumWritableBytes: 1 + MQTTVariableByteInteger.encodedLength(of: remainingLength) + remainingLength
        )
        buffer.writeInteger(type.rawValue << 4 | flags)
        MQTTVariableByteInteger.write(remainingLength, to: &buffer)
    }
}
