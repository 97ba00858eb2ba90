/// Text form of `IPAddress`: strict parsing (network input) and canonical printing (RFC 5952).
extension IPAddress: CustomStringConvertible, LosslessStringConvertible {
    /// The longest valid text: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`. Longer input is refused unread.
    package static let maximumTextLength = 45

    /// Parses `1.2.3.4` or an IPv6 address such as `2001:db8::1` or `::ffff:10.0.0.1`; nil for anything else
    /// (surrounding whitespace, brackets, ports, zones, leading zeros in IPv4 numbers, shorthand like `10.1`).
    public init?(_ description: String) {
        var text = description
        let parsed = text.withUTF8 { IPAddress(utf8: $0) }
        guard let parsed else {
            return nil
        }
        self = parsed
    }

    /// Parses the UTF-8 (ASCII) bytes of an address with the rules of `init?(_: String)`.
    package init?(utf8 text: some Collection<UInt8>) {
        guard text.count >= 2, text.count <= Self.maximumTextLength else {
            return nil
        }
        if text.contains(UInt8(ascii: ":")) {
            guard let (high, low) = Self.parseIPv6(Array(text)) else {
                return nil
            }
            self.init(ipv6High: high, low: low)
        } else {
            guard let value = Self.parseIPv4(text) else {
                return nil
            }
            self.init(ipv4: value)
        }
    }

    /// `1.2.3.4`; IPv6 per RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups
    /// (the first one on a tie) as `::`, and IPv4-mapped addresses as `::ffff:1.2.3.4`.
    public var description: String {
        switch self.family {
        case .v4:
            return Self.ipv4Text(UInt32(truncatingIfNeeded: self.low))
        case .v6:
            if self.isIPv4Mapped {
                return "::ffff:" + Self.ipv4Text(UInt32(truncatingIfNeeded: self.low))
            }
            return Self.ipv6Text(high: self.high, low: self.low)
        }
    }

    // MARK: Parsing

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func hexValue(_ byte: UInt8) -> UInt16? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt16(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt16(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt16(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Exactly four decimal numbers 0–255 separated by single dots, no leading zeros ("0" itself is fine).
    static func parseIPv4(_ text: some Collection<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var dots = 0
        var part: UInt32 = 0
        var digits = 0
        for byte in text {
            if Self.isDigit(byte) {
                if digits == 1 && part == 0 {
                    return nil  // leading zero
                }
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard part <= 255 else {
                    return nil
                }
            } else if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else {
                    return nil
                }
                value = value << 8 | part
                dots += 1
                part = 0
                digits = 0
            } else {
                return nil
            }
        }
        guard digits > 0, dots == 3 else {
            return nil
        }
        return value << 8 | part
    }

    /// RFC 4291 §2.2: up to eight groups of 1–4 hex digits, at most one `::` standing for one or more zero groups,
    /// optionally ending in a dotted IPv4 address that takes the place of the last two groups.
    static func parseIPv6(_ text: [UInt8]) -> (UInt64, UInt64)? {
        let colon = UInt8(ascii: ":")
        var groups: [UInt16] = []
        groups.reserveCapacity(8)
        var gapIndex: Int?  // where `::` stands, as an index into `groups`
        var index = 0
        let count = text.count
        if text[0] == colon {
            guard count > 1, text[1] == colon else {
                return nil  // a single leading colon
            }
            gapIndex = 0
            index = 2
        }
        while index < count {
            let start = index
            var group: UInt16 = 0
            while index < count, let digit = Self.hexValue(text[index]) {
                guard index - start < 4 else {
                    return nil  // five or more hex digits
                }
                group = group << 4 | digit
                index += 1
            }
            if index < count, text[index] == UInt8(ascii: ".") {
                // Dotted IPv4 tail: it must be the last thing and leave room for its two groups.
                guard groups.count <= 6, let ipv4 = Self.parseIPv4(text[start...]) else {
                    return nil
                }
                groups.append(UInt16(truncatingIfNeeded: ipv4 >> 16))
                groups.append(UInt16(truncatingIfNeeded: ipv4))
                index = count
                break
            }
            guard index > start, groups.count < 8 else {
                return nil  // an empty group (":::" or a stray character) or too many groups
            }
            groups.append(group)
            if index == count {
                break
            }
            guard text[index] == colon else {
                return nil
            }
            index += 1
            if index < count, text[index] == colon {
                guard gapIndex == nil else {
                    return nil  // a second "::"
                }
                gapIndex = groups.count
                index += 1
            } else if index == count {
                return nil  // a single trailing colon
            }
        }
        if let gapIndex {
            guard groups.count <= 7 else {
                return nil  // "::" must stand for at least one group
            }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gapIndex)
        } else if groups.count != 8 {
            return nil
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (position, group) in groups.enumerated() {
            if position < 4 {
                high = high << 16 | UInt64(group)
            } else {
                low = low << 16 | UInt64(group)
            }
        }
        return (high, low)
    }

    // MARK: Printing

    private static func ipv4Text(_ value: UInt32) -> String {
        "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
    }

    private static func ipv6Text(high: UInt64, low: UInt64) -> String {
        var groups = [UInt16](repeating: 0, count: 8)
        for index in 0..<4 {
            groups[index] = UInt16(truncatingIfNeeded: high >> (48 - 16 * index))
            groups[4 + index] = UInt16(truncatingIfNeeded: low >> (48 - 16 * index))
        }
        // The longest run of zero groups, two or more long; the first one wins a tie.
        var bestStart = -1
        var bestLength = 1
        var runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 {
                    runStart = index
                }
            } else if runStart >= 0 {
                if index - runStart > bestLength {
                    bestStart = runStart
                    bestLength = index - runStart
                }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else {
            return hex(0..<8)
        }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}
