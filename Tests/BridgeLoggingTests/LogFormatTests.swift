import Logging
import Testing

@testable import BridgeLogging

@Suite("Log lines: logfmt and JSON, byte for byte")
struct LogFormatTests {
    /// 2026-05-04T10:20:30.123Z
    let record = LogRecord(
        seconds: 1_777_890_030, nanoseconds: 123_456_789, level: .info, label: "mqtt_ws_bridge.access", message: "session",
        metadata: ["route": "wechat", "client": "203.0.113.7:51234", "reason": "client closed", "empty": "", "eq": "a=b"])

    @Test("text: timestamp, level, logger, message, then sorted key=value pairs, quoted only when needed")
    func text() {
        #expect(
            String(decoding: LogFormat.text.line(record), as: UTF8.self)
                == #"2026-05-04T10:20:30.123Z info mqtt_ws_bridge.access: session client=203.0.113.7:51234 empty="" eq="a=b" reason="client closed" route=wechat"#
        )
    }

    @Test("json: ts, level, logger, msg first, then the sorted metadata, all strings")
    func json() {
        #expect(
            String(decoding: LogFormat.json.line(record), as: UTF8.self)
                == #"{"ts":"2026-05-04T10:20:30.123Z","level":"info","logger":"mqtt_ws_bridge.access","msg":"session","client":"203.0.113.7:51234","empty":"","eq":"a=b","reason":"client closed","route":"wechat"}"#
        )
    }

    @Test("metadata that is not a string is written as its description", arguments: LogFormat.allCases)
    func nestedMetadata(format: LogFormat) {
        let nested = LogRecord(
            seconds: 0, nanoseconds: 0, level: .warning, label: "l", message: "m", metadata: ["list": ["a", "b"], "n": "\(7)"])
        let line = String(decoding: format.line(nested), as: UTF8.self)
        #expect(
            line.hasPrefix(
                format == .text ? "1970-01-01T00:00:00.000Z warning l: m" : #"{"ts":"1970-01-01T00:00:00.000Z","level":"warning""#))
        #expect(line.hasSuffix(format == .text ? #"list="[\"a\", \"b\"]" n=7"# : #""list":"[\"a\", \"b\"]","n":"7"}"#))
    }

    @Test("a client-supplied value cannot break a text line: control characters force quotes and are escaped")
    func logfmtInjection() {
        let hostile = LogRecord(
            seconds: 0, nanoseconds: 0, level: .info, label: "l", message: "m",
            metadata: ["client_id": "evil\nfake=line", "tab": "a\tb", "esc": "\u{1B}[31mred", "del": "x\u{7F}"])
        #expect(
            String(decoding: LogFormat.text.line(hostile), as: UTF8.self)
                == #"1970-01-01T00:00:00.000Z info l: m client_id="evil\nfake=line" del="x\u007f" esc="\u001b[31mred" tab="a\tb""#)
    }
}

@Suite("One JSON string escaper")
struct JSONStringTests {
    @Test(
        "quotes, backslashes, control characters and DEL are escaped; other bytes, non-ASCII included, are kept",
        arguments: [
            ("plain", #""plain""#),
            (#"say "hi""#, #""say \"hi\"""#),
            (#"C:\path"#, #""C:\\path""#),
            ("a\nb\rc\td", #""a\nb\rc\td""#),
            ("\u{0}\u{1}\u{8}\u{C}\u{1F}", #""\u0000\u0001\u0008\u000c\u001f""#),
            ("\u{7F}", #""\u007f""#),
            ("é 中 😀 \u{80} \u{2028}", "\"é 中 😀 \u{80} \u{2028}\""),
            ("/", #""/""#),
            ("", #""""#),
        ])
    func escapes(text: String, expected: String) {
        var bytes: [UInt8] = []
        JSONString.append(text, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }
}
