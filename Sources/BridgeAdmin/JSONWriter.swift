import BridgeLogging

/// Writes the small, flat JSON objects the admin listener answers with, fields in the order given.
///
/// Not `JSONEncoder`, which orders keys by hash: the order is part of what people read in `curl` output. Strings go
/// through `JSONString`, the escaper the JSON log lines use, so a value reads the same in both.
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
        JSONString.append(value, to: &bytes)
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

    /// A list of objects (e.g. `/readyz`'s servers).
    mutating func field(_ name: String, objects: [JSONWriter]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, object) in objects.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += object.bytes
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The object, closed, with a trailing newline (friendlier in a terminal).
    var encoded: [UInt8] {
        bytes + Array("}\n".utf8)
    }

    private mutating func key(_ name: String) {
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
        JSONString.append(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }
}
