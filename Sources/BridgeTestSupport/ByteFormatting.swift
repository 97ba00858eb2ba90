/// Hex rendering of bytes for failure messages, so a test log shows exactly what went over the wire.
package enum ByteFormatting {
    /// `"20 02 00 00"`; longer input is cut after `limit` bytes and marked with `… (N bytes)`.
    package static func hex<Bytes: Collection>(_ bytes: Bytes, limit: Int = 64) -> String where Bytes.Element == UInt8 {
        let shown = bytes.prefix(limit).map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return byte < 0x10 ? "0" + digits : digits
        }
        let text = shown.joined(separator: " ")
        return bytes.count > limit ? text + " … (\(bytes.count) bytes)" : text
    }

    /// Parses `"20 02 00 00"` (spaces optional) into bytes, so tests can write packets as they appear in specs.
    /// Returns nil on anything that is not pairs of hex digits.
    package static func bytes(fromHex text: String) -> [UInt8]? {
        let digits = text.filter { !$0.isWhitespace }
        guard digits.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        return result
    }
}
