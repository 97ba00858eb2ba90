/// Writes the small, flat JSON objects the admin listener answers with, fields in the order given.
///
/// Hand-written rather than `JSONEncoder`: the bodies are a handful of fields, the order is part of what people read
/// in `curl` output, and this module stays free of Foundation.
struct JSONWriter: Sendable {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var isEmpty = true

    static func object() -> JSONWriter {
        JSONWriter()
    }

    /// `{"error": message}`, plus `field` when the problem is about one field of the request.
    static func error(_ message: String, field: String? = nil) -> JSONWriter {
        var json = JSONWriter()
        json.field("error", message)
        if let field { json.field("field", field) }
        return json
    }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        Self.appendString(value, to: &bytes)
    }

    mutating func field(_ name: String, _ value: Int) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Rounded to microseconds: enough for latencies, and short.
    mutating func field(_ name: String, _ value: Double) {
        key(name)
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        bytes.append(contentsOf: (rounded.isFinite ? "\(rounded)" : "null").utf8)
    }

    /// The object, closed, with a trailing newline (friendlier in a terminal).
    var encoded: [UInt8] {
        bytes + Array("}\n".utf8)
    }

    private mutating func key(_ name: String) {
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
        Self.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// A JSON string: quotes, backslashes and control characters escaped, everything else as UTF-8.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
