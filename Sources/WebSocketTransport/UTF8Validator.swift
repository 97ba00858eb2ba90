/// Validates UTF-8 (RFC 3629) incrementally: a text message arrives in pieces, and RFC 6455 §8.1 wants an endpoint
/// to fail the connection as soon as the bytes cannot be valid, not only once the message is complete.
///
/// The state between pieces is the number of continuation bytes still expected and the range the next one must
/// fall in: that range is narrower than 0x80–0xBF right after E0, ED, F0 and F4, which is how overlong forms, UTF-16
/// surrogates and code points above U+10FFFF are refused (the table of RFC 3629 §4).
struct UTF8Validator {
    /// Continuation bytes still expected for the current scalar.
    private var pending: UInt8 = 0
    private var nextLow: UInt8 = 0x80
    private var nextHigh: UInt8 = 0xBF

    /// True when the bytes so far end on a scalar boundary: the message may end here.
    var isAtBoundary: Bool { self.pending == 0 }

    /// Checks the next bytes; false as soon as they cannot be part of valid UTF-8.
    mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            if self.pending == 0 {
                // ASCII runs, eight bytes at a time: the common case for text.
                while index + 8 <= count, bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                guard index < count else { break }
                let byte = bytes[index]
                index += 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: self.expect(1, 0x80, 0xBF)
                case 0xE0: self.expect(2, 0xA0, 0xBF)
                case 0xE1...0xEC, 0xEE...0xEF: self.expect(2, 0x80, 0xBF)
                case 0xED: self.expect(2, 0x80, 0x9F)
                case 0xF0: self.expect(3, 0x90, 0xBF)
                case 0xF1...0xF3: self.expect(3, 0x80, 0xBF)
                case 0xF4: self.expect(3, 0x80, 0x8F)
                default: return false  // 0x80–0xC1 (stray continuation, overlong lead), 0xF5–0xFF
                }
            } else {
                let byte = bytes[index]
                index += 1
                guard byte >= self.nextLow, byte <= self.nextHigh else { return false }
                self.expect(self.pending - 1, 0x80, 0xBF)
            }
        }
        return true
    }

    private mutating func expect(_ count: UInt8, _ low: UInt8, _ high: UInt8) {
        self.pending = count
        self.nextLow = low
        self.nextHigh = high
    }
}
