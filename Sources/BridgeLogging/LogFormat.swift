import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a log line is written: logfmt (`key=value`) for people and grep, or one JSON object for log shippers.
/// Metadata values are always strings and keys are sorted, so the output is stable to parse and to diff.
///
/// ```
/// 2026-05-04T10:20:30.123Z info mqtt_ws_bridge.access: session client=203.0.113.7:51234 reason="client closed"
/// {"ts":"2026-05-04T10:20:30.123Z","level":"info","logger":"mqtt_ws_bridge.access","msg":"session","client":"203.0.113.7:51234"}
/// ```
package enum LogFormat: String, Sendable, Hashable, CaseIterable {
    case text
    case json

    /// The line for `record`, without the line feed.
    package func line(_ record: LogRecord) -> [UInt8] {
        let timestamp = Self.timestamp(seconds: record.seconds, nanoseconds: record.nanoseconds)
        var line: [UInt8] = []
        line.reserveCapacity(128 + 32 * record.metadata.count)
        switch self {
        case .text:
            line.append(contentsOf: "\(timestamp) \(record.level) \(record.label): \(record.message)".utf8)
            for key in record.metadata.keys.sorted() {
                line.append(UInt8(ascii: " "))
                line.append(contentsOf: key.utf8)
                line.append(UInt8(ascii: "="))
                Self.appendLogfmtValue("\(record.metadata[key]!)", to: &line)
            }
        case .json:
            line.append(contentsOf: #"{"ts":"#.utf8)
            JSONString.append(timestamp, to: &line)
            line.append(contentsOf: #","level":"#.utf8)
            JSONString.append("\(record.level)", to: &line)
            line.append(contentsOf: #","logger":"#.utf8)
            JSONString.append(record.label, to: &line)
            line.append(contentsOf: #","msg":"#.utf8)
            JSONString.append(record.message, to: &line)
            for key in record.metadata.keys.sorted() {
                line.append(UInt8(ascii: ","))
                JSONString.append(key, to: &line)
                line.append(UInt8(ascii: ":"))
                JSONString.append("\(record.metadata[key]!)", to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
        return line
    }

    /// A logfmt value: as it is when it is one plain word, else in quotes with JSON's escapes. Control characters
    /// always force quotes, so a client-supplied value cannot forge a line break or a terminal escape.
    static func appendLogfmtValue(_ value: String, to line: inout [UInt8]) {
        let needsQuotes =
            value.isEmpty
            || value.utf8.contains {
                $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\"") || JSONString.isControl($0)
            }
            || value.contains { $0.isNewline }
        guard needsQuotes else {
            line.append(contentsOf: value.utf8)
            return
        }
        JSONString.append(value, to: &line)
    }

    /// RFC 3339, UTC, milliseconds: `2026-05-04T10:20:30.123Z`.
    static func timestamp(seconds: Int, nanoseconds: Int) -> String {
        var since1970 = time_t(seconds)
        var parts = tm()
        gmtime_r(&since1970, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let date = "\(parts.tm_year + 1900)-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
        let clock =
            "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(nanoseconds / 1_000_000, 3))"
        return "\(date)T\(clock)Z"
    }
}
