@testable import BridgeAdmin
import MosquittoClient
import Testing

/// The admin module's pure parts, without a network: the JSON reader, base64, the token check, the readiness rules.
@Suite("Admin listener: building blocks")
struct AdminUnitTests {
    @Test("JSON strings keep the bytes sent: escapes decoded, surrogate pairs joined, lone surrogates left invalid")
    func jsonStrings() throws {
        #expect(try JSONParser.parse(Array(#""a\"\\\/\b\f\n\r\t""#.utf8)) == .string(Array("a\"\\/\u{8}\u{c}\n\r\t".utf8)))
        #expect(try JSONParser.parse(Array(#""\u00e9\u4e2d\ud83d\ude00""#.utf8)) == .string(Array("é中😀".utf8)))
        #expect(try JSONParser.parse(Array(#""\udc80""#.utf8)) == .string([0xED, 0xB2, 0x80]))
        #expect(try JSONParser.parse(Array(#""\ud800x""#.utf8)) == .string([0xED, 0xA0, 0x80, 0x78]))
        #expect(try JSONParser.parse([0x22, 0xFF, 0x22]) == .string([0xFF]))
    }

    @Test("JSON errors give the byte offset and the field being read", arguments: [
        (#"{"a": 1,}"#, nil as String?),
        (#"{"topic": "x", "qos": }"#, "qos"),
        (#"{"user_properties": {"k": tru}}"#, "user_properties.k"),
        (#"{"a": 01}"#, "a"),
        (#"{"a": "line"#, "a"),
        ("{\"a\": \"tab\there\"}", "a"),
        (#"[1, 2"#, nil),
        (#"{} {}"#, nil),
        (#"{"a": "\x"}"#, "a"),
    ])
    func jsonErrors(text: String, field: String?) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
        do {
            _ = try JSONParser.parse(Array(text.utf8))
        } catch {
            #expect(error.field == field, "\(error.description)")
            #expect(error.description.hasPrefix("invalid JSON at byte"))
        }
    }

    @Test("JSON values: numbers as written, nesting limited")
    func jsonValues() throws {
        #expect(try JSONParser.parse(Array(" [true, false, null, -1.5e3, 0] ".utf8))
            == .array([.bool(true), .bool(false), .null, .number("-1.5e3"), .number("0")]))
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test("base64: standard alphabet, padding optional, nothing else")
    func base64() {
        #expect(Base64.decode(Array("aGVsbG8=".utf8)) == Array("hello".utf8))
        #expect(Base64.decode(Array("aGVsbG8".utf8)) == Array("hello".utf8))
        #expect(Base64.decode(Array("".utf8)) == [])
        #expect(Base64.decode(Array("/+8=".utf8)) == [0xFF, 0xEF])
        for bad in ["aGVsbG8==", "a", "aGV sbG8=", "_-8=", "aGVsbG9=", "a=bc"] {
            #expect(Base64.decode(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test("the bearer token: scheme case-insensitive, exact token only")
    func token() {
        let token = BearerToken("0123456789abcdef")
        #expect(token.accepts(authorization: "Bearer 0123456789abcdef"))
        #expect(token.accepts(authorization: "bearer 0123456789abcdef"))
        #expect(!token.accepts(authorization: nil))
        #expect(!token.accepts(authorization: "Bearer 0123456789abcdeF"))
        #expect(!token.accepts(authorization: "Bearer 0123456789abcde"))
        #expect(!token.accepts(authorization: "Bearer 0123456789abcdef0"))
        #expect(!token.accepts(authorization: "Basic 0123456789abcdef"))
        #expect(!token.accepts(authorization: "Bearer "))
    }

    @Test("the publish body becomes the message asked for")
    func publishRequest() throws {
        let message = try PublishRequest.parse(Array(#"""
            {"topic": "a/b", "payload": "hi", "qos": 2, "retain": true, "content_type": "text/plain",
             "message_expiry": 60, "user_properties": [{"name": "k", "value": "1"}, {"name": "k", "value": "2"}]}
            """#.utf8))
        #expect(message == MosquittoMessage(
            topic: "a/b", payload: Array("hi".utf8), qos: .exactlyOnce, retain: true,
            userProperties: [.init(name: "k", value: "1"), .init(name: "k", value: "2")],
            contentType: "text/plain", messageExpiryInterval: 60))
        let minimal = try PublishRequest.parse(Array(#"{"topic": "x", "payload_base64": "AAE=", "qos": null}"#.utf8))
        #expect(minimal == MosquittoMessage(topic: "x", payload: [0, 1]))
        #expect(throws: PublishRequestError.self) { try PublishRequest.parse(Array(#"{"topic": "x", "payload": "\udc80"}"#.utf8)) }
    }

    @Test("readiness: draining wins, then starting, then the probe's failure, then staleness")
    func readinessRules() {
        let now = ContinuousClock.now
        let fresh = ProbeRecord(result: .ready(latency: .milliseconds(1)), finishedAt: now - .seconds(1))
        let old = ProbeRecord(result: .ready(latency: .milliseconds(1)), finishedAt: now - .seconds(20))
        let refused = ProbeRecord(
            result: .notReady(MosquittoError(kind: .unreachable, reason: "Connection refused")), finishedAt: now)
        func evaluate(_ phase: BridgePhase, _ last: ProbeRecord?) -> Readiness {
            Readiness.evaluate(phase: phase, last: last, now: now, staleAfter: .seconds(15))
        }
        #expect(evaluate(.listening, fresh).isReady)
        #expect(evaluate(.draining, fresh).reason == "draining")
        #expect(evaluate(.stopped, fresh).reason == "stopped")
        #expect(evaluate(.starting, fresh).reason == "starting")
        #expect(evaluate(.listening, nil).reason == "starting")
        #expect(evaluate(.listening, refused).reason == "unreachable")
        #expect(evaluate(.listening, refused).detail == "Connection refused")
        #expect(evaluate(.listening, old).reason == "stale")
        #expect(!evaluate(.listening, old).isReady)
    }
}
