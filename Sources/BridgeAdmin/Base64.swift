/// Standard base64 (RFC 4648 §4, `+` and `/`) for `payload_base64`, with or without `=` padding; anything else —
/// whitespace, the URL-safe alphabet, bits left over in the last character — is refused rather than guessed at.
enum Base64 {
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        return table
    }()

    /// The decoded bytes, or nil when `text` is not base64.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        var end = text.count
        if end % 4 == 0 {
            // Padding only where it belongs: at most two '=' at the very end.
            var padding = 0
            while end > 0, padding < 2, text[end - 1] == UInt8(ascii: "=") {
                end -= 1
                padding += 1
            }
        }
        let characters = text[..<end]
        guard characters.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(characters.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in characters {
            let value = values[Int(character)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // The leftover bits of the last character must be zero (canonical encoding).
        guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return output
    }
}
