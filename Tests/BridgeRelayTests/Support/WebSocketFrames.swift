import NIOCore

/// A frame as a client sends it: always masked (RFC 6455 §5.3).
///
/// Encoded here, independently of `WebSocketTransport`, so the tests do not check the codec against itself.
struct ClientFrame {
    var fin = true
    var opcode: UInt8
    var payload: [UInt8]
    var mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    static func binary(_ payload: [UInt8], fin: Bool = true) -> ClientFrame {
        ClientFrame(fin: fin, opcode: 0x2, payload: payload)
    }

    static func continuation(_ payload: [UInt8], fin: Bool = true) -> ClientFrame {
        ClientFrame(fin: fin, opcode: 0x0, payload: payload)
    }

    static func text(_ text: String) -> ClientFrame {
        ClientFrame(opcode: 0x1, payload: Array(text.utf8))
    }

    static func ping(_ payload: [UInt8] = []) -> ClientFrame {
        ClientFrame(opcode: 0x9, payload: payload)
    }

    /// A close frame; `code` nil sends an empty payload.
    static func close(_ code: UInt16?, reason: String = "") -> ClientFrame {
        guard let code else { return ClientFrame(opcode: 0x8, payload: []) }
        return ClientFrame(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8))
    }

    var encoded: [UInt8] {
        var out: [UInt8] = [(self.fin ? 0x80 : 0) | self.opcode]
        let count = self.payload.count
        if count < 126 {
            out.append(0x80 | UInt8(count))
        } else if count <= 0xFFFF {
            out.append(0x80 | 126)
            out += [UInt8(count >> 8), UInt8(count & 0xFF)]
        } else {
            out.append(0x80 | 127)
            out += (0..<8).reversed().map { UInt8((UInt64(count) >> (8 * UInt64($0))) & 0xFF) }
        }
        out += self.mask
        out += self.payload.enumerated().map { $0.element ^ self.mask[$0.offset % 4] }
        return out
    }
}

/// Several frames back to back, as they would arrive in one TCP segment.
func encode(_ frames: [ClientFrame]) -> [UInt8] {
    frames.flatMap(\.encoded)
}

/// A frame as the server sent it (unmasked).
struct ServerFrame: Equatable, CustomStringConvertible {
    var fin: Bool
    var opcode: UInt8
    var payload: [UInt8]

    static func binary(_ payload: [UInt8]) -> ServerFrame {
        ServerFrame(fin: true, opcode: 0x2, payload: payload)
    }

    static func close(_ code: UInt16) -> ServerFrame {
        ServerFrame(fin: true, opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
    }

    var isClose: Bool { self.opcode == 0x8 }

    /// The close code of a close frame with a payload.
    var closeCode: UInt16? {
        guard self.isClose, self.payload.count >= 2 else { return nil }
        return UInt16(self.payload[0]) << 8 | UInt16(self.payload[1])
    }

    var closeReason: String? {
        guard self.isClose, self.payload.count >= 2 else { return nil }
        return String(decoding: self.payload.dropFirst(2), as: UTF8.self)
    }

    var description: String {
        if let code = self.closeCode { return "close(\(code), \"\(self.closeReason ?? "")\")" }
        return
            "frame(fin: \(self.fin), opcode: \(self.opcode), payload: [\(hexString(self.payload.prefix(64)))]\(self.payload.count > 64 ? "…" : ""))"
    }
}

/// Cuts a server byte stream into frames; keeps an incomplete tail for the next call.
struct ServerFrameParser {
    private var buffer: [UInt8] = []
    /// Set when the stream broke a server-side rule (masked frame, reserved bits).
    private(set) var violation: String?

    mutating func feed(_ bytes: [UInt8]) -> [ServerFrame] {
        self.buffer += bytes
        var frames: [ServerFrame] = []
        while let (frame, length) = self.next() {
            frames.append(frame)
            self.buffer.removeFirst(length)
        }
        return frames
    }

    var hasLeftOver: Bool { !self.buffer.isEmpty }

    private mutating func next() -> (ServerFrame, Int)? {
        guard self.buffer.count >= 2 else { return nil }
        let first = self.buffer[0]
        let second = self.buffer[1]
        if first & 0x70 != 0 { self.violation = "reserved bits set" }
        if second & 0x80 != 0 { self.violation = "server frame is masked" }
        var length = Int(second & 0x7F)
        var offset = 2
        if length == 126 {
            guard self.buffer.count >= 4 else { return nil }
            length = Int(self.buffer[2]) << 8 | Int(self.buffer[3])
            offset = 4
        } else if length == 127 {
            guard self.buffer.count >= 10 else { return nil }
            length = self.buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard self.buffer.count >= offset + length else { return nil }
        let frame = ServerFrame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: Array(self.buffer[offset..<offset + length]))
        return (frame, offset + length)
    }
}
