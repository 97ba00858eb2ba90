/// The one JSON string escaper: the JSON log format, logfmt's quoted values and the admin listener's answers all
/// write strings through it, so a value looks the same in every output.
///
/// Quotes and backslashes are escaped, `\n`, `\r` and `\t` get their short forms, every other C0 control character
/// and DEL (0x7F) becomes `\u00XX`; everything else, non-ASCII included, is written as its UTF-8 bytes. DEL is not
/// required by RFC 8259, but a log line can end up on a terminal, and a client id or topic is the client's input.
///
/// Not Foundation's `JSONEncoder`: encoding each string of an access line with it takes about 6 times as many
/// instructions as this (220,000 against 36,000 per 19-field line, callgrind), which a single writer thread feels
/// during a reconnect storm; and for whole objects it orders keys by hash, where the log and the admin's answers
/// keep the order they are written in.
package enum JSONString {
    /// `text` as a quoted JSON string, appended to `bytes`.
    package static func append(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `text` escaped as inside a JSON string, without the quotes.
    package static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0xF)])
            default:
                bytes.append(byte)
            }
        }
    }

    /// Whether `byte` is one that `appendEscaped` turns into an escape sequence other than for a quote or backslash.
    static func isControl(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
