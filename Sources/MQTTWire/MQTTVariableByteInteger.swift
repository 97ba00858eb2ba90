import NIOCore

/// MQTT's variable byte integer (3.1.1 §2.2.3, 5.0 §1.5.5): 7 bits per byte, least significant group first,
/// the high bit set on every byte but the last; 1 to 4 bytes, so at most 268 435 455.
///
/// Decoding is strict, as in Mosquitto: a fourth byte with the continuation bit set is an error (the loop never
/// reads a fifth byte), and so is an encoding longer than the value needs (a multi-byte integer ending in `0x00`).
public enum MQTTVariableByteInteger {
    /// The largest value four bytes can carry.
    @usableFromInline package static let maximumValue = 268_435_455
    /// The largest number of bytes an encoding may use.
    @usableFromInline package static let maximumLength = 4

    /// Decodes the integer starting at `index` without moving any index.
    ///
    /// - Returns: the value and the number of bytes it occupies, or nil when the buffer ends before the last byte.
    /// - Throws: `.variableByteIntegerTooLong` or `.overlongVariableByteInteger`.
    @inlinable
    package static func peek(in buffer: ByteBuffer, at index: Int) throws(MQTTWireError) -> (value: Int, length: Int)? {
        var value = 0
        var shift = 0
        var offset = 0
        while offset < maximumLength {
            guard let byte = buffer.getInteger(at: index + offset, as: UInt8.self) else {
                return nil
            }
            value |= Int(byte & 0x7F) << shift
            offset += 1
            if byte & 0x80 == 0 {
                if byte == 0 && offset > 1 {
                    throw overlong(length: offset)
                }
                return (value, offset)
            }
            shift += 7
        }
        throw tooLong()
    }

    /// Decodes the integer at the reader index and moves past it.
    ///
    /// - Returns: the value, or nil when the buffer ends before the last byte (the reader index is left unchanged).
    @inlinable
    package static func read(from buffer: inout ByteBuffer) throws(MQTTWireError) -> Int? {
        guard let (value, length) = try peek(in: buffer, at: buffer.readerIndex) else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: length)
        return value
    }

    /// Appends the minimal encoding of `value` and returns the number of bytes written.
    ///
    /// - Precondition: `value` is in `0...268_435_455`; anything else is a programming error.
    @inlinable
    @discardableResult
    public static func write(_ value: Int, to buffer: inout ByteBuffer) -> Int {
        precondition(value >= 0 && value <= maximumValue, "variable byte integer out of range: \(value)")
        var remaining = value
        var written = 0
        repeat {
            var byte = UInt8(truncatingIfNeeded: remaining & 0x7F)
            remaining >>= 7
            if remaining > 0 {
                byte |= 0x80
            }
            buffer.writeInteger(byte)
            written += 1
        } while remaining > 0
        return written
    }

    /// The number of bytes `write` uses for `value` (1...4).
    ///
    /// - Precondition: `value` is in `0...268_435_455`.
    @inlinable
    package static func encodedLength(of value: Int) -> Int {
        precondition(value >= 0 && value <= maximumValue, "variable byte integer out of range: \(value)")
        switch value {
        case ..<128: return 1
        case ..<16_384: return 2
        case ..<2_097_152: return 3
        default: return 4
        }
    }

    @usableFromInline
    static func tooLong() -> MQTTWireError {
        MQTTWireError(
            code: .variableByteIntegerTooLong,
            description: "variable byte integer longer than 4 bytes"
        )
    }

    @usableFromInline
    static func overlong(length: Int) -> MQTTWireError {
        MQTTWireError(
            code: .overlongVariableByteInteger,
            description: "variable byte integer uses \(length) bytes where fewer suffice"
        )
    }
}
