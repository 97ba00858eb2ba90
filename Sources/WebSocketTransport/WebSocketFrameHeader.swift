import NIOCore

/// The header of one WebSocket frame (RFC 6455 §5.2): everything before the payload.
///
/// Parsing validates only what the header alone can tell (length encoding, the 63-bit limit);
/// the rules that depend on connection state (masking required, control frame limits, continuation
/// order, reserved bits) are enforced by `WebSocketFrameReader`.
package struct WebSocketFrameHeader: Hashable, Sendable {
    package var fin: Bool
    /// RSV1–RSV3 as the low three bits (RSV1 = 0b100).
    package var reservedBits: UInt8
    package var opcode: WebSocketOpcode
    /// The masking key as sent on the wire, or nil for an unmasked frame.
    package var maskingKey: WebSocketMaskingKey?
    package var payloadLength: Int

    package init(
        fin: Bool = true, reservedBits: UInt8 = 0, opcode: WebSocketOpcode, maskingKey: WebSocketMaskingKey? = nil, payloadLength: Int
    ) {
        self.fin = fin
        self.reservedBits = reservedBits
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payloadLength = payloadLength
    }

    /// The largest header: 2 bytes, 8 bytes of extended length, 4 bytes of masking key.
    package static let maximumLength = 14

    /// Bytes this header takes on the wire.
    package var encodedLength: Int {
        Self.encodedLength(payloadLength: payloadLength, masked: maskingKey != nil)
    }

    package static func encodedLength(payloadLength: Int, masked: Bool) -> Int {
        let lengthBytes = payloadLength <= 125 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 + lengthBytes + (masked ? 4 : 0)
    }

    /// Reads a header from the front of `buffer`. Returns nil (buffer untouched) when more bytes are needed.
    package static func read(from buffer: inout ByteBuffer) throws(WebSocketProtocolError) -> WebSocketFrameHeader? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }

        let masked = second & 0x80 != 0
        var length = Int(second & 0x7F)
        var offset = start + 2
        switch length {
        case 126:
            guard let extended = buffer.getInteger(at: offset, as: UInt16.self) else { return nil }
            length = Int(extended)
            offset += 2
            // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
            guard length > 125 else { throw WebSocketProtocolError(.protocolError, "non-minimal frame length encoding") }
        case 127:
            guard let extended = buffer.getInteger(at: offset, as: UInt64.self) else { return nil }
            guard extended & (1 << 63) == 0 else {
                throw WebSocketProtocolError(.protocolError, "frame length has the most significant bit set")
            }
            guard extended > 0xFFFF else { throw WebSocketProtocolError(.protocolError, "non-minimal frame length encoding") }
            guard extended <= UInt64(Int.max) else { throw WebSocketProtocolError(.messageTooBig, "frame too large") }
            length = Int(extended)
            offset += 8
        default:
            break
        }

        var key: WebSocketMaskingKey?
        if masked {
            guard let raw = buffer.getInteger(at: offset, as: UInt32.self) else { return nil }
            key = WebSocketMaskingKey(networkOrder: raw)
            offset += 4
        }

        buffer.moveReaderIndex(to: offset)
        return WebSocketFrameHeader(
            fin: first & 0x80 != 0,
            reservedBits: (first >> 4) & 0x07,
            opcode: WebSocketOpcode(rawValue: first & 0x0F),
            maskingKey: key,
            payloadLength: length
        )
    }

    /// Appends the header to `buffer`; returns the number of bytes written.
    @discardableResult
    package func write(to buffer: inout ByteBuffer) -> Int {
        let first = UInt16((fin ? 0x80 : 0) | (reservedBits & 0x07) << 4 | opcode.rawValue) << 8
        let maskBit: UInt16 = maskingKey == nil ? 0 : 0x80
        // The first two bytes as one integer: each `writeInteger` is a call into NIOCore with its own capacity and
        // exclusivity checks, and one per byte cost ~240 instructions a relayed message (Benchmarks/RelayCost).
        var written: Int
        if payloadLength <= 125 {
            written = buffer.writeInteger(first | maskBit | UInt16(payloadLength))
        } else if payloadLength <= 0xFFFF {
            written = buffer.writeInteger(UInt32(first | maskBit | 126) << 16 | UInt32(payloadLength))
        } else {
            written = buffer.writeInteger(first | maskBit | 127)
            written += buffer.writeInteger(UInt64(payloadLength))
        }
        if let maskingKey {
            written += buffer.writeInteger(maskingKey.networkOrder)
        }
        return written
    }
}
