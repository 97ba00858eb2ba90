/// A frame the codec put on the wire, parsed by an independent naive reader (RFC 6455 §5.2).
///
/// Server frames must never be masked (§5.1); the reader keeps the mask bit so tests can check it.
struct ServerFrame: Equatable, CustomStringConvertible {
    var fin: Bool
    var rsv: UInt8
    var opcode: UInt8
    var masked: Bool
    var payload: [UInt8]

    /// The status code of a close frame with at least two payload bytes.
    var closeCode: UInt16? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) * 256 + UInt16(payload[1])
    }

    /// The reason bytes of a close frame (after the code).
    var closeReason: [UInt8] {
        payload.count > 2 ? Array(payload[2...]) : []
    }

    var description: String {
        "frame(fin: \(fin), rsv: \(rsv), opcode: \(opcode), masked: \(masked), \(payload.count) bytes\(closeCode.map { ", code \($0)" } ?? ""))"
    }

    enum ParseError: Error, Equatable {
        /// The bytes end inside a frame.
        case truncated(offset: Int)
        /// The length was not encoded with the minimal number of bytes.
        case nonMinimalLength(offset: Int)
    }

    /// Parses a complete sequence of frames; throws when the bytes end mid-frame or a length is not minimal.
    static func parseAll(_ bytes: [UInt8]) throws -> [ServerFrame] {
        var frames: [ServerFrame] = []
        var offset = 0
        while offset < bytes.count {
            let start = offset
            guard bytes.count - offset >= 2 else { throw ParseError.truncated(offset: start) }
            let first = bytes[offset]
            let second = bytes[offset + 1]
            offset += 2
            var length = UInt64(second & 0x7F)
            if length == 126 {
                guard bytes.count - offset >= 2 else { throw ParseError.truncated(offset: start) }
                length = UInt64(bytes[offset]) * 256 + UInt64(bytes[offset + 1])
                offset += 2
                guard length >= 126 else { throw ParseError.nonMinimalLength(offset: start) }
            } else if length == 127 {
                guard bytes.count - offset >= 8 else { throw ParseError.truncated(offset: start) }
                length = 0
                for i in 0..<8 { length = length * 256 + UInt64(bytes[offset + i]) }
                offset += 8
                guard length >= 65536 else { throw ParseError.nonMinimalLength(offset: start) }
            }
            let masked = second & 0x80 != 0
            var key: [UInt8] = []
            if masked {
                guard bytes.count - offset >= 4 else { throw ParseError.truncated(offset: start) }
                key = Array(bytes[offset..<offset + 4])
                offset += 4
            }
            guard UInt64(bytes.count - offset) >= length else { throw ParseError.truncated(offset: start) }
            var payload = Array(bytes[offset..<offset + Int(length)])
            if masked { payload = TestFrame.naiveMask(payload, key: key) }
            offset += Int(length)
            frames.append(
                ServerFrame(fin: first & 0x80 != 0, rsv: (first >> 4) & 0x7, opcode: first & 0x0F, masked: masked, payload: payload)
            )
        }
        return frames
    }
}
