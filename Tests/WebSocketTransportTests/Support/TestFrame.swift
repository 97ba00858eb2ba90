/// An independent, deliberately naive RFC 6455 frame encoder for building test inputs.
///
/// It shares no code with `WebSocketFrameHeader`, so a bug that the codec's reader and writer have in
/// common (a symmetric bug) cannot cancel itself out in the tests. Everything is byte-by-byte and
/// spelled out against RFC 6455 §5.2 (layout) and §5.3 (masking).
enum TestFrame {
    /// How the payload length is spelled on the wire. `.minimal` is what RFC 6455 §5.2 requires;
    /// the other two force an extended length to test the codec's rejection of non-minimal encodings.
    enum LengthForm {
        case minimal
        case forced16
        case forced64
    }

    /// The key from RFC 6455 §5.7's masked "Hello" example.
    static let exampleKey: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    /// The header bytes only (first byte, length, extended length, key).
    static func header(
        fin: Bool = true,
        rsv: UInt8 = 0,
        opcode: UInt8,
        mask: [UInt8]?,
        length: UInt64,
        lengthForm: LengthForm = .minimal
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        var first: UInt8 = fin ? 0b1000_0000 : 0
        first += (rsv & 0b111) * 16
        first += opcode & 0x0F
        bytes.append(first)

        let maskBit: UInt8 = mask == nil ? 0 : 128
        let form: LengthForm
        switch lengthForm {
        case .minimal: form = length < 126 ? .minimal : (length < 65536 ? .forced16 : .forced64)
        default: form = lengthForm
        }
        switch form {
        case .minimal:
            bytes.append(maskBit + UInt8(length))
        case .forced16:
            bytes.append(maskBit + 126)
            bytes.append(UInt8(length / 256))
            bytes.append(UInt8(length % 256))
        case .forced64:
            bytes.append(maskBit + 127)
            var digits: [UInt8] = []
            var rest = length
            for _ in 0..<8 {
                digits.append(UInt8(rest % 256))
                rest /= 256
            }
            bytes.append(contentsOf: digits.reversed())
        }
        if let mask { bytes.append(contentsOf: mask) }
        return bytes
    }

    /// A whole frame. Client frames pass `mask` (the default is the RFC example key); `nil` builds an unmasked frame.
    static func frame(
        fin: Bool = true,
        rsv: UInt8 = 0,
        opcode: UInt8,
        mask: [UInt8]? = exampleKey,
        payload: [UInt8],
        lengthForm: LengthForm = .minimal
    ) -> [UInt8] {
        var bytes = header(fin: fin, rsv: rsv, opcode: opcode, mask: mask, length: UInt64(payload.count), lengthForm: lengthForm)
        if let mask {
            bytes.append(contentsOf: naiveMask(payload, key: mask))
        } else {
            bytes.append(contentsOf: payload)
        }
        return bytes
    }

    /// RFC 6455 §5.3: octet i of the transformed data is octet i of the original XOR octet (i mod 4) of the key.
    static func naiveMask(_ payload: [UInt8], key: [UInt8], keyOffset: Int = 0) -> [UInt8] {
        var output: [UInt8] = []
        for (index, byte) in payload.enumerated() {
            output.append(byte ^ key[(index + keyOffset) % 4])
        }
        return output
    }

    // Convenience builders for the codec tests; all masked with `mask`.

    static func binary(_ payload: [UInt8], fin: Bool = true, mask: [UInt8] = exampleKey) -> [UInt8] {
        frame(fin: fin, opcode: 0x2, mask: mask, payload: payload)
    }

    static func continuation(_ payload: [UInt8], fin: Bool = true, mask: [UInt8] = exampleKey) -> [UInt8] {
        frame(fin: fin, opcode: 0x0, mask: mask, payload: payload)
    }

    static func text(_ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        frame(fin: fin, opcode: 0x1, payload: payload)
    }

    static func ping(_ payload: [UInt8] = [], mask: [UInt8] = exampleKey) -> [UInt8] {
        frame(opcode: 0x9, mask: mask, payload: payload)
    }

    static func pong(_ payload: [UInt8] = []) -> [UInt8] {
        frame(opcode: 0xA, payload: payload)
    }

    /// A close frame with a status code (two bytes, network order) and a reason.
    static func close(code: UInt16, reason: [UInt8] = []) -> [UInt8] {
        frame(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
    }

    /// A close frame with an arbitrary payload (empty, one byte, …).
    static func close(rawPayload: [UInt8]) -> [UInt8] {
        frame(opcode: 0x8, payload: rawPayload)
    }
}
