/// The three MQTT encoding primitives written out by hand, without `MQTTWire`, so tests that build packets byte by
/// byte check the production encoders and parsers against an independent implementation.
package enum HandEncodedMQTT {
    /// A variable byte integer (MQTT 5.0 §1.5.5).
    package static func variableByteInteger(_ value: Int) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        repeat {
            var byte = UInt8(value % 128)
            value /= 128
            if value > 0 { byte |= 0x80 }
            out.append(byte)
        } while value > 0
        return out
    }

    /// First byte, remaining length, body.
    package static func packet(_ firstByte: UInt8, _ body: [UInt8]) -> [UInt8] {
        [firstByte] + self.variableByteInteger(body.count) + body
    }

    /// A UTF-8 string with its two-byte length.
    package static func string(_ text: String) -> [UInt8] {
        self.binary(Array(text.utf8))
    }

    /// Binary data with its two-byte length.
    package static func binary(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }
}
