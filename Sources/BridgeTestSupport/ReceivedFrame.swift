import NIOWebSocket

/// One WebSocket frame as the server sent it (payload already unmasked if the server, wrongly, masked it).
package struct ReceivedFrame: Sendable, Equatable, CustomStringConvertible {
    package var opcode: WebSocketOpcode
    package var fin: Bool
    /// RSV1–3 as they appear in the first byte (`0x40`, `0x20`, `0x10`); must be 0 without extensions.
    package var reservedBits: UInt8
    /// RFC 6455 §5.1: a server must not mask frames, so a correct bridge always gives `false`.
    package var masked: Bool
    package var payload: [UInt8]

    package init(opcode: WebSocketOpcode, fin: Bool, reservedBits: UInt8 = 0, masked: Bool = false, payload: [UInt8]) {
        self.opcode = opcode
        self.fin = fin
        self.reservedBits = reservedBits
        self.masked = masked
        self.payload = payload
    }

    /// For a close frame: the status code (nil when the payload is empty or a single byte) and the UTF-8 reason.
    package var close: (code: UInt16?, reason: String) {
        guard payload.count >= 2 else { return (nil, "") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        return (code, String(decoding: payload.dropFirst(2), as: UTF8.self))
    }

    package var description: String {
        var text = "\(opcode)\(fin ? "" : " (fin=0)")\(masked ? " MASKED" : "")"
        if reservedBits != 0 { text += " rsv=\(ByteFormatting.hex([reservedBits]))" }
        if opcode == .connectionClose {
            let (code, reason) = close
            return text + " code=\(code.map(String.init) ?? "none") reason=\"\(reason)\""
        }
        return text + " \(payload.count) B" + (payload.isEmpty ? "" : ": " + ByteFormatting.hex(payload, limit: 32))
    }
}

/// A frame to send, possibly a deliberately broken one (unmasked, reserved bits, fragmented control frame…).
package struct OutgoingFrame: Sendable {
    package var opcode: WebSocketOpcode
    package var payload: [UInt8]
    package var fin: Bool
    /// Clients must mask (RFC 6455 §5.3); `false` sends an unmasked frame to test that the server refuses it.
    package var masked: Bool
    /// Bits of `0x70` (RSV1 `0x40`, RSV2 `0x20`, RSV3 `0x10`) to set on the first byte.
    package var reservedBits: UInt8

    package init(opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true, masked: Bool = true, reservedBits: UInt8 = 0) {
        self.opcode = opcode
        self.payload = payload
        self.fin = fin
        self.masked = masked
        self.reservedBits = reservedBits
    }

    /// A close frame with a status code and reason (RFC 6455 §5.5.1).
    package static func close(code: UInt16, reason: String = "") -> OutgoingFrame {
        OutgoingFrame(opcode: .connectionClose, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8))
    }
}
