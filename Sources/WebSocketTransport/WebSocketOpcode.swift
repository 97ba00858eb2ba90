/// A WebSocket frame opcode (RFC 6455 §5.2). Unknown values are kept so the codec can refuse them with 1002.
package struct WebSocketOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt8

    package init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x0F
    }

    package static let continuation = WebSocketOpcode(rawValue: 0x0)
    package static let text = WebSocketOpcode(rawValue: 0x1)
    package static let binary = WebSocketOpcode(rawValue: 0x2)
    package static let close = WebSocketOpcode(rawValue: 0x8)
    package static let ping = WebSocketOpcode(rawValue: 0x9)
    package static let pong = WebSocketOpcode(rawValue: 0xA)

    /// Control frames (close, ping, pong and the reserved 0xB–0xF) have the high bit of the opcode set.
    package var isControl: Bool { rawValue & 0x8 != 0 }

    /// Opcodes RFC 6455 defines; anything else is a protocol error.
    package var isKnown: Bool {
        switch self {
        case .continuation, .text, .binary, .close, .ping, .pong: true
        default: false
        }
    }

    package var description: String {
        switch self {
        case .continuation: "continuation"
        case .text: "text"
        case .binary: "binary"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        default: "reserved(0x\(String(rawValue, radix: 16)))"
        }
    }
}
