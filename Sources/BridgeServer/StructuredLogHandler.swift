#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeConfig
import Logging
import Synchronization

/// One line per log event on standard output: logfmt (`key=value`) for people and grep, or one JSON
/// object for log shippers. Metadata values are always strings, so the output is stable to parse.
public struct StructuredLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: LoggingConfiguration.Format
    private let sink: LogSink

    public init(label: String, level: Logger.Level, format: LoggingConfiguration.Format, sink: LogSink = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let timestamp = Self.timestamp()
        let line: String
        switch self.format {
        case .text:
            var text = "\(timestamp) \(event.level) \(self.label): \(event.message)"
            for key in merged.keys.sorted() {
                text += " \(key)=\(Self.logfmtValue("\(merged[key]!)"))"
            }
            line = text
        case .json:
            var json = "{\"ts\":\(Self.jsonString(timestamp)),\"level\":\(Self.jsonString("\(event.level)")),\"logger\":\(Self.jsonString(self.label)),\"msg\":\(Self.jsonString("\(event.message)"))"
            for key in merged.keys.sorted() {
                json += ",\(Self.jsonString(key)):\(Self.jsonString("\(merged[key]!)"))"
            }
            line = json + "}"
        }
        self.sink.write(line)
    }

    /// RFC 3339 UTC with milliseconds, without Foundation's formatters.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = time_t(now.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }

    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
        guard needsQuotes else { return value }
        return "\"" + value.replacingEscapes(quote: true) + "\""
    }

    static func jsonString(_ value: String) -> String {
        "\"" + value.replacingEscapes(quote: true) + "\""
    }
}

extension String {
    /// Escapes backslash, quote and control characters as JSON does (also valid inside logfmt quotes).
    fileprivate func replacingEscapes(quote: Bool) -> String {
        var out = ""
        out.reserveCapacity(self.utf8.count)
        for scalar in self.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Where log lines go: standard output by default, or an in-memory collector (tests).
public final class LogSink: Sendable {
    private let collecting: Bool
    private let lines = Mutex<[String]>([])
    private let writeLock = Mutex(())

    public static let standardOutput = LogSink(collecting: false)

    public init(collecting: Bool) {
        self.collecting = collecting
    }

    func write(_ line: String) {
        if self.collecting {
            self.lines.withLock { $0.append(line) }
            return
        }
        self.writeLock.withLock { _ in
            var text = line
            text.append("\n")
            text.withUTF8 { bytes in
                // write(2) straight to fd 1: unbuffered, so lines are never lost at exit or interleaved.
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 {
                        if written < 0 && errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }

    /// Lines collected so far (collecting sinks only).
    public var collected: [String] { self.lines.withLock { $0 } }
}
